// Each check runs one kernel family on random inputs and compares it with the
// float64 CPU reference. Padding rows and unwritten outputs are filled with
// NaN so that a kernel reading past a sequence's real length shows up as an
// infinite error.
import { ComputeRecorder, KERNELS, dispatchGemm, gatherMergeDispatch, groups, type GemmActivation } from '../../src/engine/kernels.js';
import { transposeLinear, uploadGemmWeight } from '../../src/engine/gpu-weights.js';
import { BufferPool, uploadStorage } from '../../src/gpu/buffers.js';
import { PipelineCache, type KernelSpec } from '../../src/gpu/pipelines.js';
import { chooseGemmVariant, gemmDeviceFacts, type GemmTile, type GemmVariant } from '../../src/gpu/tuning.js';
import * as ref from '../../src/reference/ops.js';
import { authorsAttentionProbabilities, authorsReduce } from '../../src/reference/authors.js';
import { kernelContext, maxAbsDiff, poisoned, randomSource, runRecorded, upload } from './gpu-run.js';

const NAN = Number.NaN;

export interface GemmCase {
  variant: GemmVariant;
  m: number;
  n: number;
  k: number;
  activation: GemmActivation;
  /** Rows of `a` from one GEMM row to the next, as when the pooler reads row 0 of each sequence; 1 for a dense matrix. */
  rowStride?: number;
  seed?: number;
  /** Output tile of the texture variants; chooseGemmTile picks one when absent. */
  tile?: GemmTile;
}

interface GemmRig {
  device: GPUDevice;
  pipelines: PipelineCache;
  pool: BufferPool;
}

let subgroupRig: GemmRig | null = null;

/**
 * Returns the harness device, or for a variant that needs 'subgroups' when the
 * harness device lacks it, a device of its own with that feature.
 * NOTE: createGpuContext does not request 'subgroups' yet; once it does, the harness device serves every variant.
 */
async function gemmRig(variant: GemmVariant): Promise<GemmRig> {
  const { gpu, pipelines, pool } = await kernelContext();
  if (variant !== 'textureSubgroups' || gpu.device.features.has('subgroups')) return { device: gpu.device, pipelines, pool };
  if (!subgroupRig) {
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter?.features.has('subgroups')) throw new Error(`variant ${variant} needs the 'subgroups' feature, which this adapter lacks.`);
    const device = await adapter.requestDevice({ requiredFeatures: ['subgroups'] });
    subgroupRig = { device, pipelines: new PipelineCache(device), pool: new BufferPool(device) };
  }
  return subgroupRig;
}

/**
 * Runs one GEMM of `variant` through dispatchGemm and compares it with ref.linear. Rows of `a`
 * that the GEMM must skip (rowStride > 1) and the output rows past m are NaN,
 * so reading the wrong row or writing past m shows up.
 */
