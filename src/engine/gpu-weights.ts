import type { BertConfig } from '../model/config.js';
import type { BertWeights } from '../model/tensor.js';
import { weight } from '../model/weights.js';
import { uploadStorage } from '../gpu/buffers.js';

/** A linear layer on the GPU: weight transposed to [in, outPadded], bias padded to outPadded. */
export interface GpuLinear {
  weight: GPUBuffer;
  bias: GPUBuffer;
  inFeatures: number;
  /** Real output width. */
  outputs: number;
  /** Output width rounded up to a multiple of 4 (the GEMM writes vec4s). */
  outPadded: number;
}

export interface GpuLayer {
  qkv: GpuLinear;
  attentionOutput: GpuLinear;
  attentionNorm: GPUBuffer;
  intermediate: GpuLinear;
  output: GpuLinear;
  outputNorm: GPUBuffer;
}

export interface GpuWeights {
  wordEmbeddings: GPUBuffer;
  positionEmbeddings: GPUBuffer;
  typeEmbeddings: GPUBuffer;
  embeddingNorm: GPUBuffer;
  layers: GpuLayer[];
  pooler: GpuLinear | null;
  classifier: GpuLinear | null;
  /** Every buffer above, for dispose(). */
  all: GPUBuffer[];
  bytes: number;
}

/**
 * Transposes PyTorch linear weights ([out, in], one or more stacked along
 * out) into one [in, outPadded] matrix with zero columns past the real outputs.
 */
export function transposeLinear(parts: Float32Array[], outPerPart: number, inFeatures: number, outPadded: number): Float32Array {
  const result = new Float32Array(inFeatures * outPadded);
  parts.forEach((part, p) => {
    for (let o = 0; o < outPerPart; o++) {
      const column = p * outPerPart + o;
      for (let i = 0; i < inFeatures; i++) result[i * outPadded + column] = part[o * inFeatures + i];
    }
  });
  return result;
}

function concatPadded(parts: Float32Array[], padded: number): Float32Array {
  const result = new Float32Array(padded);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

/** Uploads a resolved checkpoint in the layouts the kernels read. */
export function uploadWeights(device: GPUDevice, config: BertConfig, weights: BertWeights): GpuWeights {
  const all: GPUBuffer[] = [];
  const upload = (label: string, data: Float32Array): GPUBuffer => {
    const buffer = uploadStorage(device, label, data);
    all.push(buffer);
    return buffer;
  };
  const linear = (label: string, names: string[], inFeatures: number, outPerPart: number): GpuLinear => {
    const outPadded = Math.ceil((names.length * outPerPart) / 4) * 4;
    const matrices = names.map((name) => weight(weights, `${name}.weight`));
    const biases = names.map((name) => weight(weights, `${name}.bias`));
    return {
      weight: upload(`${label}.weight`, transposeLinear(matrices, outPerPart, inFeatures, outPadded)),
      bias: upload(`${label}.bias`, concatPadded(biases, outPadded)),
      inFeatures,
      outputs: names.length * outPerPart,
      outPadded,
    };
  };
  const norm = (label: string, prefix: string): GPUBuffer =>
    upload(label, concatPadded([weight(weights, `${prefix}.weight`), weight(weights, `${prefix}.bias`)], 2 * config.hiddenSize));

  const d = config.hiddenSize;
  const f = config.intermediateSize;
  const layers: GpuLayer[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `encoder.layer.${l}`;
    layers.push({
      qkv: linear(`${p}.qkv`, [`${p}.attention.self.query`, `${p}.attention.self.key`, `${p}.attention.self.value`], d, d),
      attentionOutput: linear(`${p}.attention.output.dense`, [`${p}.attention.output.dense`], d, d),
      attentionNorm: norm(`${p}.attention.output.LayerNorm`, `${p}.attention.output.LayerNorm`),
      intermediate: linear(`${p}.intermediate.dense`, [`${p}.intermediate.dense`], d, f),
      output: linear(`${p}.output.dense`, [`${p}.output.dense`], f, d),
      outputNorm: norm(`${p}.output.LayerNorm`, `${p}.output.LayerNorm`),
    });
  }

  const classifies = config.architecture !== 'BertModel';
  const outputs = config.architecture === 'BertForMultipleChoice' ? 1 : config.labels.length;
  const result: GpuWeights = {
    wordEmbeddings: upload('embeddings.word_embeddings', weight(weights, 'embeddings.word_embeddings.weight')),
    positionEmbeddings: upload('embeddings.position_embeddings', weight(weights, 'embeddings.position_embeddings.weight')),
    typeEmbeddings: upload('embeddings.token_type_embeddings', weight(weights, 'embeddings.token_type_embeddings.weight')),
    embeddingNorm: norm('embeddings.LayerNorm', 'embeddings.LayerNorm'),
    layers,
    pooler: classifies ? linear('pooler.dense', ['pooler.dense'], d, d) : null,
    classifier: classifies ? linear('classifier', ['classifier'], d, outputs) : null,
    all,
    bytes: 0,
  };
  result.bytes = all.reduce((sum, buffer) => sum + buffer.size, 0);
  return result;
}
