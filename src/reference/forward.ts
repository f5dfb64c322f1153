/**
 * Float64 CPU forward pass of a post-LayerNorm BERT encoder (as Hugging Face's
 * BertModel and BertForSequenceClassification compute it) with FCA token
 * reduction after each layer's attention sub-layer. Tests compare the WebGPU
 * engine against it. One sequence at a time, all tokens real, no padding.
 */

import type { BertConfig } from '../model/config.js';
import type { BertWeights } from '../model/tensor.js';
import { weight } from '../model/weights.js';
import { encoderFlops } from '../fca/flops.js';
import { planLayers, type FcaSettings, type LayerStep } from '../fca/retention.js';
import {
  attentionColumnScores,
  attentionContext,
  attentionProbabilities,
  clusterGroups,
  gelu,
  layerNorm,
  linear,
  reduceSequence,
} from './ops.js';

export interface ReferenceResult {
  /** Classifier logits; empty unless the architecture is BertForSequenceClassification. */
  logits: number[];
  /** Sequence length after each layer's reduction. */
  tokensPerLayer: number[];
  /** Encoder FLOPs as encoderFlops counts them. */
  flops: number;
  /** Per layer, for each output row, the original input position, or -1 for a cluster. */
  positions: number[][];
  /** Pooler output tanh(W h_0 + b) [hiddenSize], present for BertForSequenceClassification. */
  pooled?: Float64Array;
  /** Hidden states after the last layer [tokensPerLayer.at(-1), hiddenSize]. */
  lastHidden: Float64Array;
  /** For each row of lastHidden, how many original tokens it stands for (a cluster counts its members'). */
  tokenCounts: number[];
}

export interface ReferenceOptions {
  /** Cluster weighting: softmax of the scores inside each group (default), or the plain mean. */
  weighting?: 'weighted' | 'mean';
}

/**
 * Runs the encoder on one sequence in float64. `fca` null gives the dense
 * pass. The per-layer plan comes from planLayers with n0 = inputIds.length.
 */
export function referenceForward(
  config: BertConfig,
  weights: BertWeights,
  inputIds: number[],
  tokenTypeIds: number[],
  fca: FcaSettings | null,
  options: ReferenceOptions = {},
): ReferenceResult {
  const weighting = options.weighting ?? 'weighted';
  const d = config.hiddenSize;
  const n0 = inputIds.length;
  const steps = planLayers(n0, config.numLayers, fca);

  let hidden = embed(config, weights, inputIds, tokenTypeIds);
  let rows = n0;
  let origin = Array.from({ length: n0 }, (_, i) => i);
  let counts = new Array<number>(n0).fill(1);
  const tokensPerLayer: number[] = [];
  const positions: number[][] = [];

  for (let layer = 0; layer < config.numLayers; layer++) {
    const step = steps[layer];
    if (step.nIn !== rows) {
      throw new Error(`internal error: layer ${layer} plans ${step.nIn} input tokens but the sequence has ${rows}`);
    }
    const prefix = `encoder.layer.${layer}.`;
    const attention = attentionSubLayer(config, weights, prefix, hidden, rows);
    let y = attention.output;

    if (fca && step.reduces) {
      const reduced = reduceLayer(attention.probs, y, rows, d, config.numHeads, step, fca.clusters, weighting);
      y = reduced.hidden;
      rows = reduced.rows;
      counts = mergedCounts(counts, reduced.positions);
      origin = reduced.positions.map((source) => (source >= 0 ? origin[source] : -1));
    }

    hidden = feedForwardSubLayer(config, weights, prefix, y, rows);
    tokensPerLayer.push(rows);
    positions.push(origin.slice());
  }

  const result: ReferenceResult = {
    logits: [],
    tokensPerLayer,
    flops: encoderFlops(steps, config),
    positions,
    lastHidden: hidden,
    tokenCounts: counts,
  };
  if (config.architecture !== 'BertModel') {
    const cls = hidden.subarray(0, d);
    const pooled = linear(cls, 1, d, weight(weights, 'pooler.dense.weight'), weight(weights, 'pooler.dense.bias'), d).map(Math.tanh);
    const outputs = weights.get('classifier.weight')!.shape[0];
    const logits = linear(pooled, 1, d, weight(weights, 'classifier.weight'), weight(weights, 'classifier.bias'), outputs);
    result.pooled = pooled;
    result.logits = Array.from(logits);
  }
  return result;
}

/** Sums word, position (0 .. n-1) and token type embeddings, then applies the embedding LayerNorm (`eps` defaults to the config's). */
export function embed(config: BertConfig, weights: BertWeights, inputIds: number[], tokenTypeIds: number[], eps = config.layerNormEps): Float64Array {
  const d = config.hiddenSize;
  const n = inputIds.length;
  if (n === 0) throw new RangeError('referenceForward: inputIds is empty; pass at least the [CLS] token.');
  if (n > config.maxPositionEmbeddings) {
    throw new RangeError(
      `referenceForward: ${n} input tokens exceed max_position_embeddings ${config.maxPositionEmbeddings}; truncate the input.`,
    );
  }
  if (tokenTypeIds.length !== n) {
    throw new RangeError(`referenceForward: tokenTypeIds has ${tokenTypeIds.length} entries but inputIds has ${n}; pass one per token.`);
  }

  const words = weight(weights, 'embeddings.word_embeddings.weight');
  const positionTable = weight(weights, 'embeddings.position_embeddings.weight');
  const types = weight(weights, 'embeddings.token_type_embeddings.weight');
  const sum = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const id = inputIds[i];
    const type = tokenTypeIds[i];
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new RangeError(`referenceForward: input id ${id} at position ${i} is outside the vocabulary [0, ${config.vocabSize}).`);
    }
    if (!Number.isInteger(type) || type < 0 || type >= config.typeVocabSize) {
      throw new RangeError(`referenceForward: token type ${type} at position ${i} is outside [0, ${config.typeVocabSize}).`);
    }
    for (let k = 0; k < d; k++) {
      sum[i * d + k] = words[id * d + k] + positionTable[i * d + k] + types[type * d + k];
    }
  }
  return layerNorm(
    sum,
    n,
    d,
    weight(weights, 'embeddings.LayerNorm.weight'),
    weight(weights, 'embeddings.LayerNorm.bias'),
    eps,
  );
}

