// Each check runs one kernel family on random inputs and compares it with the
// float64 CPU reference. Padding rows and unwritten outputs are filled with
// NaN so that a kernel reading past a sequence's real length shows up as an
// infinite error.
import { KERNELS, gatherMergeDispatch, groups } from '../../src/engine/kernels.js';
import { transposeLinear } from '../../src/engine/gpu-weights.js';
import * as ref from '../../src/reference/ops.js';
import { kernelContext, maxAbsDiff, poisoned, randomSource, runRecorded, upload } from './gpu-run.js';

const NAN = Number.NaN;

export interface GemmCase {
  m: number;
  n: number;
  k: number;
  activation: 'none' | 'gelu' | 'tanh';
  seed?: number;
}

export async function checkGemm({ m, n, k, activation, seed = 1 }: GemmCase) {
  await kernelContext();
  const random = randomSource(seed);
  const a = random.array(m * k);
  const w = random.array(n * k, -0.2, 0.2);
  const bias = random.array(n);
  const nPadded = Math.ceil(n / 4) * 4;
  const biasPadded = new Float32Array(nPadded);
  biasPadded.set(bias);
  const output = poisoned(m * nPadded * 4);
  const kernel = activation === 'gelu' ? KERNELS.gemmGelu : activation === 'tanh' ? KERNELS.gemmTanh : KERNELS.gemm;
  const [result] = await runRecorded((recorder) => {
    recorder.dispatch(kernel, [m, nPadded, k, k / 4], { 1: upload(a), 2: upload(transposeLinear([w], n, k, nPadded)), 3: upload(biasPadded), 4: output }, [
      groups(nPadded / 4, 8),
      groups(Math.ceil(m / 4), 8),
    ]);
  }, [output]);
  const gpu = new Float32Array(result);
  const expected = ref.linear(a, m, k, w, bias, n);
  const activate = activation === 'gelu' ? ref.gelu : activation === 'tanh' ? Math.tanh : (x: number) => x;
  let maxError = 0;
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      const diff = Math.abs(gpu[r * nPadded + c] - activate(expected[r * n + c]));
      maxError = Number.isNaN(diff) ? Infinity : Math.max(maxError, diff);
    }
  }
  return { maxError };
}

export interface AttentionCase {
  lengths: number[];
  numHeads: number;
  headSize: number;
  seed?: number;
}

export async function checkAttention({ lengths, numHeads, headSize, seed = 2 }: AttentionCase) {
  await kernelContext();
  const random = randomSource(seed);
  const b = lengths.length;
  const d = numHeads * headSize;
  const stride = Math.max(...lengths);
  const qkv = new Float32Array(b * stride * 3 * d).fill(NAN);
  const perSequence = lengths.map((n, s) => {
    const values = random.array(n * 3 * d, -2, 2);
    qkv.set(values, s * stride * 3 * d);
    return values;
  });
  const seqInfo = new Uint32Array(lengths.flatMap((n) => [n, n, 0, n]));
  const probs = poisoned(b * numHeads * stride * stride * 4);
  const context = poisoned(b * stride * d * 4);
  const params = [b, stride, d, numHeads, headSize, 0, { f32: 1 / Math.sqrt(headSize) }];
  const info = upload(seqInfo);
  const qkvBuffer = upload(qkv);
  const [probsOut, contextOut] = await runRecorded((recorder) => {
    recorder.dispatch(KERNELS.attentionScores, params, { 1: info, 2: qkvBuffer, 3: probs }, [groups(Math.ceil(stride / 4), 8), groups(Math.ceil(stride / 4), 8), b * numHeads]);
    recorder.dispatch(KERNELS.softmaxRows, params, { 1: info, 3: probs }, [groups(stride, 64), b * numHeads]);
    recorder.dispatch(KERNELS.attentionContext, params, { 1: info, 2: qkvBuffer, 4: probs, 5: context }, [groups(d / 4, 8), groups(Math.ceil(stride / 4), 8), b]);
  }, [probs, context]);

  const gpuProbs = new Float32Array(probsOut);
  const gpuContext = new Float32Array(contextOut);
  let probsError = 0;
  let contextError = 0;
  lengths.forEach((n, s) => {
    const expectedProbs = ref.attentionProbabilities(perSequence[s], n, d, numHeads);
    for (let h = 0; h < numHeads; h++) {
      for (let i = 0; i < n; i++) {
        const gpuRow = gpuProbs.subarray(((s * numHeads + h) * stride + i) * stride, ((s * numHeads + h) * stride + i) * stride + n);
        const refRow = expectedProbs.subarray((h * n + i) * n, (h * n + i + 1) * n);
        probsError = Math.max(probsError, maxAbsDiff(gpuRow, refRow));
      }
    }
    const expectedContext = ref.attentionContext(expectedProbs, perSequence[s], n, d, numHeads);
    contextError = Math.max(contextError, maxAbsDiff(gpuContext.subarray(s * stride * d, (s * stride + n) * d), expectedContext));
  });
  return { probsError, contextError };
}

