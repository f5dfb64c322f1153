/**
 * BERT models with seeded random weights, for tests of heads that have no
 * trained checkpoint and for benchmarks at BERT-base shapes. Not part of the
 * public API.
 */
import { parseBertConfig, type BertArchitecture } from '../model/config.js';
import type { ModelFiles } from '../model/load.js';
import type { Tensor } from '../model/tensor.js';
import { BertTokenizer } from '../model/tokenizer.js';
import { expectedWeightShapes, resolveBertWeights } from '../model/weights.js';

export interface RandomModelSpec {
  architecture: BertArchitecture;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  /** Outputs of a sequence classifier (1 makes a regression head); ignored by other architectures. */
  numLabels?: number;
  vocabSize?: number;
  maxPositionEmbeddings?: number;
  seed?: number;
}

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Returns the vocabulary of a random model: the five BERT special tokens, then
 * `w0`, `w1`, ... so that text such as "w3 w17 w5" tokenizes word by word.
 */
export function randomModelVocab(vocabSize: number): string {
  const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const words = Array.from({ length: vocabSize - special.length }, (_, i) => `w${i}`);
  return [...special, ...words].join('\n') + '\n';
}

/** Builds config, weights and tokenizer of a random model. Weights are scaled like BERT's initialisation (std about 0.02 to 0.1). */
export function randomBertFiles(spec: RandomModelSpec): ModelFiles {
  const vocabSize = spec.vocabSize ?? 64;
  const numLabels = spec.numLabels ?? 2;
  const configJson: Record<string, unknown> = {
    architectures: [spec.architecture],
    model_type: 'bert',
    vocab_size: vocabSize,
    hidden_size: spec.hiddenSize,
    num_hidden_layers: spec.numLayers,
    num_attention_heads: spec.numHeads,
    intermediate_size: spec.intermediateSize,
    hidden_act: 'gelu',
    max_position_embeddings: spec.maxPositionEmbeddings ?? 512,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
  };
  if (spec.architecture === 'BertForSequenceClassification') {
    configJson.num_labels = numLabels;
    configJson.id2label = Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [String(i), `LABEL_${i}`]));
  }
  const config = parseBertConfig(configJson);

  const random = seededRandom(spec.seed ?? 1);
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    const isNormWeight = name.endsWith('LayerNorm.weight');
    const isBias = name.endsWith('.bias');
    // LayerNorm gains near 1, biases and embeddings small, matrices scaled by fan-in so activations stay O(1).
    const scale = isNormWeight || isBias ? 0.1 : name.startsWith('embeddings.') ? 0.5 : 1 / Math.sqrt(shape[1] ?? 1);
    for (let i = 0; i < size; i++) data[i] = (isNormWeight ? 1 : 0) + scale * (2 * random() - 1);
    tensors.set(name, { name, dtype: 'F32', shape, data });
  }
  return {
    config,
    weights: resolveBertWeights(tensors, config),
    tokenizer: BertTokenizer.fromVocab(randomModelVocab(vocabSize), { do_lower_case: true }),
  };
}
