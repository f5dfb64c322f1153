/**
 * Float64 CPU forward pass of the FCA variant that reproduces the arithmetic
 * of the authors' Keras code (pierre-zhao/FCA-BERT, model/model.py, class
 * Hard_Extract_Weight_Sum_Cluster, built on PoWER-BERT's attention layers).
 * It exists to run checkpoints trained with that code. docs/authors-variant.md
 * states every step in index terms for GPU implementers.
 *
 * What differs from the standard variant (forward.ts):
 * - the input is padded to a fixed length and padding rows stay in the
 *   sequence, so padding query rows add to the token scores;
 * - attention masks padding keys by multiplying exp(z - max) by 0 and divides
 *   by (sum + 1e-7);
 * - the token ranked exactly r is dropped, the tail softmax runs over the
 *   whole tail, and the tail is zero-padded to K * g slots, each cluster being
 *   (1/g) times the weighted sum over its g slots;
 * - every layer always returns r + K rows, and the visible (unmasked) prefix
 *   after it is min(nReal, r + K) whatever those rows hold;
 * - LayerNorm epsilon is 1e-14 everywhere.
 */

import { AUTHORS_LAYER_NORM_EPS, planAuthorsLayers, type AuthorsSettings } from '../fca/authors-plan.js';
import type { BertConfig } from '../model/config.js';
import type { BertWeights } from '../model/tensor.js';
import { weight } from '../model/weights.js';
import { attentionColumnScores, linear } from './ops.js';
import { attentionSubLayer, embed, feedForwardSubLayer } from './forward.js';

/** Added to each attention row's denominator, as PoWER-BERT's ScaledDotProductAttention adds Keras' K.epsilon(). */
export const AUTHORS_ATTENTION_EPS = 1e-7;

/** `positions` value of a cluster row whose slot range contains at least one tail token. */
export const CLUSTER_POSITION = -1;

/** `positions` value of a row without real-token content: an input padding token, or a cluster whose slots are all zero padding. */
export const PADDING_POSITION = -2;

export { AUTHORS_LAYER_NORM_EPS };
export type { AuthorsSettings };

export interface AuthorsResult {
  /** Classifier logits; empty unless the architecture is BertForSequenceClassification. */
  logits: number[];
  /** Sequence length after each layer, padding rows included: counts[l] + clusters. */
  tokensPerLayer: number[];
  /**
   * Per layer, for each output row: the input position p (0 <= p < nReal) of
   * the real token it holds, CLUSTER_POSITION (-1) for a cluster with at
   * least one tail token, or PADDING_POSITION (-2) for an input padding
   * token or a cluster whose slot range is all zero padding. A row keeps its
   * value when a later layer keeps it as a fine token.
   */
  positions: number[][];
  /** Per layer, the rows the next layer's attention may attend to: min(nReal, tokensPerLayer[l]), always a prefix. */
  visibleTokensPerLayer: number[];
  /** Hidden states after the last layer [tokensPerLayer.at(-1), hiddenSize], padding rows included. */
  lastHidden: Float64Array;
}

/** One layer's reduction in the authors' arithmetic. */
export interface AuthorsReduction {
  /** New hidden states [rows, width]: fine tokens in ascending input row order, then the clusters. */
  hidden: Float64Array;
  /** fine + clusters, always. */
  rows: number;
  /** Per output row: the input row of a fine token, or -1 - c for cluster c. */
  sources: number[];
  /** Input row ranked exactly `fine` among rows 1 .. n-1 (1-based rank): neither kept nor merged. */
  skipped: number;
  /** Input rows merged into clusters, ascending: the rows of 1-based rank fine + 1 .. n - 1. */
  tail: number[];
  /** Softmax of the scores over the whole tail, in `tail` order. */
  tailWeights: Float64Array;
  /** g = floor(T / K) + 1: tail slots per cluster. Cluster c covers tail slots c*g .. c*g + g - 1. */
  slotsPerCluster: number;
  /** Per cluster, true when its slot range contains no tail token, so that the cluster is the zero vector. */
  emptyClusters: boolean[];
}