export interface LayerNormCase {
  lengths: number[];
  width: number;
  seed?: number;
}

export async function checkAddLayerNorm({ lengths, width, seed = 3 }: LayerNormCase) {
  await kernelContext();
  const random = randomSource(seed);
  const b = lengths.length;
  const stride = Math.max(...lengths);
  const input = random.array(b * stride * width, -3, 3);
  const residual = random.array(b * stride * width, -3, 3);
  const gammaBeta = random.array(2 * width);
  const output = poisoned(b * stride * width * 4);
  const eps = 1e-12;
  const [result] = await runRecorded((recorder) => {
    recorder.dispatch(KERNELS.addLayerNorm, [b, stride, width, 0, 3, { f32: eps }], {
      1: upload(new Uint32Array(lengths.flatMap((n) => [stride, stride, 0, n]))),
      2: upload(input),
      3: upload(residual),
      4: upload(gammaBeta),
      5: output,
    }, [groups(b * stride, 64)]);
  }, [output]);
  const gpu = new Float32Array(result);
  let maxError = 0;
  let paddingWritten = false;
  lengths.forEach((n, s) => {
    const base = s * stride * width;
    const sum = Float64Array.from({ length: n * width }, (_, i) => input[base + i] + residual[base + i]);
    const expected = ref.layerNorm(sum, n, width, gammaBeta.subarray(0, width), gammaBeta.subarray(width), eps);
    maxError = Math.max(maxError, maxAbsDiff(gpu.subarray(base, base + n * width), expected));
    for (let i = base + n * width; i < base + stride * width; i++) if (!Number.isNaN(gpu[i])) paddingWritten = true;
  });
  return { maxError, paddingWritten };
}

export async function checkEmbeddings({ lengths, hidden, seed = 4 }: { lengths: number[]; hidden: number; seed?: number }) {
  await kernelContext();
  const random = randomSource(seed);
  const vocab = 50;
  const positions = Math.max(...lengths);
  const types = 2;
  const b = lengths.length;
  const stride = Math.max(...lengths);
  const word = random.array(vocab * hidden);
  const position = random.array(positions * hidden);
  const type = random.array(types * hidden);
  const gammaBeta = random.array(2 * hidden);
  const tokens = new Uint32Array(b * stride * 2);
  const ids = lengths.map((n, s) =>
    Array.from({ length: n }, (_, i) => {
      const id = random.integer(vocab);
      const tokenType = random.integer(types);
      tokens.set([id, tokenType], (s * stride + i) * 2);
      return [id, tokenType];
    }),
  );
  const output = poisoned(b * stride * hidden * 4);
  const origins = poisoned(b * stride * 8);
  const eps = 1e-12;
  const [result, originResult] = await runRecorded((recorder) => {
    recorder.dispatch(KERNELS.embeddingsLayerNorm, [b, stride, hidden, 0, 0, { f32: eps }], {
      1: upload(new Uint32Array(lengths.flatMap((n) => [n, n, 0, n]))),
      4: upload(gammaBeta),
      5: output,
      6: upload(tokens),
      7: upload(word),
      8: upload(position),
      9: upload(type),
      10: origins,
    }, [groups(b * stride, 64)]);
  }, [output, origins]);
  const gpu = new Float32Array(result);
  const gpuOrigins = new Int32Array(originResult);
  let maxError = 0;
  let originsCorrect = true;
  lengths.forEach((n, s) => {
    const sum = new Float64Array(n * hidden);
    ids[s].forEach(([id, tokenType], i) => {
      for (let c = 0; c < hidden; c++) sum[i * hidden + c] = word[id * hidden + c] + position[i * hidden + c] + type[tokenType * hidden + c];
    });
    const expected = ref.layerNorm(sum, n, hidden, gammaBeta.subarray(0, hidden), gammaBeta.subarray(hidden), eps);
    maxError = Math.max(maxError, maxAbsDiff(gpu.subarray(s * stride * hidden, (s * stride + n) * hidden), expected));
    for (let i = 0; i < stride; i++) {
      const row = s * stride + i;
      if (gpuOrigins[2 * row] !== (i < n ? i : -1) || gpuOrigins[2 * row + 1] !== (i < n ? 1 : 0)) originsCorrect = false;
    }
  });
  return { maxError, originsCorrect };
}

