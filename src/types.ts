import type { FcaOptions } from './fca/retention.js';

/**
 * Where a model folder comes from: a URL of a folder that holds `config.json`,
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
}

/** One input: plain text, a text pair, or pre-tokenized ids (`input_ids` wins when both are given). */
export type ClassifyInput =
  | string
  | { text: string; text_pair?: string | null }
  | { input_ids: number[]; token_type_ids?: number[] };

export interface ClassifyOptions extends FcaOptions {
  /** Also return, per layer, where each remaining token came from. */
  trace?: boolean;
}

/** What one layer left behind: for each position of its output sequence, the original input position, or -1 for a cluster. */
export interface LayerTrace {
  positions: number[];
}

export interface ClassifyResult {
  /** Name of the top label (`id2label`). */
  label: string;
  label_id: number;
  /** Softmax of the logits, in label-id order. */
  probabilities: number[];
  logits: number[];
  /** For each layer, the sequence length after its reduction (what its feed-forward sub-layer processes). */
  tokens_per_layer: number[];
  /** Encoder FLOPs of this pass for this input (2 per multiply-add; embeddings, pooler and classifier excluded). */
  flops: number;
  /** Whether the input was cut to the model's maximum length. */
  truncated: boolean;
  /** The input tokens after truncation, [CLS] and [SEP] included. */
  tokens: string[];
  trace?: LayerTrace[];
}

/** Error raised for an input that cannot be classified; the message names the value and the fix. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Error raised when WebGPU is missing, no adapter is found or the device is lost. */
export class DeviceError extends Error {
  override name = 'DeviceError';
}
