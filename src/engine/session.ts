import { authorsSettings, planAuthorsLayers } from '../fca/authors-plan.js';
import { encoderFlops } from '../fca/flops.js';
import { calibrateClassifier, type CalibrationResult, type CalibrationStep, type CalibrationVariant } from '../fca/calibrate.js';
import { DEFAULT_CLUSTERS, RetentionError, resolveFcaOptions, tokensPerLayer } from '../fca/retention.js';
import type { BertConfig } from '../model/config.js';
import { loadModelFiles, type ModelFiles } from '../model/load.js';
import type { BertTokenizer, EncodedInput } from '../model/tokenizer.js';
import { BufferPool } from '../gpu/buffers.js';
import { createGpuContext, type GpuContext } from '../gpu/device.js';
import { PipelineCache } from '../gpu/pipelines.js';
import { TimestampProfiler } from '../gpu/profiler.js';
import {
  DeviceError,
  InputError,
  type ChoiceResult,
  type ClassifyInput,
  type ClassifyOptions,
  type ClassifyResult,
  type EmbedOptions,
  type EmbedResult,
  type KernelProfile,
  type LayerTrace,
  type LoadModelOptions,
  type ModelSource,
  type MultipleChoiceInput,
  type MultipleChoiceResult,
  type RunOptions,
} from '../types.js';
import { uploadWeights, type GpuWeights } from './gpu-weights.js';
import { attachDispatchProfiler } from './kernels.js';
import { Scheduler, type PassHead, type SequenceOutput } from './scheduler.js';

/** Milliseconds a failed pass waits for the device-lost report before it throws its own error. */
const LOSS_REPORT_WAIT_MS = 100;

/** Default number of sequences padded into one forward pass. */
export const DEFAULT_BATCH_SIZE = 8;