function checkInteger(op: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${op}: ${name} must be an integer >= ${min}, got ${value}.`);
  }
}

function checkLength(op: string, name: string, array: ArrayLike<number>, expected: number, shape: string): void {
  if (array.length !== expected) {
    throw new RangeError(
      `${op}: ${name} has ${array.length} elements but its shape ${shape} needs ${expected}; pass a row-major array of exactly that size.`,
    );
  }
}

/**
 * Computes the attention probabilities P [numHeads, n, n] as PoWER-BERT's Keras
 * layer does, from packed projections qkv [n, 3 hiddenSize]. Each row contains
 * q, k and v, and head h uses columns h*headSize .. (h+1)*headSize of each.
 * With z_j = q_i . k_j / sqrt(headSize), e_j = exp(z_j - max z) where the
 * maximum runs over all n keys, masked ones included. Keys j >= visible then
 * get e_j = 0, and P[h, i, j] = e_j / (sum_j e_j + 1e-7). Every query row i,
 * visible or not, gets a row of probabilities.
 */
export function authorsAttentionProbabilities(
  qkv: ArrayLike<number>,
  n: number,
  hiddenSize: number,
  numHeads: number,
  visible: number,
): Float64Array {
  const op = 'authorsAttentionProbabilities';
  checkInteger(op, 'n', n, 1);
  checkInteger(op, 'numHeads', numHeads, 1);
  if (hiddenSize % numHeads !== 0) {
    throw new RangeError(`${op}: hiddenSize ${hiddenSize} is not divisible by numHeads ${numHeads}; pass a head count that divides it.`);
  }
  if (!Number.isInteger(visible) || visible < 1 || visible > n) {
    throw new RangeError(`${op}: visible must be an integer in [1, n = ${n}], got ${visible}; [CLS] at row 0 is always visible.`);
  }
  checkLength(op, 'qkv', qkv, n * 3 * hiddenSize, `[${n}, ${3 * hiddenSize}]`);

  const headSize = hiddenSize / numHeads;
  const rowStride = 3 * hiddenSize;
  const scale = 1 / Math.sqrt(headSize);
  const probs = new Float64Array(numHeads * n * n);
  const logits = new Float64Array(n);
  for (let h = 0; h < numHeads; h++) {
    const qColumn = h * headSize;
    const kColumn = hiddenSize + h * headSize;
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let d = 0; d < headSize; d++) dot += qkv[i * rowStride + qColumn + d] * qkv[j * rowStride + kColumn + d];
        logits[j] = dot * scale;
        max = Math.max(max, logits[j]);
      }

      const rowOffset = (h * n + i) * n;
      let sum = 0;
      for (let j = 0; j < visible; j++) {
        const e = Math.exp(logits[j] - max);
        probs[rowOffset + j] = e;
        sum += e;
      }
      const denominator = sum + AUTHORS_ATTENTION_EPS;
      for (let j = 0; j < visible; j++) probs[rowOffset + j] /= denominator;
    }
  }
  return probs;
}

/**
 * Scores the tokens as the authors' code does: column sums of P over all n
 * query rows (masked rows included), minus the diagonal, averaged over heads.
 * It is attentionColumnScores, exported under this name for this variant's callers.
 */
export const authorsColumnScores = attentionColumnScores;

/**
 * Ranks rows 1 .. n-1 ([CLS] at row 0 excluded) by score, highest first, ties
 * to the lower row, as TensorFlow's top_k orders equal values. Returns the
 * rows in rank order (entry k has 1-based rank k + 1).
 */
export function authorsRanking(scores: ArrayLike<number>, n: number): number[] {
  checkInteger('authorsRanking', 'n', n, 1);
  checkLength('authorsRanking', 'scores', scores, n, `[${n}]`);
  for (let j = 0; j < n; j++) {
    if (Number.isNaN(scores[j])) {
      throw new RangeError(`authorsRanking: score at row ${j} is NaN; the attention probabilities that produced it are invalid.`);
    }
  }

  const rows: number[] = [];
  for (let j = 1; j < n; j++) rows.push(j);
  return rows.sort((a, b) => scores[b] - scores[a] || a - b);
}

/**
 * Reduces n rows to fine + clusters rows as Hard_Extract_Weight_Sum_Cluster
 * does. With R = authorsRanking(scores): the fine rows are 0 and R[0 .. fine-2]
 * in ascending row order; R[fine-1] is skipped; the tail is R[fine .. n-2]
 * sorted ascending (T = n - 1 - fine rows). Tail weights w = softmax(scores)
 * over the whole tail. With g = floor(T / K) + 1, tail slot q < T contains
 * w[q] * y[tail[q]] and slots T .. K*g - 1 hold zeros; cluster c is (1/g)
 * times the sum of slots c*g .. c*g + g - 1.
 * Requires fine >= 1, clusters >= 1 and fine + clusters <= n, the only
 * settings in which the authors' code keeps sequence and mask lengths equal.
 */
export function authorsReduce(
  hidden: ArrayLike<number>,
  n: number,
  width: number,
  scores: ArrayLike<number>,
  fine: number,
  clusters: number,
): AuthorsReduction {
  const op = 'authorsReduce';
  checkInteger(op, 'n', n, 1);
  checkInteger(op, 'width', width, 1);
  checkInteger(op, 'fine', fine, 1);
  checkInteger(op, 'clusters', clusters, 1);
  checkLength(op, 'hidden', hidden, n * width, `[${n}, ${width}]`);
  checkLength(op, 'scores', scores, n, `[${n}]`);
  if (fine + clusters > n) {
    throw new RangeError(
      `${op}: fine ${fine} + clusters ${clusters} exceeds the ${n} input rows; the authors' reduction needs fine + clusters <= n, so lower fine to at most ${n - clusters}.`,
    );
  }

  const ranking = authorsRanking(scores, n);
  const finePositions = [0, ...ranking.slice(0, fine - 1)].sort((a, b) => a - b);
  const skipped = ranking[fine - 1];
  const tail = ranking.slice(fine).sort((a, b) => a - b);
  const tailLength = tail.length;

  const tailWeights = new Float64Array(tailLength);
  let max = -Infinity;
  for (const row of tail) max = Math.max(max, scores[row]);
  let sum = 0;
  tail.forEach((row, q) => {
    tailWeights[q] = Math.exp(scores[row] - max);
    sum += tailWeights[q];
  });
  for (let q = 0; q < tailLength; q++) tailWeights[q] /= sum;

  const rows = fine + clusters;
  const out = new Float64Array(rows * width);
  const sources: number[] = [];
  finePositions.forEach((source, row) => {
    for (let d = 0; d < width; d++) out[row * width + d] = hidden[source * width + d];
    sources.push(source);
  });

  const slotsPerCluster = Math.floor(tailLength / clusters) + 1;
  const emptyClusters: boolean[] = [];
  for (let c = 0; c < clusters; c++) {
    const row = fine + c;
    const firstSlot = c * slotsPerCluster;
    const endSlot = Math.min(firstSlot + slotsPerCluster, tailLength);
    for (let q = firstSlot; q < endSlot; q++) {
      const source = tail[q];
      const factor = tailWeights[q] / slotsPerCluster;
      for (let d = 0; d < width; d++) out[row * width + d] += factor * hidden[source * width + d];
    }
    sources.push(-1 - c);
    emptyClusters.push(firstSlot >= tailLength);
  }

  return { hidden: out, rows, sources, skipped, tail, tailWeights, slotsPerCluster, emptyClusters };
}