export async function checkGemm({ variant, m, n, k, activation, rowStride = 1, seed = 1, tile }: GemmCase) {
  const { device, pipelines, pool } = await gemmRig(variant);
  const random = randomSource(seed);
  const a = random.array(m * k);
  const w = random.array(n * k, -0.2, 0.2);
  const bias = random.array(n);
  const nPadded = Math.ceil(n / 4) * 4;
  const biasPadded = new Float32Array(nPadded);
  biasPadded.set(bias);
  const aStrided = new Float32Array(m * rowStride * k).fill(NAN);
  for (let r = 0; r < m; r++) aStrided.set(a.subarray(r * k, (r + 1) * k), r * rowStride * k);
  const extraRows = 4;
  const outputWords = (m + extraRows) * nPadded;

  const buffers = {
    input: uploadStorage(device, 'gemm input', aStrided),
    weight: uploadGemmWeight(device, variant, 'gemm weight', transposeLinear([w], n, k, nPadded), k, nPadded),
    bias: uploadStorage(device, 'gemm bias', biasPadded),
    output: uploadStorage(device, 'gemm output', new Uint32Array(outputWords).fill(0x7fc00000)),
  };
  const recorder = new ComputeRecorder(device, pipelines);
  dispatchGemm(recorder, variant, activation, buffers, { rows: m, inFeatures: k, outPadded: nPadded, aRowStride: (rowStride * k) / 4, tile });
  const encoder = device.createCommandEncoder();
  recorder.encode(encoder, (bytes) => pool.acquire('uniforms', bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
  const staging = device.createBuffer({ size: outputWords * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  encoder.copyBufferToBuffer(buffers.output, 0, staging, 0, outputWords * 4);
  device.pushErrorScope('validation');
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(`validation error: ${error.message}`);
  await staging.mapAsync(GPUMapMode.READ);
  const gpu = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  for (const resource of Object.values(buffers)) resource.destroy();

  const expected = ref.linear(a, m, k, w, bias, n);
  const activations = { gelu: ref.gelu, tanh: Math.tanh, none: (x: number) => x };
  const activate = activations[activation];
  let maxError = 0;
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) {
      const diff = Math.abs(gpu[r * nPadded + c] - activate(expected[r * n + c]));
      maxError = Number.isNaN(diff) ? Infinity : Math.max(maxError, diff);
    }
  }
  const rowsPastMWritten = gpu.subarray(m * nPadded).some((value) => !Number.isNaN(value));
  const info = device.adapterInfo;
  return { maxError, rowsPastMWritten, adapter: { vendor: info.vendor, architecture: info.architecture }, subgroups: device.features.has('subgroups') };
}

/** Returns the variant src/gpu/tuning.ts picks on the harness device for a BERT-base-sized model. */
export async function chosenGemmVariant(): Promise<GemmVariant> {
  const { gpu } = await kernelContext();
  return chooseGemmVariant(gemmDeviceFacts(gpu.device), { inFeatures: 3072, outPadded: 3072 });
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

/**
 * Runs top-k selection, destination assignment and gather/merge on poisoned
 * output buffers, and returns the keep states, destinations, output rows and
 * output provenance as read back.
 */
async function runSelection({ kernels, weighting, shape, buffers }: {
  kernels: { topK: KernelSpec; assign: KernelSpec };
  weighting: 'weighted' | 'mean' | 'authors';
  shape: { b: number; stride: number; outStride: number; hidden: number };
  buffers: { info: GPUBuffer; scores: Float32Array; hiddenIn: Float32Array; provenance: Int32Array };
}) {
  const { b, stride, outStride, hidden } = shape;
  const { info } = buffers;
  const scoreBuffer = upload(buffers.scores);
  const keep = poisoned(b * stride * 4);
  const destination = poisoned(b * stride * 4);
  const source = poisoned(b * outStride * 4);
  const hiddenOut = poisoned(b * outStride * hidden * 4);
  const provenanceOut = poisoned(b * outStride * 8);
  const params = [b, stride, outStride, hidden, 1, 0];
  const hiddenBuffer = upload(buffers.hiddenIn);
  const [keepResult, destinationResult, hiddenResult, originResult] = await runRecorded((recorder) => {
    recorder.dispatch(kernels.topK, params, { 1: info, 4: scoreBuffer, 5: keep }, [groups(stride, 64), b]);
    recorder.dispatch(kernels.assign, params, { 1: info, 6: keep, 7: destination, 8: source }, [groups(stride, 64), b]);
    const merge = gatherMergeDispatch(weighting, {
      seqInfo: info,
      scores: scoreBuffer,
      destination,
      source,
      hiddenIn: hiddenBuffer,
      hiddenOut,
      provenanceIn: upload(buffers.provenance),
      provenanceOut,
    });
    recorder.dispatch(merge.kernel, params, merge.bindings, [groups(hidden / 4, 16), groups(outStride, 4), b]);
  }, [keep, destination, hiddenOut, provenanceOut]);
  return { keepResult, destinationResult, hiddenResult, originResult };
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
  const { keepResult, hiddenResult, originResult } = await runSelection({
    kernels: { topK: KERNELS.topKSelect, assign: KERNELS.assignDestinations },
    weighting,
    shape: { b, stride, outStride, hidden },
    buffers: { info, scores, hiddenIn, provenance },
  });

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

export interface AuthorsAttentionCase {
  /** Per sequence: rows n (all query rows) and visible keys (a prefix, at least 1). */
  sequences: Array<{ n: number; visible: number }>;
  numHeads: number;
  headSize: number;
  /** Scales the key vectors of masked rows so that their logits dominate each row's maximum. */
  maskedKeyScale?: number;
  seed?: number;
}

/**
 * attentionScores + softmaxRowsAuthors + attentionContext + attentionColumnScores
 * against authorsAttentionProbabilities and the float64 context and scores.
 * Also reports whether masked keys got exactly 0 and masked columns a score of
 * exactly 0. `plainSoftmaxGap` is how far the authors' probabilities are from a
 * plain masked softmax on this case, because a case where they agree cannot tell the two apart.
 */
export async function checkAuthorsAttention({ sequences, numHeads, headSize, maskedKeyScale = 1, seed = 7 }: AuthorsAttentionCase) {
  await kernelContext();
  const random = randomSource(seed);
  const b = sequences.length;
  const d = numHeads * headSize;
  const stride = Math.max(...sequences.map((sequence) => sequence.n));
  const qkv = new Float32Array(b * stride * 3 * d).fill(NAN);
  const perSequence = sequences.map(({ n, visible }, s) => {
    const values = random.array(n * 3 * d, -2, 2);
    for (let i = visible; i < n; i++) {
      for (let c = d; c < 2 * d; c++) values[i * 3 * d + c] *= maskedKeyScale;
    }
    qkv.set(values, s * stride * 3 * d);
    return values;
  });
  const info = upload(new Uint32Array(sequences.flatMap(({ n }) => [n, n, 0, n])));
  const visibleInfo = upload(new Uint32Array(sequences.map(({ visible }) => visible)));
  const probs = poisoned(b * numHeads * stride * stride * 4);
  const context = poisoned(b * stride * d * 4);
  const scores = poisoned(b * stride * 4);
  const params = [b, stride, d, numHeads, headSize, 0, { f32: 1 / Math.sqrt(headSize) }];
  const qkvBuffer = upload(qkv);
  const [probsOut, contextOut, scoresOut] = await runRecorded((recorder) => {
    recorder.dispatch(KERNELS.attentionScores, params, { 1: info, 2: qkvBuffer, 3: probs }, [groups(Math.ceil(stride / 4), 8), groups(Math.ceil(stride / 4), 8), b * numHeads]);
    recorder.dispatch(KERNELS.softmaxRowsAuthors, params, { 1: info, 3: probs, 6: visibleInfo }, [groups(stride, 64), b * numHeads]);
    recorder.dispatch(KERNELS.attentionContext, params, { 1: info, 2: qkvBuffer, 4: probs, 5: context }, [groups(d / 4, 8), groups(Math.ceil(stride / 4), 8), b]);
    recorder.dispatch(KERNELS.attentionColumnScores, [b, stride, stride, d, numHeads, 0], { 1: info, 2: probs, 3: scores }, [groups(stride, 64), b]);
  }, [probs, context, scores]);

  const gpuProbs = new Float32Array(probsOut);
  const gpuContext = new Float32Array(contextOut);
  const gpuScores = new Float32Array(scoresOut);
  let probsError = 0;
  let contextError = 0;
  let scoresError = 0;
  let maskedKeysZero = true;
  let maskedScoresZero = true;
  let plainSoftmaxGap = 0;
  sequences.forEach(({ n, visible }, s) => {
    const expectedProbs = authorsAttentionProbabilities(perSequence[s], n, d, numHeads, visible);
    for (let h = 0; h < numHeads; h++) {
      for (let i = 0; i < n; i++) {
        const gpuRow = gpuProbs.subarray(((s * numHeads + h) * stride + i) * stride, ((s * numHeads + h) * stride + i) * stride + n);
        const refRow = expectedProbs.subarray((h * n + i) * n, (h * n + i + 1) * n);
        probsError = Math.max(probsError, maxAbsDiff(gpuRow, refRow));
        for (let j = visible; j < n; j++) if (!Object.is(gpuRow[j], 0)) maskedKeysZero = false;
        // A plain masked softmax is the same row renormalised to sum 1 (no 1e-7 in the denominator).
        const rowSum = refRow.reduce((sum, p) => sum + p, 0);
        plainSoftmaxGap = Math.max(plainSoftmaxGap, maxAbsDiff(refRow.map((p) => p / rowSum), refRow));
      }
    }
    const expectedContext = ref.attentionContext(expectedProbs, perSequence[s], n, d, numHeads);
    contextError = Math.max(contextError, maxAbsDiff(gpuContext.subarray(s * stride * d, (s * stride + n) * d), expectedContext));
    const sequenceScores = gpuScores.subarray(s * stride, s * stride + n);
    scoresError = Math.max(scoresError, maxAbsDiff(sequenceScores, ref.attentionColumnScores(expectedProbs, n, numHeads)));
    for (let j = visible; j < n; j++) if (!Object.is(sequenceScores[j], 0)) maskedScoresZero = false;
  });
  return { probsError, contextError, scoresError, maskedKeysZero, maskedScoresZero, plainSoftmaxGap };
}


export interface AuthorsReductionCase {
  /**
   * Per sequence: rows n, fine rows r, clusters K (r + K <= n) and visible rows;
   * rows >= visible get score exactly 0, as masked rows do. `scores` overrides
   * the generated scores.
   */
  sequences: Array<{ n: number; fine: number; clusters: number; visible?: number; scores?: number[] }>;
  hidden: number;
  /** 'random' scores, or 'ties': visible rows draw from three values so most of them tie. */
  scores: 'random' | 'ties';
  seed?: number;
}

/**
 * topKSelectAuthors + assignDestinationsAuthors + gatherMergeAuthors, given
 * the scores, against authorsReduce: every row's state (fine, skipped, tail),
 * every destination, the new rows and their provenance.
 */
export async function checkAuthorsReduction({ sequences, hidden, scores: scoreKind, seed = 8 }: AuthorsReductionCase) {
  await kernelContext();
  const random = randomSource(seed);
  const b = sequences.length;
  const stride = Math.max(...sequences.map((sequence) => sequence.n));
  const outStride = Math.max(...sequences.map((sequence) => sequence.fine + sequence.clusters));
  const hiddenIn = new Float32Array(b * stride * hidden).fill(NAN);
  const scores = new Float32Array(b * stride).fill(NAN);
  const provenance = new Int32Array(b * stride * 2).fill(-7);
  const tieValues = [0.25, 0.5, 0.125];
  const inputs = sequences.map((sequence, s) => {
    const { n } = sequence;
    const visible = sequence.visible ?? n;
    const h = random.array(n * hidden, -2, 2);
    const generated = Array.from({ length: n }, (_, j) => {
      if (j >= visible) return 0;
      return scoreKind === 'ties' ? tieValues[random.integer(3)] : random.uniform(0, 2);
    });
    const sc = Float32Array.from(sequence.scores ?? generated);
    hiddenIn.set(h, s * stride * hidden);
    scores.set(sc, s * stride);
    const counts = Array.from({ length: n }, (_, j) => (j < visible ? 1 + random.integer(3) : 0));
    for (let j = 0; j < n; j++) provenance.set([j < visible ? 1000 * s + j : -2, counts[j]], 2 * (s * stride + j));
    return { h, sc, counts };
  });
  const info = upload(new Uint32Array(sequences.flatMap(({ n, fine, clusters }) => [n, fine, clusters, fine + clusters])));
  const { keepResult, destinationResult, hiddenResult, originResult } = await runSelection({
    kernels: { topK: KERNELS.topKSelectAuthors, assign: KERNELS.assignDestinationsAuthors },
    weighting: 'authors',
    shape: { b, stride, outStride, hidden },
    buffers: { info, scores, hiddenIn, provenance },
  });

  const gpuKeep = new Uint32Array(keepResult);
  const gpuDestination = new Int32Array(destinationResult);
  const gpuHidden = new Float32Array(hiddenResult);
  const gpuOrigins = new Int32Array(originResult);
  let maxError = 0;
  const mismatches: string[] = [];
  sequences.forEach(({ n, fine, clusters }, s) => {
    const { h, sc, counts } = inputs[s];
    const expected = authorsReduce(h, n, hidden, sc, fine, clusters);
    const g = expected.slotsPerCluster;
    const wantState = new Array<number>(n).fill(-1);
    const wantDestination = new Array<number>(n).fill(-99);
    expected.sources.forEach((row, o) => {
      if (row >= 0) {
        wantState[row] = 1;
        wantDestination[row] = o;
      }
    });
    wantState[expected.skipped] = 2;
    wantDestination[expected.skipped] = -1;
    expected.tail.forEach((row, q) => {
      wantState[row] = 0;
      wantDestination[row] = fine + Math.floor(q / g);
    });
    const gotState = Array.from(gpuKeep.subarray(s * stride, s * stride + n));
    const gotDestination = Array.from(gpuDestination.subarray(s * stride, s * stride + n));
    if (JSON.stringify(gotState) !== JSON.stringify(wantState)) mismatches.push(`sequence ${s}: states ${JSON.stringify(gotState)} != ${JSON.stringify(wantState)}`);
    if (JSON.stringify(gotDestination) !== JSON.stringify(wantDestination)) {
      mismatches.push(`sequence ${s}: destinations ${JSON.stringify(gotDestination)} != ${JSON.stringify(wantDestination)}`);
    }

    maxError = Math.max(maxError, maxAbsDiff(gpuHidden.subarray(s * outStride * hidden, (s * outStride + expected.rows) * hidden), expected.hidden));
    // A fine row keeps its provenance; cluster c gets -1 (-2 when its slots are all padding) and its members' counts.
    expected.sources.forEach((row, o) => {
      const c = -1 - row;
      const want = row >= 0
        ? [provenance[2 * (s * stride + row)], counts[row]]
        : [expected.emptyClusters[c] ? -2 : -1, expected.tail.reduce((sum, member, q) => (Math.floor(q / g) === c ? sum + counts[member] : sum), 0)];
      const got = [gpuOrigins[2 * (s * outStride + o)], gpuOrigins[2 * (s * outStride + o) + 1]];
      if (got[0] !== want[0] || got[1] !== want[1]) mismatches.push(`sequence ${s} row ${o}: provenance ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
    });
  });
  return { maxError, mismatches, tokensOut: sequences.map(({ fine, clusters }) => fine + clusters) };
}