export async function checkColumnScores({ lengths, numHeads, seed = 5 }: { lengths: number[]; numHeads: number; seed?: number }) {
  await kernelContext();
  const random = randomSource(seed);
  const b = lengths.length;
  const stride = Math.max(...lengths);
  const probs = new Float32Array(b * numHeads * stride * stride).fill(NAN);
  const perSequence = lengths.map((n, s) => {
    const p = new Float32Array(numHeads * n * n);
    for (let h = 0; h < numHeads; h++) {
      for (let i = 0; i < n; i++) {
        const row = random.array(n, 0, 1);
        const total = row.reduce((x, v) => x + v, 0);
        row.forEach((v, j) => {
          p[(h * n + i) * n + j] = v / total;
          probs[((s * numHeads + h) * stride + i) * stride + j] = v / total;
        });
      }
    }
    return p;
  });
  const scores = poisoned(b * stride * 4);
  const [result] = await runRecorded((recorder) => {
    recorder.dispatch(KERNELS.attentionColumnScores, [b, stride, stride, 4 * numHeads, numHeads, 0], {
      1: upload(new Uint32Array(lengths.flatMap((n) => [n, n, 0, n]))),
      2: upload(probs),
      3: scores,
    }, [groups(stride, 64), b]);
  }, [scores]);
  const gpu = new Float32Array(result);
  let maxError = 0;
  lengths.forEach((n, s) => {
    maxError = Math.max(maxError, maxAbsDiff(gpu.subarray(s * stride, s * stride + n), ref.attentionColumnScores(perSequence[s], n, numHeads)));
  });
  return { maxError };
}

export interface ReductionCase {
  /** Per sequence: real length, requested fine tokens and clusters K. */
  sequences: Array<{ n: number; fine: number; clusters: number }>;
  hidden: number;
  /** 'random' scores, or 'ties': scores drawn from three values so most tokens tie. */
  scores: 'random' | 'ties';
  weighting: 'weighted' | 'mean';
  seed?: number;
}

