// Browser side of the command line: src/cli/session.mjs opens this page in
// headless Chromium and calls window.fcaRunner through page.evaluate. Results
// cross the page boundary as plain JSON, and errors as { name, message } so
// that the Node side can tell an InputError from a DeviceError.
import { loadModel } from '../index.js';
import type { ClassifyInput, ClassifyOptions, ClassifyResult, FcaModel } from '../index.js';

export interface RunnerError {
  name: string;
  message: string;
}

export type RunnerOutcome<T> = { ok: true; value: T } | { ok: false; error: RunnerError };

/** Labels and shape of the loaded model, as the Node side uses them. */
export interface RunnerModelInfo {
  labels: string[];
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
}

export interface FcaRunner {
  load(modelUrl: string): Promise<RunnerOutcome<RunnerModelInfo>>;
  classify(inputs: ClassifyInput[], options: ClassifyOptions): Promise<RunnerOutcome<ClassifyResult[]>>;
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
        labels: config.labels,
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

async function classify(inputs: ClassifyInput[], options: ClassifyOptions): Promise<RunnerOutcome<ClassifyResult[]>> {
  if (!model) return { ok: false, error: { name: 'Error', message: 'no model is loaded; call load() first.' } };
  try {
    return { ok: true, value: await model.classify(inputs, options) };
  } catch (error) {
    return { ok: false, error: toRunnerError(error) };
  }
}

function dispose(): void {
  model?.dispose();
  model = null;
}

window.fcaRunner = { load, classify, dispose };
window.fcaRunnerReady = true;