/**
 * Runs the encoder on one sequence in float64 with the authors' arithmetic:
 * the input is padded to settings.paddedLength, and each layer reduces its
 * sequence to counts[l] + clusters rows (authorsReduce). The classifier reads
 * row 0 ([CLS]) through the pooler, as BERT does.
 */
export function referenceForwardAuthors(
  config: BertConfig,
  weights: BertWeights,
  inputIds: number[],
  tokenTypeIds: number[],
  settings: AuthorsSettings,
): AuthorsResult {
  const d = config.hiddenSize;
  const realLength = inputIds.length;
  const steps = planAuthorsLayers(realLength, settings, config);
  if (tokenTypeIds.length !== realLength) {
    throw new RangeError(
      `referenceForwardAuthors: tokenTypeIds has ${tokenTypeIds.length} entries but inputIds has ${realLength}; pass one per token.`,
    );
  }

  const paddedIds = inputIds.slice();
  const paddedTypes = tokenTypeIds.slice();
  while (paddedIds.length < settings.paddedLength) {
    paddedIds.push(config.padTokenId);
    paddedTypes.push(0);
  }

  let hidden = embed(config, weights, paddedIds, paddedTypes, AUTHORS_LAYER_NORM_EPS);
  let rows = settings.paddedLength;
  let origin = Array.from({ length: rows }, (_, p) => (p < realLength ? p : PADDING_POSITION));
  const tokensPerLayer: number[] = [];
  const visibleTokensPerLayer: number[] = [];
  const positions: number[][] = [];

  for (let layer = 0; layer < config.numLayers; layer++) {
    const step = steps[layer];
    if (step.nIn !== rows) {
      throw new Error(`internal error: layer ${layer} plans ${step.nIn} input rows but the sequence has ${rows}`);
    }
    const prefix = `encoder.layer.${layer}.`;
    const visible = step.visible;
    const attention = attentionSubLayer(
      config,
      weights,
      prefix,
      hidden,
      rows,
      (qkv, n, hiddenSize, numHeads) => authorsAttentionProbabilities(qkv, n, hiddenSize, numHeads, visible),
      AUTHORS_LAYER_NORM_EPS,
    );

    const scores = authorsColumnScores(attention.probs, rows, config.numHeads);
    const reduced = authorsReduce(attention.output, rows, d, scores, step.fine, step.clusters);
    origin = reduced.sources.map((source) => {
      if (source >= 0) return origin[source];
      return reduced.emptyClusters[-1 - source] ? PADDING_POSITION : CLUSTER_POSITION;
    });
    rows = reduced.rows;

    hidden = feedForwardSubLayer(config, weights, prefix, reduced.hidden, rows, AUTHORS_LAYER_NORM_EPS);
    tokensPerLayer.push(rows);
    visibleTokensPerLayer.push(Math.min(realLength, rows));
    positions.push(origin.slice());
  }

  const result: AuthorsResult = { logits: [], tokensPerLayer, positions, visibleTokensPerLayer, lastHidden: hidden };
  if (config.architecture === 'BertForSequenceClassification') {
    const cls = hidden.subarray(0, d);
    const pooled = linear(cls, 1, d, weight(weights, 'pooler.dense.weight'), weight(weights, 'pooler.dense.bias'), d).map(Math.tanh);
    const logits = linear(pooled, 1, d, weight(weights, 'classifier.weight'), weight(weights, 'classifier.bias'), config.labels.length);
    result.logits = Array.from(logits);
  }
  return result;
}