/** Options of FcaModel.calibrate(). */
export interface CalibrateOptions {
  /** FLOPs budget: total FCA encoder FLOPs over total dense FLOPs on the calibration texts, such as 0.5. */
  flopsRatio: number;
  /** Clusters per layer, `K`; default 2, or 0 with variant 'drop'. */
  clusters?: number;
  /** Merging rule for the tail tokens; default 'weighted'. */
  variant?: CalibrationVariant;
  /** Sequences per forward pass; defaults to the model's. */
  batchSize?: number;
  /** Maximum number of FCA passes over the texts (schedules evaluated); default 24. */
  maxEvaluations?: number;
  /** Retention fractions to choose from, each in (0, 1]; default DEFAULT_CANDIDATES: 1, 0.9, ..., 0.5, 0.45, ..., 0.05, 0.02, 0.01. */
  candidates?: number[];
  /** Called after each evaluated schedule. */
  onProgress?: (step: CalibrationStep) => void;
}

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
  private profiler: TimestampProfiler | null = null;

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
    await this.pipelines.prepare(this.scheduler.kernels());
  }

  /** Pipelines compiled so far on this model's device. */
  get pipelinesCreated(): number {
    return this.pipelines.created;
  }

  /** Bytes of GPU memory held by the weights and the activation pool. */
  get gpuBytes(): number {
    return this.weights.bytes + this.pool.bytesHeld;
  }

  /**
   * Starts timing every kernel of the following passes with timestamp queries, one compute pass
   * per dispatch, which makes passes slower. Needs a device with 'timestamp-query' (loadModel with
   * `profile: true`). Waits for the calls already queued, so they are not profiled.
   */
  startProfiling(): Promise<void> {
    return this.enqueue(async () => {
      if (this.profiler) return;
      if (!this.gpu.device.features.has('timestamp-query')) {
        throw new DeviceError(
          `this device has no 'timestamp-query' feature (adapter: ${this.adapterDescription}); load the model with { profile: true } on an adapter that offers it.`,
        );
      }
      this.profiler = new TimestampProfiler(this.gpu.device);
      attachDispatchProfiler(this.gpu.device, this.profiler);
    });
  }

  /** Stops profiling after the calls already queued and returns the GPU time per kernel of the profiled passes. */
  stopProfiling(): Promise<KernelProfile> {
    return this.enqueue(async () => {
      const profiler = this.profiler;
      if (!profiler) throw new InputError('stopProfiling() was called without startProfiling(); call startProfiling() first.');
      attachDispatchProfiler(this.gpu.device, null);
      this.profiler = null;
      try {
        return await profiler.collect();
      } finally {
        profiler.destroy();
      }
    });
  }

  /** Splits an input into the token sequence classify() runs, after truncation. */
  encode(input: ClassifyInput): EncodedInput {
    const maxLength = this.config.maxPositionEmbeddings;
    if (typeof input === 'string') return this.tokenizer.encode(nonEmpty(input), null, maxLength);
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
      return this.tokenizer.encode(nonEmpty(input.text), pair, maxLength);
    }
    throw new InputError(`expected a "text" string or an "input_ids" array, got ${JSON.stringify(input).slice(0, 200)}.`);
  }

  /**
   * Classifies each input with a sequence-classification head and returns the
   * results in input order. All inputs and options are validated before any
   * GPU work, so a bad input fails the call without a partial result.
   */
  classify(inputs: ClassifyInput | ClassifyInput[], options: ClassifyOptions = {}): Promise<ClassifyResult[]> {
    return this.enqueue(async () => {
      this.requireArchitecture('BertForSequenceClassification', 'classify', 'use embed() for a BertModel and chooseAnswer() for BertForMultipleChoice');
      const encoded = this.encodeAll(Array.isArray(inputs) ? inputs : [inputs]);
      const outputs = await this.runSequences(encoded, options, { kind: 'classifier' });
      return outputs.map((output, i) => this.classifyResult(output, encoded[i]));
    });
  }

  /**
   * Scores each choice of each question with a BertForMultipleChoice head: the
   * pair (text, choice) is encoded per choice and one softmax runs across choices.
   */
  chooseAnswer(questions: MultipleChoiceInput | MultipleChoiceInput[], options: ClassifyOptions = {}): Promise<MultipleChoiceResult[]> {
    return this.enqueue(async () => {
      this.requireArchitecture('BertForMultipleChoice', 'chooseAnswer', 'use classify() for BertForSequenceClassification');
      const list = Array.isArray(questions) ? questions : [questions];
      list.forEach((question, index) => {
        if (!question || typeof question.text !== 'string' || !Array.isArray(question.choices) || question.choices.length === 0 || question.choices.some((c) => typeof c !== 'string')) {
          throw new InputError(`question ${index}: expected {text: string, choices: string[]} with at least one choice, got ${JSON.stringify(question).slice(0, 200)}.`);
        }
        nonEmpty(question.text, `question ${index}: `);
      });
      const pairs = list.flatMap((question) => question.choices.map((choice) => ({ text: question.text, text_pair: choice })));
      const encoded = this.encodeAll(pairs);
      const outputs = await this.runSequences(encoded, options, { kind: 'classifier' });
      let next = 0;
      return list.map((question) => {
        const choiceOutputs = question.choices.map(() => next++);
        const logits = choiceOutputs.map((i) => outputs[i].values[0]);
        const probabilities = softmax(logits);
        const best = argmax(probabilities);
        const choices: ChoiceResult[] = choiceOutputs.map((i) => {
          const { tokens_per_layer, flops, truncated, tokens, trace } = this.classifyResult(outputs[i], encoded[i]);
          return trace ? { tokens_per_layer, flops, truncated, tokens, trace } : { tokens_per_layer, flops, truncated, tokens };
        });
        return {
          label: question.choices[best],
          label_id: best,
          probabilities,
          logits,
          tokens_per_layer: choices[0].tokens_per_layer.map((_, l) => choices.reduce((sum, c) => sum + c.tokens_per_layer[l], 0)),
          flops: choices.reduce((sum, c) => sum + c.flops, 0),
          truncated: choices.some((c) => c.truncated),
          choices,
        };
      });
    });
  }

  /** Returns a sentence embedding per input from the encoder's last layer (any BERT architecture). */
  embed(inputs: ClassifyInput | ClassifyInput[], options: EmbedOptions = {}): Promise<EmbedResult[]> {
    return this.enqueue(async () => {
      const pooling = options.pooling ?? 'mean';
      if (pooling !== 'mean' && pooling !== 'cls') {
        throw new InputError(`pooling must be 'mean' or 'cls', got ${JSON.stringify(pooling)}.`);
      }
      const encoded = this.encodeAll(Array.isArray(inputs) ? inputs : [inputs]);
      const outputs = await this.runSequences(encoded, options, { kind: 'pooling', pooling });
      return outputs.map((output, i) => {
        const result: EmbedResult = {
          embedding: output.values,
          tokens_per_layer: tokensPerLayer(output.steps),
          flops: encoderFlops(output.steps, this.config),
          truncated: encoded[i].truncated,
          tokens: encoded[i].tokens,
        };
        if (output.layers) result.trace = layerTraces(output);
        return result;
      });
    });
  }

  /**
   * Searches non-increasing per-layer retention fractions whose FLOPs ratio on
   * `texts` is at most `options.flopsRatio` and whose predictions stay closest
   * to the dense ones: highest top-label agreement, then lowest mean
   * KL(dense || FCA). Runs one dense pass over `texts`, then one FCA pass per
   * evaluated schedule (at most `maxEvaluations`). The texts need no labels.
   * Throws CalibrationError when the budget is below the lowest reachable ratio.
   */
  async calibrate(texts: ClassifyInput[], options: CalibrateOptions): Promise<CalibrationResult> {
    this.checkUsable();
    this.requireArchitecture('BertForSequenceClassification', 'calibrate', 'calibration compares the label predictions of a classifier');
    if (this.config.regression) {
      throw new InputError('calibrate needs a classifier with labels, but this model has one regression output; calibrate a classification checkpoint.');
    }
    if (!Array.isArray(texts) || texts.length === 0) {
      throw new InputError('calibrate needs at least one input text; a few hundred unlabeled texts give a stable estimate.');
    }
    if (typeof options !== 'object' || options === null) {
      throw new InputError(`calibrate needs options with a flopsRatio, such as { flopsRatio: 0.5 }, got ${JSON.stringify(options)}.`);
    }
    const inputLengths = this.encodeAll(texts).map((input) => input.inputIds.length);
    const { flopsRatio, variant, batchSize, candidates, maxEvaluations, onProgress } = options;
    return calibrateClassifier({
      numLayers: this.config.numLayers,
      inputLengths,
      flopsShape: this.config,
      targetRatio: flopsRatio,
      clusters: options.clusters ?? (variant === 'drop' ? 0 : DEFAULT_CLUSTERS),
      variant,
      candidates,
      maxEvaluations,
      onProgress,
      classify: (fca) => this.classify(texts, { ...fca, batchSize }),
    });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      this.checkUsable();
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private requireArchitecture(architecture: BertConfig['architecture'], method: string, hint: string): void {
    if (this.config.architecture !== architecture) {
      throw new InputError(`${method} needs a ${architecture} checkpoint but this one is ${this.config.architecture}; ${hint}.`);
    }
  }

  private encodeAll(list: ClassifyInput[]): EncodedInput[] {
    return list.map((input, index) => {
      try {
        return this.encode(input);
      } catch (error) {
        if (error instanceof InputError && list.length > 1) throw new InputError(`input ${index}: ${error.message}`);
        throw error;
      }
    });
  }

  private async runSequences(encoded: EncodedInput[], options: RunOptions, head: PassHead): Promise<SequenceOutput[]> {
    const fca = resolveFcaOptions(options, this.config.numLayers);
    if (fca?.variant === 'reference') {
      // Every input must fit the padded length: check them all before any GPU work.
      const settings = authorsSettings(fca);
      encoded.forEach((input, index) => {
        try {
          planAuthorsLayers(input.inputIds.length, settings, this.config);
        } catch (error) {
          if (error instanceof RetentionError && encoded.length > 1) throw new RetentionError(`input ${index}: ${error.message}`);
          throw error;
        }
      });
    }
    const batchSize = options.batchSize ?? this.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new InputError(`batchSize must be a positive integer, got ${JSON.stringify(batchSize)}.`);
    }
    const outputs: SequenceOutput[] = [];
    for (let start = 0; start < encoded.length; start += batchSize) {
      const batch = encoded.slice(start, start + batchSize);
      try {
        outputs.push(...(await this.scheduler.run(batch, { fca, head, trace: options.trace ?? false })));
      } catch (error) {
        // When a lost device made the pass fail, device.lost may resolve just after the failure.
        await Promise.race([this.gpu.device.lost, new Promise((resolve) => setTimeout(resolve, LOSS_REPORT_WAIT_MS))]);
        this.checkUsable();
        throw error;
      }
    }
    return outputs;
  }

  private classifyResult(output: SequenceOutput, input: EncodedInput): ClassifyResult {
    const logits = output.values;
    const regression = this.config.regression;
    const probabilities = regression ? [] : softmax(logits);
    const labelId = regression ? 0 : argmax(probabilities);
    const result: ClassifyResult = {
      label: this.config.labels[labelId],
      label_id: labelId,
      probabilities,
      logits,
      tokens_per_layer: tokensPerLayer(output.steps),
      flops: encoderFlops(output.steps, this.config),
      truncated: input.truncated,
      tokens: input.tokens,
    };
    if (regression) result.score = logits[0];
    if (output.layers) result.trace = layerTraces(output);
    return result;
  }

  /** Releases the model's GPU buffers; later calls fail. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.destroy();
    if (this.profiler) {
      attachDispatchProfiler(this.gpu.device, null);
      this.profiler.destroy();
      this.profiler = null;
    }
    for (const buffer of this.weights.all) buffer.destroy();
  }

  private checkUsable(): void {
    if (this.gpu.lost) throw this.gpu.lost;
    if (this.disposed) throw new DeviceError('this model was disposed; call loadModel() again.');
  }
}

/** Loads a Hugging Face BERT folder, uploads it to a WebGPU device and compiles the kernels. */
export async function loadModel(source: ModelSource, options: LoadModelOptions & SessionOptions = {}): Promise<FcaModel> {
  const gpu = await createGpuContext(options.device, options.powerPreference, { timestampQuery: options.profile });
  const files = await loadModelFiles(source, options.onProgress);
  options.onProgress?.('compiling kernels');
  const model = new FcaModel(files, gpu, options);
  await model.warmUp();
  return model;
}

/** Returns `text`, or throws an InputError, its message starting with `where`, when it has nothing but white space. */
function nonEmpty(text: string, where = ''): string {
  if (text.trim() === '') throw new InputError(`${where}the text ${JSON.stringify(text)} is empty; pass at least one word.`);
  return text;
}

/** Softmax in double precision. */
export function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, v) => a + v, 0);
  return exps.map((v) => v / sum);
}

function layerTraces(output: SequenceOutput): LayerTrace[] {
  return output.layers!.map((layer, l) => ({ ...layer, fine: output.steps[l].fine, clusters: output.steps[l].clusters }));
}

function argmax(values: number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