/** Attention probabilities [H, rows, rows] from packed q | k | v rows; the FCA authors' variant masks differently. */
export type ProbabilityFunction = (qkv: Float64Array, rows: number, hiddenSize: number, numHeads: number) => Float64Array;

/**
 * Runs self-attention, the output projection, the residual add and LayerNorm.
 * Returns Y [rows, D] and P [H, rows, rows]. `eps` defaults to the config's.
 */
export function attentionSubLayer(
  config: BertConfig,
  weights: BertWeights,
  prefix: string,
  hidden: Float64Array,
  rows: number,
  probabilities: ProbabilityFunction = attentionProbabilities,
  eps = config.layerNormEps,
): { output: Float64Array; probs: Float64Array } {
  const d = config.hiddenSize;
  const projection = (name: string): Float64Array =>
    linear(hidden, rows, d, weight(weights, `${prefix}attention.self.${name}.weight`), weight(weights, `${prefix}attention.self.${name}.bias`), d);
  const q = projection('query');
  const k = projection('key');
  const v = projection('value');

  const qkv = new Float64Array(rows * 3 * d);
  for (let i = 0; i < rows; i++) {
    qkv.set(q.subarray(i * d, (i + 1) * d), i * 3 * d);
    qkv.set(k.subarray(i * d, (i + 1) * d), i * 3 * d + d);
    qkv.set(v.subarray(i * d, (i + 1) * d), i * 3 * d + 2 * d);
  }

  const probs = probabilities(qkv, rows, d, config.numHeads);
  const context = attentionContext(probs, qkv, rows, d, config.numHeads);

  const projected = linear(
    context,
    rows,
    d,
    weight(weights, `${prefix}attention.output.dense.weight`),
    weight(weights, `${prefix}attention.output.dense.bias`),
    d,
  );
  addInPlace(projected, hidden);
  const output = layerNorm(
    projected,
    rows,
    d,
    weight(weights, `${prefix}attention.output.LayerNorm.weight`),
    weight(weights, `${prefix}attention.output.LayerNorm.bias`),
    eps,
  );
  return { output, probs };
}

/** Scores the tokens from P and reduces Y as planned for this layer. */
function reduceLayer(
  probs: Float64Array,
  y: Float64Array,
  rows: number,
  width: number,
  numHeads: number,
  step: LayerStep,
  clusters: number,
  weighting: 'weighted' | 'mean',
): { hidden: Float64Array; rows: number; positions: number[] } {
  const scores = attentionColumnScores(probs, rows, numHeads);
  const reduced = reduceSequence(y, rows, width, scores, step.fine, clusters, weighting);
  if (reduced.rows !== step.nOut) {
    throw new Error(`internal error: the plan expects ${step.nOut} tokens after reduction but reduceSequence returned ${reduced.rows}`);
  }
  return reduced;
}

/** Token counts after a reduction: a fine row keeps its count, a cluster sums its tail group's counts. */
function mergedCounts(counts: number[], positions: number[]): number[] {
  const fine = new Set(positions.filter((source) => source >= 0));
  const tail = counts.map((_, row) => row).filter((row) => !fine.has(row));
  const clusters = positions.filter((source) => source < 0).length;
  const groups = clusterGroups(tail.length, clusters);
  return positions.map((source) => {
    if (source >= 0) return counts[source];
    const cluster = -1 - source;
    return tail.reduce((sum, row, q) => (groups[q] === cluster ? sum + counts[row] : sum), 0);
  });
}

/** Runs the intermediate dense layer and GELU, the output dense layer, the residual add of Y and LayerNorm (`eps` defaults to the config's). */
export function feedForwardSubLayer(config: BertConfig, weights: BertWeights, prefix: string, y: Float64Array, rows: number, eps = config.layerNormEps): Float64Array {
  const d = config.hiddenSize;
  const f = config.intermediateSize;
  const intermediate = linear(y, rows, d, weight(weights, `${prefix}intermediate.dense.weight`), weight(weights, `${prefix}intermediate.dense.bias`), f);
  for (let i = 0; i < intermediate.length; i++) intermediate[i] = gelu(intermediate[i]);

  const output = linear(intermediate, rows, f, weight(weights, `${prefix}output.dense.weight`), weight(weights, `${prefix}output.dense.bias`), d);
  addInPlace(output, y);
  return layerNorm(output, rows, d, weight(weights, `${prefix}output.LayerNorm.weight`), weight(weights, `${prefix}output.LayerNorm.bias`), eps);
}

function addInPlace(target: Float64Array, addend: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i] += addend[i];
}