/** topKSelect + assignDestinations + gatherMerge, given the scores, against reduceSequence. */
export async function checkReduction({ sequences, hidden, scores: scoreKind, weighting, seed = 6 }: ReductionCase) {
  await kernelContext();
  const random = randomSource(seed);
  const b = sequences.length;
  const plans = sequences.map(({ n, fine, clusters }) => {
    const kept = Math.min(fine, n);
    const c = Math.min(clusters, n - kept);
    return kept + c < n ? { n, fine: kept, clusters: c, nOut: kept + c } : { n, fine: n, clusters: 0, nOut: n };
  });
  const stride = Math.max(...plans.map((p) => p.n));
  const outStride = Math.max(...plans.map((p) => p.nOut));
  const hiddenIn = new Float32Array(b * stride * hidden).fill(NAN);
  const scores = new Float32Array(b * stride).fill(NAN);
  const provenance = new Int32Array(b * stride * 2).fill(-7);
  const tieValues = [0.25, 0.5, 0.125];
  const inputs = plans.map((plan, s) => {
    const h = random.array(plan.n * hidden, -2, 2);
    const sc = Float32Array.from({ length: plan.n }, () => (scoreKind === 'ties' ? tieValues[random.integer(3)] : random.uniform(0, 2)));
    hiddenIn.set(h, s * stride * hidden);
    scores.set(sc, s * stride);
    const counts = Array.from({ length: plan.n }, () => 1 + random.integer(3));
    for (let i = 0; i < plan.n; i++) provenance.set([1000 * s + i, counts[i]], 2 * (s * stride + i));
    return { h, sc, counts };
  });
  const info = upload(new Uint32Array(plans.flatMap((p) => [p.n, p.fine, p.clusters, p.nOut])));
  const scoreBuffer = upload(scores);
  const keep = poisoned(b * stride * 4);
  const destination = poisoned(b * stride * 4);
  const source = poisoned(b * outStride * 4);
  const hiddenOut = poisoned(b * outStride * hidden * 4);
  const provenanceOut = poisoned(b * outStride * 8);
  const params = [b, stride, outStride, hidden, 1, 0];
  const hiddenBuffer = upload(hiddenIn);
  const [keepResult, hiddenResult, originResult] = await runRecorded((recorder) => {
    recorder.dispatch(KERNELS.topKSelect, params, { 1: info, 4: scoreBuffer, 5: keep }, [groups(stride, 64), b]);
    recorder.dispatch(KERNELS.assignDestinations, params, { 1: info, 6: keep, 7: destination, 8: source }, [groups(stride, 64), b]);
    const merge = gatherMergeDispatch(weighting, {
      seqInfo: info,
      scores: scoreBuffer,
      destination,
      source,
      hiddenIn: hiddenBuffer,
      hiddenOut,
      provenanceIn: upload(provenance),
      provenanceOut,
    });
    recorder.dispatch(merge.kernel, params, merge.bindings, [
      groups(hidden / 4, 16),
      groups(outStride, 4),
      b,
    ]);
  }, [keep, hiddenOut, provenanceOut]);

  const gpuKeep = new Uint32Array(keepResult);
  const gpuHidden = new Float32Array(hiddenResult);
  const gpuOrigins = new Int32Array(originResult);
  let maxError = 0;
  let selectionCorrect = true;
  let originsCorrect = true;
  plans.forEach((plan, s) => {
    const { h, sc, counts } = inputs[s];
    const expected = ref.reduceSequence(h, plan.n, hidden, sc, sequences[s].fine, sequences[s].clusters, weighting);
    if (expected.rows !== plan.nOut) selectionCorrect = false;
    const fineExpected = new Set(expected.positions.filter((p) => p >= 0));
    for (let j = 0; j < plan.n; j++) if ((gpuKeep[s * stride + j] === 1) !== fineExpected.has(j)) selectionCorrect = false;
    maxError = Math.max(maxError, maxAbsDiff(gpuHidden.subarray(s * outStride * hidden, (s * outStride + plan.nOut) * hidden), expected.hidden));
    // A fine row keeps its provenance; cluster c has origin -1 and the summed counts of its tail group.
    const fineRows = new Set(expected.positions.filter((p) => p >= 0));
    const tail = counts.map((_, j) => j).filter((j) => !fineRows.has(j));
    const clusterCount = expected.positions.filter((p) => p < 0).length;
    const groupOf = ref.clusterGroups(tail.length, clusterCount);
    expected.positions.forEach((p, o) => {
      const wantOrigin = p >= 0 ? 1000 * s + p : -1;
      const wantCount = p >= 0 ? counts[p] : tail.reduce((sum, j, q) => (groupOf[q] === -1 - p ? sum + counts[j] : sum), 0);
      const row = s * outStride + o;
      if (gpuOrigins[2 * row] !== wantOrigin || gpuOrigins[2 * row + 1] !== wantCount) originsCorrect = false;
    });
  });
  return { maxError, selectionCorrect, originsCorrect, tokensOut: plans.map((p) => p.nOut) };
}
