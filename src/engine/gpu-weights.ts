import type { BertConfig } from '../model/config.js';
import type { BertWeights } from '../model/tensor.js';
import { weight } from '../model/weights.js';
import { uploadStorage } from '../gpu/buffers.js';
import { chooseGemmVariant, gemmDeviceFacts, gemmWeightStorage, type GemmVariant } from '../gpu/tuning.js';

/** A linear layer on the GPU: weight transposed to [in, outPadded], bias padded to outPadded. */
export interface GpuLinear {
  /** A storage buffer or a texture, as the model's GEMM variant reads it (see uploadGemmWeight). */
  weight: GPUBuffer | GPUTexture;
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
  /** The GEMM kernels every linear layer above is uploaded for (src/gpu/tuning.ts chooses them per adapter). */
  gemmVariant: GemmVariant;
  /** Every buffer and texture above, for dispose(). */
  all: Array<GPUBuffer | GPUTexture>;
  bytes: number;
}

/**
 * Transposes PyTorch linear weights ([out, in], one or more stacked along
 * out) into one [in, outPadded] matrix with zero columns past the real outputs.
 */
export function transposeLinear(parts: Float32Array[], outPerPart: number, inFeatures: number, outPadded: number): Float32Array<ArrayBuffer> {
  const result = new Float32Array(inFeatures * outPadded);
  parts.forEach((part, p) => {
    for (let o = 0; o < outPerPart; o++) {
      const column = p * outPerPart + o;
      for (let i = 0; i < inFeatures; i++) result[i * outPadded + column] = part[o * inFeatures + i];
    }
  });
  return result;
}

/**
 * Uploads a transposed [inFeatures, outPadded] weight (see transposeLinear) in
 * the storage that `variant` reads: a storage buffer, or an rgba32float texture
 * of outPadded / 4 x inFeatures texels whose texel (c, k) is w[k, 4c .. 4c + 3].
 */
export function uploadGemmWeight(
  device: GPUDevice,
  variant: GemmVariant,
  label: string,
  data: Float32Array<ArrayBuffer>,
  inFeatures: number,
  outPadded: number,
): GPUBuffer | GPUTexture {
  if (gemmWeightStorage(variant) === 'buffer') return uploadStorage(device, label, data);
  const size = [outPadded / 4, inFeatures];
  const texture = device.createTexture({ label, size, format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
  device.queue.writeTexture({ texture }, data, { bytesPerRow: outPadded * 4, rowsPerImage: inFeatures }, size);
  return texture;
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
  const d = config.hiddenSize;
  const f = config.intermediateSize;
  const classifies = config.architecture !== 'BertModel';
  const outputs = config.architecture === 'BertForMultipleChoice' ? 1 : config.labels.length;
  const padded = (width: number) => Math.ceil(width / 4) * 4;
  const largestWeight = { inFeatures: Math.max(d, f), outPadded: Math.max(padded(3 * d), padded(f), padded(outputs)) };
  const gemmVariant = chooseGemmVariant(gemmDeviceFacts(device), largestWeight);

  const all: Array<GPUBuffer | GPUTexture> = [];
  const upload = (label: string, data: Float32Array): GPUBuffer => {
    const buffer = uploadStorage(device, label, data);
    all.push(buffer);
    return buffer;
  };
  const linear = (label: string, names: string[], inFeatures: number, outPerPart: number): GpuLinear => {
    const outPadded = Math.ceil((names.length * outPerPart) / 4) * 4;
    const matrices = names.map((name) => weight(weights, `${name}.weight`));
    const biases = names.map((name) => weight(weights, `${name}.bias`));
    const weightData = transposeLinear(matrices, outPerPart, inFeatures, outPadded);
    const linearWeight = uploadGemmWeight(device, gemmVariant, `${label}.weight`, weightData, inFeatures, outPadded);
    all.push(linearWeight);
    return {
      weight: linearWeight,
      bias: upload(`${label}.bias`, concatPadded(biases, outPadded)),
      inFeatures,
      outputs: names.length * outPerPart,
      outPadded,
    };
  };
  const norm = (label: string, prefix: string): GPUBuffer =>
    upload(label, concatPadded([weight(weights, `${prefix}.weight`), weight(weights, `${prefix}.bias`)], 2 * config.hiddenSize));

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

  const result: GpuWeights = {
    wordEmbeddings: upload('embeddings.word_embeddings', weight(weights, 'embeddings.word_embeddings.weight')),
    positionEmbeddings: upload('embeddings.position_embeddings', weight(weights, 'embeddings.position_embeddings.weight')),
    typeEmbeddings: upload('embeddings.token_type_embeddings', weight(weights, 'embeddings.token_type_embeddings.weight')),
    embeddingNorm: norm('embeddings.LayerNorm', 'embeddings.LayerNorm'),
    layers,
    pooler: classifies ? linear('pooler.dense', ['pooler.dense'], d, d) : null,
    classifier: classifies ? linear('classifier', ['classifier'], d, outputs) : null,
    gemmVariant,
    all,
    bytes: 0,
  };
  // An rgba32float texel is 16 bytes.
  result.bytes = all.reduce((sum, item) => sum + ('size' in item ? item.size : item.width * item.height * 16), 0);
  return result;
}
