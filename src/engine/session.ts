import { encoderFlops } from '../fca/flops.js';
import { resolveFcaOptions, tokensPerLayer } from '../fca/retention.js';
import type { BertConfig } from '../model/config.js';
import { loadModelFiles, type ModelFiles } from '../model/load.js';
import type { BertTokenizer, EncodedInput } from '../model/tokenizer.js';
import { BufferPool } from '../gpu/buffers.js';
import { createGpuContext, type GpuContext } from '../gpu/device.js';
import { PipelineCache } from '../gpu/pipelines.js';
import {
  DeviceError,
  InputError,
  type ClassifyInput,
  type ClassifyOptions,
  type ClassifyResult,
  type LoadModelOptions,
  type ModelSource,
} from '../types.js';
import { uploadWeights, type GpuWeights } from './gpu-weights.js';
import { Scheduler } from './scheduler.js';

/** Default number of sequences padded into one forward pass. */
export const DEFAULT_BATCH_SIZE = 8;

export interface SessionOptions {
  /** Largest number of inputs encoded in one forward pass; longer lists are split. */
  batchSize?: number;
}

/** A BERT model loaded on a WebGPU device. */
export class FcaModel {
  readonly config: BertConfig;
  readonly adapterDescription: string;
  private readonly tokenizer: BertTokenizer;
  private readonly gpu: GpuContext;
  private readonly weights: GpuWeights;
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly scheduler: Scheduler;
  private readonly batchSize: number;
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  /** Use loadModel(); the constructor expects files already parsed and a device already created. */
  constructor(files: ModelFiles, gpu: GpuContext, options: SessionOptions = {}) {
    this.config = files.config;
    this.tokenizer = files.tokenizer;
    this.gpu = gpu;
    this.adapterDescription = gpu.adapterDescription;
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new InputError(`batchSize must be a positive integer, got ${JSON.stringify(batchSize)}.`);
    }
    this.batchSize = batchSize;
    this.weights = uploadWeights(gpu.device, files.config, files.weights);
    this.pool = new BufferPool(gpu.device);
    this.pipelines = new PipelineCache(gpu.device);
    this.scheduler = new Scheduler(gpu.device, files.config, this.weights, this.pipelines, this.pool);
  }

  /** Compiles every kernel; loadModel() calls it so the first classify() does not wait for compilation. */
  async warmUp(): Promise<void> {
    await this.pipelines.prepare(Scheduler.kernels());
  }

  /** Pipelines compiled so far on this model's device. */
  get pipelinesCreated(): number {
    return this.pipelines.created;
  }

  /** Bytes of GPU memory held by the weights and the activation pool. */
  get gpuBytes(): number {
    return this.weights.bytes + this.pool.bytesHeld;
  }

  /** Splits an input into the token sequence classify() runs, after truncation. */
  encode(input: ClassifyInput): EncodedInput {
    const maxLength = this.config.maxPositionEmbeddings;
    if (typeof input === 'string') return this.tokenizer.encode(input, null, maxLength);
    if (typeof input !== 'object' || input === null) {
      throw new InputError(`expected a string, {text, text_pair?} or {input_ids, token_type_ids?}, got ${JSON.stringify(input)}.`);
    }
    if ('input_ids' in input && input.input_ids !== undefined) {
      return this.tokenizer.encodeIds(input.input_ids, input.token_type_ids, maxLength, this.config.typeVocabSize);
    }
    if ('text' in input && typeof input.text === 'string') {
      const pair = input.text_pair;
      if (pair !== undefined && pair !== null && typeof pair !== 'string') {
        throw new InputError(`text_pair must be a string, got ${JSON.stringify(pair)}.`);
      }
      return this.tokenizer.encode(input.text, pair, maxLength);
    }
    throw new InputError(`expected a "text" string or an "input_ids" array, got ${JSON.stringify(input).slice(0, 200)}.`);
  }

  /**
   * Classifies each input and returns the results in input order. All inputs
   * and options are validated before any GPU work, so a bad input fails the
   * call without a partial result.
   */
  classify(inputs: ClassifyInput | ClassifyInput[], options: ClassifyOptions = {}): Promise<ClassifyResult[]> {
    const run = this.queue.then(() => this.classifyNow(inputs, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async classifyNow(inputs: ClassifyInput | ClassifyInput[], options: ClassifyOptions): Promise<ClassifyResult[]> {
    this.checkUsable();
    if (this.config.architecture !== 'BertForSequenceClassification') {
      throw new InputError(`classify needs a BertForSequenceClassification checkpoint; this one is ${this.config.architecture}.`);
    }
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const fca = resolveFcaOptions(options, this.config.numLayers);
    const encoded = list.map((input, index) => {
      try {
        return this.encode(input);
      } catch (error) {
        if (error instanceof InputError && list.length > 1) throw new InputError(`input ${index}: ${error.message}`);
        throw error;
      }
    });

    const results: ClassifyResult[] = [];
    for (let start = 0; start < encoded.length; start += this.batchSize) {
      const batch = encoded.slice(start, start + this.batchSize);
      let outputs;
      try {
        outputs = await this.scheduler.run(batch, { fca, weighting: 'weighted', trace: options.trace ?? false });
      } catch (error) {
        this.checkUsable();
        throw error;
      }
      outputs.forEach((output, i) => {
        const input = batch[i];
        const probabilities = softmax(output.logits);
        const labelId = argmax(probabilities);
        const result: ClassifyResult = {
          label: this.config.labels[labelId],
          label_id: labelId,
          probabilities,
          logits: output.logits,
          tokens_per_layer: tokensPerLayer(output.steps),
          flops: encoderFlops(output.steps, this.config),
          truncated: input.truncated,
          tokens: input.tokens,
        };
        if (output.positions) result.trace = output.positions.map((positions) => ({ positions }));
        results.push(result);
      });
    }
    return results;
  }

  /** Releases the model's GPU buffers; later calls fail. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.destroy();
    for (const buffer of this.weights.all) buffer.destroy();
  }

  private checkUsable(): void {
    if (this.gpu.lost) throw this.gpu.lost;
    if (this.disposed) throw new DeviceError('this model was disposed; call loadModel() again.');
  }
}

/** Loads a Hugging Face BERT folder, uploads it to a WebGPU device and compiles the kernels. */
export async function loadModel(source: ModelSource, options: LoadModelOptions & SessionOptions = {}): Promise<FcaModel> {
  const gpu = await createGpuContext(options.device, options.powerPreference);
  const files = await loadModelFiles(source, options.onProgress);
  options.onProgress?.('compiling kernels');
  const model = new FcaModel(files, gpu, options);
  await model.warmUp();
  return model;
}

/** Softmax in double precision. */
export function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, v) => a + v, 0);
  return exps.map((v) => v / sum);
}

function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
