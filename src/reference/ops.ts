/**
 * Float64 CPU building blocks of a BERT layer with FCA token reduction, used
 * as the reference that tests compare the WebGPU kernels against.
 *
 * Every array is row-major. Inputs accept any ArrayLike<number> (Float32Array
 * read back from a GPU buffer, plain arrays in hand-written tests) and must
 * have exactly the length their shape implies. Outputs are Float64Array.
 * This file must stay free of Node and DOM APIs so that browser tests can
 * import it.
 */

import { erf } from './erf.js';

/** Throws a RangeError unless `array` has exactly `expected` elements. */
function checkLength(op: string, name: string, array: ArrayLike<number>, expected: number, shape: string): void {
  if (array.length !== expected) {
    throw new RangeError(
      `${op}: ${name} has ${array.length} elements but its shape ${shape} needs ${expected}; pass a row-major array of exactly that size.`,
    );
  }
}

function checkPositiveInteger(op: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${op}: ${name} must be a positive integer, got ${value}.`);
  }
}

function checkHeads(op: string, hiddenSize: number, numHeads: number): number {
  checkPositiveInteger(op, 'hiddenSize', hiddenSize);
  checkPositiveInteger(op, 'numHeads', numHeads);
  if (hiddenSize % numHeads !== 0) {
    throw new RangeError(`${op}: hiddenSize ${hiddenSize} is not divisible by numHeads ${numHeads}; pass a head count that divides it.`);
  }
  return hiddenSize / numHeads;
}

/**
 * Copies the input into a Float64Array unless it already is one. Hot loops
 * then see a single array type, which keeps V8's element access fast.
 */
function asFloat64(array: ArrayLike<number>): Float64Array {
  return array instanceof Float64Array ? array : Float64Array.from(array);
}

/**
 * Computes y = x W^T + b for x [rows, inFeatures] and W [outFeatures, inFeatures]
 * (PyTorch's nn.Linear layout). Returns y [rows, outFeatures].
 */
export function linear(
  x: ArrayLike<number>,
  rows: number,
  inFeatures: number,
  weight: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  outFeatures: number,
): Float64Array {
  checkPositiveInteger('linear', 'inFeatures', inFeatures);
  checkPositiveInteger('linear', 'outFeatures', outFeatures);
  checkLength('linear', 'x', x, rows * inFeatures, `[${rows}, ${inFeatures}]`);
  checkLength('linear', 'weight', weight, outFeatures * inFeatures, `[${outFeatures}, ${inFeatures}]`);
  if (bias) checkLength('linear', 'bias', bias, outFeatures, `[${outFeatures}]`);

  const input = asFloat64(x);
  const w = asFloat64(weight);
  const y = new Float64Array(rows * outFeatures);
  const blockedRows = rows - (rows % 4);
  const blockedOutputs = outFeatures - (outFeatures % 2);
  for (let r = 0; r < blockedRows; r += 4) {
    for (let o = 0; o < blockedOutputs; o += 2) {
      linearBlock4x2(input, w, y, r, o, inFeatures, outFeatures);
    }
  }

  // Rows and outputs that do not fill a whole block.
  for (let r = 0; r < rows; r++) {
    const firstOutput = r < blockedRows ? blockedOutputs : 0;
    for (let o = firstOutput; o < outFeatures; o++) {
      let sum = 0;
      for (let i = 0; i < inFeatures; i++) sum += input[r * inFeatures + i] * w[o * inFeatures + i];
      y[r * outFeatures + o] = sum;
    }
  }

  if (bias) {
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outFeatures; o++) y[r * outFeatures + o] += bias[o];
    }
  }
  return y;
}

/**
 * Computes the 4 x 2 block y[r .. r+3, o .. o+1] of x W^T. Each weight load
 * serves four rows and each input load two outputs. This about halved the
 * whole-model test time compared with one dot product at a time.
 */
function linearBlock4x2(
  x: Float64Array,
  w: Float64Array,
  y: Float64Array,
  r: number,
  o: number,
  inFeatures: number,
  outFeatures: number,
): void {
  const x0 = r * inFeatures;
  const x1 = x0 + inFeatures;
  const x2 = x1 + inFeatures;
  const x3 = x2 + inFeatures;
  const wa = o * inFeatures;
  const wb = wa + inFeatures;

  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let b3 = 0;
  for (let i = 0; i < inFeatures; i++) {
    const u = w[wa + i];
    const v = w[wb + i];
    const e0 = x[x0 + i];
    const e1 = x[x1 + i];
    const e2 = x[x2 + i];
    const e3 = x[x3 + i];
    a0 += e0 * u;
    a1 += e1 * u;
    a2 += e2 * u;
    a3 += e3 * u;
    b0 += e0 * v;
    b1 += e1 * v;
    b2 += e2 * v;
    b3 += e3 * v;
  }

  y[r * outFeatures + o] = a0;
  y[(r + 1) * outFeatures + o] = a1;
  y[(r + 2) * outFeatures + o] = a2;
  y[(r + 3) * outFeatures + o] = a3;
  y[r * outFeatures + o + 1] = b0;
  y[(r + 1) * outFeatures + o + 1] = b1;
  y[(r + 2) * outFeatures + o + 1] = b2;
  y[(r + 3) * outFeatures + o + 1] = b3;
}

/** Computes GELU in its erf form, 0.5 x (1 + erf(x / sqrt 2)), as BERT's "gelu" activation does. */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/**
 * Normalises each row of x [rows, width] to zero mean and unit variance (the
 * biased variance, as PyTorch's LayerNorm), then scales by gamma and shifts by beta.
 */
export function layerNorm(
  x: ArrayLike<number>,
  rows: number,
  width: number,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  eps: number,
): Float64Array {
  checkPositiveInteger('layerNorm', 'width', width);
  checkLength('layerNorm', 'x', x, rows * width, `[${rows}, ${width}]`);
  checkLength('layerNorm', 'gamma', gamma, width, `[${width}]`);
  checkLength('layerNorm', 'beta', beta, width, `[${width}]`);

  const y = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const offset = r * width;
    let mean = 0;
    for (let i = 0; i < width; i++) mean += x[offset + i];
    mean /= width;

    let variance = 0;
    for (let i = 0; i < width; i++) {
      const centred = x[offset + i] - mean;
      variance += centred * centred;
    }
    variance /= width;

    const scale = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < width; i++) {
      y[offset + i] = (x[offset + i] - mean) * scale * gamma[i] + beta[i];
    }
  }
  return y;
}

/** Replaces values[offset .. offset + length) by their softmax, subtracting the maximum first. */
function softmaxInPlace(values: Float64Array, offset: number, length: number): void {
  let max = -Infinity;
  for (let j = 0; j < length; j++) max = Math.max(max, values[offset + j]);
  let sum = 0;
  for (let j = 0; j < length; j++) {
    const e = Math.exp(values[offset + j] - max);
    values[offset + j] = e;
    sum += e;
  }
  for (let j = 0; j < length; j++) values[offset + j] /= sum;
}

/**
 * Computes the attention probabilities P [numHeads, n, n] from packed
 * projections qkv [n, 3 hiddenSize], where each row contains q, then k, then v,
 * and head h uses columns h*headSize .. (h+1)*headSize of each part.
 * P[h, i, j] is the softmax over keys j of q_i . k_j / sqrt(headSize). No mask:
 * every one of the n tokens is real.
 */
export function attentionProbabilities(qkv: ArrayLike<number>, n: number, hiddenSize: number, numHeads: number): Float64Array {
  const headSize = checkHeads('attentionProbabilities', hiddenSize, numHeads);
  checkPositiveInteger('attentionProbabilities', 'n', n);
  checkLength('attentionProbabilities', 'qkv', qkv, n * 3 * hiddenSize, `[${n}, ${3 * hiddenSize}]`);

  const packed = asFloat64(qkv);
  const rowStride = 3 * hiddenSize;
  const scale = 1 / Math.sqrt(headSize);
  const probs = new Float64Array(numHeads * n * n);
  for (let h = 0; h < numHeads; h++) {
    const qColumn = h * headSize;
    const kColumn = hiddenSize + h * headSize;
    for (let i = 0; i < n; i++) {
      const rowOffset = (h * n + i) * n;
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let d = 0; d < headSize; d++) {
          dot += packed[i * rowStride + qColumn + d] * packed[j * rowStride + kColumn + d];
        }
        probs[rowOffset + j] = dot * scale;
      }
      softmaxInPlace(probs, rowOffset, n);
    }
  }
  return probs;
}

/**
 * Computes the attention context [n, hiddenSize]: for each head, P V over
 * that head's value columns, heads concatenated in order.
 */
export function attentionContext(
  probs: ArrayLike<number>,
  qkv: ArrayLike<number>,
  n: number,
  hiddenSize: number,
  numHeads: number,
): Float64Array {
  const headSize = checkHeads('attentionContext', hiddenSize, numHeads);
  checkPositiveInteger('attentionContext', 'n', n);
  checkLength('attentionContext', 'probs', probs, numHeads * n * n, `[${numHeads}, ${n}, ${n}]`);
  checkLength('attentionContext', 'qkv', qkv, n * 3 * hiddenSize, `[${n}, ${3 * hiddenSize}]`);

  const p = asFloat64(probs);
  const packed = asFloat64(qkv);
  const rowStride = 3 * hiddenSize;
  const context = new Float64Array(n * hiddenSize);
  for (let h = 0; h < numHeads; h++) {
    const vColumn = 2 * hiddenSize + h * headSize;
    for (let i = 0; i < n; i++) {
      const outOffset = i * hiddenSize + h * headSize;
      for (let j = 0; j < n; j++) {
        const weight = p[(h * n + i) * n + j];
        const vOffset = j * rowStride + vColumn;
        for (let d = 0; d < headSize; d++) context[outOffset + d] += weight * packed[vOffset + d];
      }
    }
  }
  return context;
}

/**
 * Scores each token by the attention it receives from the other tokens,
 * averaged over heads: s[j] = (1/H) sum_h (sum_i P[h, i, j] - P[h, j, j]).
 * Returns s [n].
 */
export function attentionColumnScores(probs: ArrayLike<number>, n: number, numHeads: number): Float64Array {
  checkPositiveInteger('attentionColumnScores', 'n', n);
  checkPositiveInteger('attentionColumnScores', 'numHeads', numHeads);
  checkLength('attentionColumnScores', 'probs', probs, numHeads * n * n, `[${numHeads}, ${n}, ${n}]`);

  const scores = new Float64Array(n);
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < n; i++) {
      const rowOffset = (h * n + i) * n;
      for (let j = 0; j < n; j++) {
        if (j !== i) scores[j] += probs[rowOffset + j];
      }
    }
  }
  for (let j = 0; j < n; j++) scores[j] /= numHeads;
  return scores;
}

/**
 * Selects the `fine` tokens a reducing layer keeps: [CLS] (position 0) always,
 * plus the `fine - 1` other tokens with the highest scores, ties going to the
 * lower position. Returns their positions in ascending order.
 */
export function selectFineTokens(scores: ArrayLike<number>, n: number, fine: number): number[] {
  checkPositiveInteger('selectFineTokens', 'n', n);
  checkLength('selectFineTokens', 'scores', scores, n, `[${n}]`);
  if (!Number.isInteger(fine) || fine < 1 || fine > n) {
    throw new RangeError(`selectFineTokens: fine must be an integer in [1, n = ${n}], got ${fine}; [CLS] always counts as one fine token.`);
  }
  for (let j = 0; j < n; j++) {
    if (Number.isNaN(scores[j])) {
      throw new RangeError(`selectFineTokens: score at position ${j} is NaN; the attention probabilities that produced it are invalid.`);
    }
  }

  const candidates: number[] = [];
  for (let j = 1; j < n; j++) candidates.push(j);
  candidates.sort((a, b) => scores[b] - scores[a] || a - b);

  const selected = [0, ...candidates.slice(0, fine - 1)];
  return selected.sort((a, b) => a - b);
}

/**
 * Assigns each tail index q (0-based, current order) of a tail of
 * `tailLength` tokens to cluster floor(q * C / T) with C = min(clusters, T).
 * The groups are contiguous, differ in size by at most one, and the larger
 * ones come first. With clusters = 0 the tail is dropped and every entry is -1.
 */
export function clusterGroups(tailLength: number, clusters: number): number[] {
  if (!Number.isInteger(tailLength) || tailLength < 0) {
    throw new RangeError(`clusterGroups: tailLength must be a non-negative integer, got ${tailLength}.`);
  }
  if (!Number.isInteger(clusters) || clusters < 0) {
    throw new RangeError(`clusterGroups: clusters must be a non-negative integer, got ${clusters}; use 0 to drop the tail.`);
  }

  const groupCount = Math.min(clusters, tailLength);
  const groups: number[] = [];
  for (let q = 0; q < tailLength; q++) {
    groups.push(groupCount === 0 ? -1 : Math.floor((q * groupCount) / tailLength));
  }
  return groups;
}

/** Sequence after one layer's FCA reduction. */
export interface ReductionResult {
  /** New hidden states [rows, width]: the fine tokens in current order, then the clusters. */
  hidden: Float64Array;
  rows: number;
  /** For each output row, the input row of a fine token, or -1 - c for cluster c. */
  positions: number[];
}

/**
 * Shortens a sequence of n tokens as one FCA layer does. It keeps
 * r' = min(fine, n) fine tokens (selectFineTokens) and merges the other T
 * tokens, in current order, into C = min(clusters, T) clusters
 * (clusterGroups). With 'weighted', each cluster is the average of its group
 * weighted by the softmax of the group's scores, which equals the softmax over
 * the whole tail renormalised inside the group. With 'mean' it is the plain
 * mean. When r' + C >= n the layer would not shrink the sequence, so the
 * input comes back unchanged with identity positions.
 */
export function reduceSequence(
  hidden: ArrayLike<number>,
  n: number,
  width: number,
  scores: ArrayLike<number>,
  fine: number,
  clusters: number,
  weighting: 'weighted' | 'mean',
): ReductionResult {
  checkPositiveInteger('reduceSequence', 'n', n);
  checkPositiveInteger('reduceSequence', 'width', width);
  checkPositiveInteger('reduceSequence', 'fine', fine);
  checkLength('reduceSequence', 'hidden', hidden, n * width, `[${n}, ${width}]`);
  checkLength('reduceSequence', 'scores', scores, n, `[${n}]`);
  if (!Number.isInteger(clusters) || clusters < 0) {
    throw new RangeError(`reduceSequence: clusters must be a non-negative integer, got ${clusters}; use 0 to drop the tail.`);
  }
  if (weighting !== 'weighted' && weighting !== 'mean') {
    throw new RangeError(`reduceSequence: weighting must be 'weighted' or 'mean', got ${JSON.stringify(weighting)}.`);
  }

  const fineCount = Math.min(fine, n);
  const clusterCount = Math.min(clusters, n - fineCount);
  if (fineCount + clusterCount >= n) {
    return {
      hidden: Float64Array.from(hidden),
      rows: n,
      positions: Array.from({ length: n }, (_, j) => j),
    };
  }

  const finePositions = selectFineTokens(scores, n, fineCount);
  const isFine = new Uint8Array(n);
  for (const j of finePositions) isFine[j] = 1;
  const tail: number[] = [];
  for (let j = 0; j < n; j++) if (!isFine[j]) tail.push(j);

  const rows = fineCount + clusterCount;
  const out = new Float64Array(rows * width);
  const positions: number[] = [];
  finePositions.forEach((source, row) => {
    for (let d = 0; d < width; d++) out[row * width + d] = hidden[source * width + d];
    positions.push(source);
  });

  const groups = clusterGroups(tail.length, clusterCount);
  for (let c = 0; c < clusterCount; c++) {
    const members = tail.filter((_, q) => groups[q] === c);
    const weights = clusterWeights(members, scores, weighting);
    const row = fineCount + c;
    members.forEach((source, m) => {
      for (let d = 0; d < width; d++) out[row * width + d] += weights[m] * hidden[source * width + d];
    });
    positions.push(-1 - c);
  }
  return { hidden: out, rows, positions };
}

/** Returns the convex weights of a cluster's members: softmax of their scores, or uniform for 'mean'. */
function clusterWeights(members: number[], scores: ArrayLike<number>, weighting: 'weighted' | 'mean'): Float64Array {
  const weights = new Float64Array(members.length);
  if (weighting === 'mean') {
    weights.fill(1 / members.length);
    return weights;
  }
  members.forEach((source, m) => {
    weights[m] = scores[source];
  });
  softmaxInPlace(weights, 0, members.length);
  return weights;
}
