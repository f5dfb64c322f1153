/**
 * fca-webgpu public API: load a Hugging Face BERT folder onto WebGPU and
 * classify texts with a dense pass or with FCA token reduction.
 */
export { loadModel, FcaModel } from './engine/session.js';
export type {
  ModelSource,
  LoadModelOptions,
  ClassifyInput,
  ClassifyOptions,
  ClassifyResult,
  RunOptions,
  EmbedOptions,
  EmbedResult,
  MultipleChoiceInput,
  MultipleChoiceResult,
  ChoiceResult,
  LayerTrace,
  KernelProfile,
  KernelTime,
} from './types.js';
export { InputError, DeviceError } from './types.js';
export type { FcaOptions, FcaVariant } from './fca/retention.js';
export { RetentionError } from './fca/retention.js';
export type { BertConfig } from './model/config.js';
export { ModelLoadError } from './model/config.js';
export type { CalibrateOptions } from './engine/session.js';
export type { CalibrationResult, CalibrationStep, CalibrationVariant, CalibrationScore } from './fca/calibrate.js';
export { CalibrationError, calibrateRetention, DEFAULT_CANDIDATES } from './fca/calibrate.js';
export type { RetentionFile, RetentionFileCalibration } from './fca/retention-file.js';
export { RetentionFileError, parseRetentionFile, readRetentionFile, retentionFileFromCalibration, formatRetentionFile } from './fca/retention-file.js';
