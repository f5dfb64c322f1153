// Browser side of the command line: src/cli/session.mjs opens this page in
// headless Chromium and calls window.fcaRunner through page.evaluate. Results
// cross the page boundary as plain JSON, and errors as { name, message } so
// that the Node side can tell an InputError from a DeviceError.
import { loadModel } from '../index.js';
import type {
  BertConfig,
  ClassifyInput,
  ClassifyResult,
  EmbedOptions,
  EmbedResult,
  FcaModel,
  MultipleChoiceInput,
  MultipleChoiceResult,
  RunOptions,
} from '../index.js';
import type { CalibrateOptions, CalibrationResult } from '../index.js';

export interface RunnerError {
  name: string;
  message: string;
}

export type RunnerOutcome<T> = { ok: true; value: T } | { ok: false; error: RunnerError };

/** Architecture, labels and shape of the loaded model, as the Node side uses them. */
export interface RunnerModelInfo {
  architecture: BertConfig['architecture'];
  labels: string[];
  /** Whether a sequence classifier predicts a score (one output) instead of a label. */
  regression: boolean;
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
}

/** Options of one run; `pooling` is used by BertModel checkpoints only. */
export type RunnerOptions = RunOptions & Pick<EmbedOptions, 'pooling'>;

export type RunnerInput = ClassifyInput | MultipleChoiceInput;
export type RunnerResult = ClassifyResult | MultipleChoiceResult | EmbedResult;

export interface FcaRunner {
  load(modelUrl: string): Promise<RunnerOutcome<RunnerModelInfo>>;
  /**
   * Runs the loaded model with the method its architecture has:
   * classify() for BertForSequenceClassification, chooseAnswer() for
   * BertForMultipleChoice and embed() for BertModel.
   */
  run(inputs: RunnerInput[], options: RunnerOptions): Promise<RunnerOutcome<RunnerResult[]>>;
  /** Calibrates retention on `texts` with FcaModel.calibrate(); progress callbacks cannot cross the page boundary. */
  calibrate(texts: ClassifyInput[], options: Omit<CalibrateOptions, 'onProgress'>): Promise<RunnerOutcome<CalibrationResult>>;
  dispose(): void;
}

declare global {
  interface Window {
    fcaRunner: FcaRunner;
    fcaRunnerReady: boolean;
    /** Set by runner.html when this module or an import fails to load. */
    fcaRunnerStartError?: string;
  }
}

let model: FcaModel | null = null;

function toRunnerError(error: unknown): RunnerError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

async function checkWebGpu(): Promise<RunnerError | null> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    return {
      name: 'DeviceError',
      message:
        'WebGPU is not available in this page (navigator.gpu is undefined). Chromium needs --enable-unsafe-webgpu, ' +
        'and --enable-unsafe-swiftshader on machines without a GPU, and the page must be served from 127.0.0.1 or https.',
    };
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) {
    return {
      name: 'DeviceError',
      message:
        'navigator.gpu.requestAdapter() found no WebGPU adapter. Check the GPU driver, or start Chromium with ' +
        '--enable-unsafe-swiftshader to use the CPU fallback.',
    };
  }
  return null;
}

async function load(modelUrl: string): Promise<RunnerOutcome<RunnerModelInfo>> {
  try {
    const unavailable = await checkWebGpu();
    if (unavailable) return { ok: false, error: unavailable };
    model?.dispose();
    model = null;
    model = await loadModel(modelUrl);
    const config = model.config;
    return {
      ok: true,
      value: {
        architecture: config.architecture,
        labels: config.labels,
        regression: config.regression,
        numLayers: config.numLayers,
        hiddenSize: config.hiddenSize,
        intermediateSize: config.intermediateSize,
        maxPositionEmbeddings: config.maxPositionEmbeddings,
      },
    };
  } catch (error) {
    return { ok: false, error: toRunnerError(error) };
  }
}

function runModel(loaded: FcaModel, inputs: RunnerInput[], options: RunnerOptions): Promise<RunnerResult[]> {
  const { pooling, ...runOptions } = options;
  switch (loaded.config.architecture) {
    case 'BertForSequenceClassification':
      return loaded.classify(inputs as ClassifyInput[], runOptions);
    case 'BertForMultipleChoice':
      return loaded.chooseAnswer(inputs as MultipleChoiceInput[], runOptions);
    case 'BertModel':
      return loaded.embed(inputs as ClassifyInput[], pooling === undefined ? runOptions : { ...runOptions, pooling });
  }
}

async function run(inputs: RunnerInput[], options: RunnerOptions): Promise<RunnerOutcome<RunnerResult[]>> {
  if (!model) return { ok: false, error: { name: 'Error', message: 'no model is loaded; call load() first.' } };
  try {
    return { ok: true, value: await runModel(model, inputs, options) };
  } catch (error) {
    return { ok: false, error: toRunnerError(error) };
  }
}

async function calibrate(texts: ClassifyInput[], options: Omit<CalibrateOptions, 'onProgress'>): Promise<RunnerOutcome<CalibrationResult>> {
  if (!model) return { ok: false, error: { name: 'Error', message: 'no model is loaded; call load() first.' } };
  try {
    return { ok: true, value: await model.calibrate(texts, options) };
  } catch (error) {
    return { ok: false, error: toRunnerError(error) };
  }
}

function dispose(): void {
  model?.dispose();
  model = null;
}

window.fcaRunner = { load, run, calibrate, dispose };
window.fcaRunnerReady = true;
