import type { FcaOptions } from './fca/retention.js';

/**
 * Where a model folder comes from: a URL of a folder that contains `config.json`,
 * `model.safetensors` and `tokenizer.json` or `vocab.txt` (fetched), or the
 * folder's files as browser `File` objects (for example from
 * `<input type="file" webkitdirectory>`).
 */
export type ModelSource = string | URL | FileList | Iterable<File>;

export interface LoadModelOptions {
  /** Device to run on; by default the engine requests an adapter and a device of its own. */
  device?: GPUDevice;
  /** Passed to `navigator.gpu.requestAdapter` when the engine creates its own device. */
  powerPreference?: GPUPowerPreference;
  /** Called with a short message as each file loads. */
  onProgress?: (message: string) => void;
  /**
   * Request the adapter's 'timestamp-query' feature so that FcaModel.startProfiling() can time each
   * kernel. Passes run as usual until profiling starts. Ignored when `device` is given.
   */
  profile?: boolean;
}

/** One input: plain text, a text pair, or pre-tokenized ids (`input_ids` wins when both are given). */
export type ClassifyInput =
  | string
  | { text: string; text_pair?: string | null }
  | { input_ids: number[]; token_type_ids?: number[] };

/** One multiple-choice question: each choice is encoded as the pair (text, choice), as BertForMultipleChoice expects. */
export interface MultipleChoiceInput {
  text: string;
  choices: string[];
}

export interface RunOptions extends FcaOptions {
  /** Also return, per layer, what FCA did (see LayerTrace). */
  trace?: boolean;
  /** Largest number of sequences padded into one forward pass; longer lists are split. Defaults to the model's. */
  batchSize?: number;
}

export type ClassifyOptions = RunOptions;

export interface EmbedOptions extends RunOptions {
  /** 'mean' (default): mean of the final tokens, each FCA cluster weighted by the original tokens it stands for; 'cls': the final [CLS] row. */
  pooling?: 'mean' | 'cls';
}

/** Record of one layer's reduction of a sequence. */
export interface LayerTrace {
  /**
   * For each token of the layer's output: its original input position, or -1 for a cluster. Variant
   * 'reference' also gives -2 for a padding row and for a cluster whose slots are all zero padding.
   */
  positions: number[];
  /** For each output token: how many original tokens it stands for (a cluster counts its members'; padding rows count 0). */
  tokenCounts: number[];
  /** For each input token of the layer: the attention it receives from the other tokens, mean over heads. */
  scores: number[];
  /**
   * For each input token of the layer: the index it took in the output. Indices below `fine` are fine
   * tokens; index `fine + c` is cluster c; -1 means the token was dropped.
   */
  destinations: number[];
  /** Fine tokens kept by the layer ([CLS] included); the whole sequence when the layer does not reduce. */
  fine: number;
  /** Clusters the layer appended. */
  clusters: number;
}

export interface ClassifyResult {
  /** Name of the top label (`id2label`). */
  label: string;
  label_id: number;
  /** Softmax of the logits, in label-id order. */
  probabilities: number[];
  logits: number[];
  /**
   * For each layer, the sequence length after its reduction (what its feed-forward sub-layer processes).
   * Variant 'reference' counts the padded sequence: retention count + clusters at every layer.
   */
  tokens_per_layer: number[];
  /**
   * Encoder FLOPs of this pass for this input (2 per multiply-add; embeddings, pooler and classifier excluded).
   * Variant 'reference' counts the padded lengths it processes (paddedLength at layer 0), so its figure is
   * not comparable with the other variants' or with a dense pass over the real tokens.
   */
  flops: number;
  /** Whether the input was cut to the model's maximum length. */
  truncated: boolean;
  /** The input tokens after truncation, [CLS] and [SEP] included. */
  tokens: string[];
  /** Regression heads (one output): the predicted value, also logits[0]; probabilities is then empty. */
  score?: number;
  trace?: LayerTrace[];
}

/** One choice of a multiple-choice result. */
export interface ChoiceResult {
  tokens_per_layer: number[];
  flops: number;
  truncated: boolean;
  tokens: string[];
  trace?: LayerTrace[];
}

/**
 * Result of a multiple-choice question: `logits` and `probabilities` run over the choices,
 * `label` is the best choice's text and `label_id` its index. `tokens_per_layer`
 * and `flops` add up every choice's sequence.
 */
export interface MultipleChoiceResult extends Omit<ClassifyResult, 'tokens' | 'trace' | 'score'> {
  choices: ChoiceResult[];
}

export interface EmbedResult {
  embedding: number[];
  tokens_per_layer: number[];
  flops: number;
  truncated: boolean;
  tokens: string[];
  trace?: LayerTrace[];
}

/** GPU time of one kernel, summed over the profiled passes. */
export interface KernelTime {
  /** Kernel name (the pipeline label). */
  name: string;
  dispatches: number;
  totalMs: number;
}

/**
 * Per-kernel GPU times from timestamp queries (FcaModel.stopProfiling()). Profiled passes run one
 * compute pass per dispatch, so they are slower than normal passes: compare kernels with these
 * times, not the latency of a pass.
 */
export interface KernelProfile {
  /** Forward passes profiled. */
  passes: number;
  /** Per kernel, longest total first. */
  kernels: KernelTime[];
  /** Sum of every dispatch's GPU time. */
  totalMs: number;
}

/** Error raised for an input that cannot be classified; the message names the value and the fix. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Error raised when WebGPU is missing, no adapter is found or the device is lost. */
export class DeviceError extends Error {
  override name = 'DeviceError';
}
