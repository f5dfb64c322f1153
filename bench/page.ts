/**
 * Browser side of `npm run bench`: bench/run.mjs opens bench/bench.html in
 * headless Chromium and calls window.fcaBench through page.evaluate. The page
 * keeps the models and every contender (fca-webgpu, and ONNX Runtime Web's
 * WebGPU and WASM execution providers) so that all of them are timed in the
 * same page load. Each call is timed here with performance.now(); the Node
 * side only decides what runs next.
 */
import type * as Ort from 'onnxruntime-web';
import { FcaModel } from '../src/engine/session.js';
import { encoderFlops } from '../src/fca/flops.js';
import { planLayers, resolveFcaOptions, type FcaOptions } from '../src/fca/retention.js';
import { createGpuContext } from '../src/gpu/device.js';
import { loadModelFiles, type ModelFiles } from '../src/model/load.js';
import { referenceForward } from '../src/reference/forward.js';
import { randomBertFiles, seededRandom } from '../src/testing/random-model.js';
import type { KernelProfile } from '../src/types.js';
import { buildBertOnnx } from './onnx-graph.js';
import { runBatch } from './ort-run.js';
import type { OrtWorkerRequest } from './ort-worker.js';
import { retentionForRatio } from './retention-search.js';

export const CONTENDERS = ['fca-dense', 'fca-r50', 'fca-r33', 'ort-webgpu', 'ort-wasm-1t', 'ort-wasm-2t'] as const;
export type ContenderId = (typeof CONTENDERS)[number];
export type ModelId = 'mini' | 'base';

const MINI_URL = '/shared/models/sst2-bert-mini/';
const MINI_ONNX_URL = '/shared/models/sst2-bert-mini/onnx/model.onnx';
const SST2_DEV_URL = '/shared/data/glue/SST-2/dev.tsv';
/** BERT-base shapes with random weights (the vocabulary size of bert-base-uncased). */
const BASE_SPEC = {
  architecture: 'BertForSequenceClassification',
  hiddenSize: 768,
  numLayers: 12,
  numHeads: 12,
  intermediateSize: 3072,
  numLabels: 2,
  vocabSize: 30522,
  maxPositionEmbeddings: 512,
  seed: 2024,
} as const;
/** FLOPs ratios of the two FCA contenders. */
const FCA_TARGETS: Record<'fca-r50' | 'fca-r33', number> = { 'fca-r50': 0.5, 'fca-r33': 1 / 3 };

/** A WASM contender's worker, with request/response matching by id. */
class OrtWorker {
  private readonly worker = new Worker(new URL('./ort-worker.ts', import.meta.url), { type: 'module' });
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(readonly threads: number) {
    this.worker.onmessage = (event: MessageEvent<{ id: number; ok: boolean; value?: unknown; error?: string }>) => {
      const { id, ok, value, error } = event.data;
      const entry = this.waiting.get(id);
      this.waiting.delete(id);
      if (ok) entry?.resolve(value);
      else entry?.reject(new Error(`ORT WASM worker (${this.threads} threads): ${error}`));
    };
    this.worker.onerror = (event) => {
      for (const entry of this.waiting.values()) entry.reject(new Error(`ORT WASM worker (${this.threads} threads) failed: ${event.message}`));
      this.waiting.clear();
    };
  }

  request<T>(message: DistributiveOmit<OrtWorkerRequest, 'id'>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  terminate(): void {
    this.worker.terminate();
  }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

interface LoadedModel {
  id: ModelId;
  files: ModelFiles;
  fca: FcaModel;
  ortWebgpu: { ort: typeof Ort; session: Ort.InferenceSession } | null;
  workers: Map<ContenderId, OrtWorker>;
}

/** Load-time costs of one contender on one model, in milliseconds. */
export interface FirstRunRecord {
  contender: string;
  model: ModelId;
  /** Fetching and parsing the model folder (mini), or generating random weights (base). */
  files_ms?: number;
  /** Uploading the weights to the GPU (fca-webgpu). */
  upload_ms?: number;
  /** Compiling every pipeline (fca-webgpu warmUp()). */
  compile_ms?: number;
  pipelines?: number;
  /** Fetching (mini) or building (base) the ONNX file. */
  onnx_ms?: number;
  onnx_bytes?: number;
  /** InferenceSession.create (ONNX Runtime). */
  session_ms?: number;
  /** Error message when the contender could not be loaded, which leaves it out of this model's scenarios. */
  error?: string;
}

interface Scenario {
  id: string;
  model: ModelId;
  /** Batches of token ids; each batch is one call. */
  items: number[][][];
  fcaOptions: Record<'fca-r50' | 'fca-r33', FcaOptions>;
  ratios: Record<'fca-r50' | 'fca-r33', number>;
  lastLogits: Map<string, number[][]>;
}

export interface ScenarioSpec {
  id: string;
  model: ModelId;
  kind: 'synthetic' | 'sst2';
  length?: number;
  batch?: number;
  seed?: number;
}

const models = new Map<ModelId, LoadedModel>();
const scenarios = new Map<string, Scenario>();
/** Float64 reference logits, by model, settings and token ids. */
const referenceCache = new Map<string, number[]>();

function requireModel(id: ModelId): LoadedModel {
  const model = models.get(id);
  if (!model) throw new Error(`model ${id} is not loaded; call loadModel('${id}', ...) first.`);
  return model;
}

function requireScenario(id: string): Scenario {
  const scenario = scenarios.get(id);
  if (!scenario) throw new Error(`scenario ${id} was not prepared; call prepareScenario first.`);
  return scenario;
}

async function timed<T>(work: () => Promise<T> | T): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, performance.now() - started];
}

/** Returns the adapter the engine gets, the browser and whether the page is cross-origin isolated. */
async function environment() {
  const adapter = await navigator.gpu?.requestAdapter();
  const info = adapter?.info;
  return {
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: self.crossOriginIsolated,
    adapter: info ? { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description } : null,
    features: adapter ? [...adapter.features].sort() : [],
  };
}

/** Loads a model for fca-webgpu and for each ONNX Runtime contender asked for, timing every stage. */
async function loadModel(id: ModelId, contenders: ContenderId[]): Promise<FirstRunRecord[]> {
  if (models.has(id)) throw new Error(`model ${id} is already loaded; dispose it first.`);
  const records: FirstRunRecord[] = [];
  const [files, filesMs] = await timed(() => (id === 'mini' ? loadModelFiles(MINI_URL) : randomBertFiles(BASE_SPEC)));
  const gpu = await createGpuContext(undefined, undefined, { timestampQuery: true });
  const [fca, uploadMs] = await timed(() => new FcaModel(files, gpu));
  const [, compileMs] = await timed(() => fca.warmUp());
  records.push({ contender: 'fca-webgpu', model: id, files_ms: filesMs, upload_ms: uploadMs, compile_ms: compileMs, pipelines: fca.pipelinesCreated });
  const loaded: LoadedModel = { id, files, fca, ortWebgpu: null, workers: new Map() };
  models.set(id, loaded);

  const ortContenders = contenders.filter((c) => c.startsWith('ort-'));
  if (ortContenders.length === 0) return records;
  const [onnxBytes, onnxMs] = await timed(async () => {
    if (id === 'base') return buildBertOnnx(files);
    const response = await fetch(MINI_ONNX_URL);
    if (!response.ok) throw new Error(`GET ${MINI_ONNX_URL} failed with ${response.status}; the mini model's ONNX export should be in ../shared.`);
    return new Uint8Array(await response.arrayBuffer());
  });

  for (const contender of ortContenders) {
    const record: FirstRunRecord = { contender, model: id, onnx_ms: onnxMs, onnx_bytes: onnxBytes.byteLength };
    try {
      record.session_ms = await createOrtContender(loaded, contender, onnxBytes);
    } catch (error) {
      record.error = error instanceof Error ? error.message : String(error);
    }
    records.push(record);
  }
  return records;
}

/** Creates an ONNX Runtime session for `contender` and returns InferenceSession.create's milliseconds. */
async function createOrtContender(loaded: LoadedModel, contender: ContenderId, onnxBytes: Uint8Array): Promise<number> {
  if (contender === 'ort-webgpu') {
    const ort = await import('onnxruntime-web/webgpu');
    const [session, sessionMs] = await timed(() => ort.InferenceSession.create(onnxBytes, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' }));
    loaded.ortWebgpu = { ort, session };
    return sessionMs;
  }
  const worker = new OrtWorker(contender === 'ort-wasm-2t' ? 2 : 1);
  try {
    // The worker gets its own copy of the model bytes.
    const created = await worker.request<{ ms: number; crossOriginIsolated: boolean }>({ type: 'create', model: onnxBytes, threads: worker.threads });
    if (worker.threads > 1 && !created.crossOriginIsolated) {
      throw new Error('ort-wasm-2t needs a cross-origin isolated page (COOP same-origin and COEP require-corp headers); the server did not send them.');
    }
    loaded.workers.set(contender, worker);
    return created.ms;
  } catch (error) {
    worker.terminate();
    throw error;
  }
}

/** Releases a model's GPU buffers, ONNX Runtime sessions and workers. */
async function disposeModel(id: ModelId): Promise<void> {
  const loaded = models.get(id);
  if (!loaded) return;
  loaded.fca.dispose();
  await loaded.ortWebgpu?.session.release();
  for (const worker of loaded.workers.values()) worker.terminate();
  models.delete(id);
  for (const [key, scenario] of scenarios) if (scenario.model === id) scenarios.delete(key);
}

/** Sequences of `length` random word ids between [CLS] and [SEP], seeded. */
function syntheticBatch(loaded: LoadedModel, length: number, batch: number, seed: number): number[][] {
  const [cls, sep] = loaded.fca.encode('').inputIds;
  const vocabSize = loaded.files.config.vocabSize;
  // Skip the special tokens; the bert-base-uncased vocabulary has [unused] entries below 1000.
  const firstWord = vocabSize > 2000 ? 1000 : 5;
  const random = seededRandom(seed);
  return Array.from({ length: batch }, () => {
    const ids = Array.from({ length }, () => firstWord + Math.floor(random() * (vocabSize - firstWord)));
    ids[0] = cls;
    ids[length - 1] = sep;
    return ids;
  });
}

async function sst2Sentences(): Promise<string[]> {
  const response = await fetch(SST2_DEV_URL);
  if (!response.ok) throw new Error(`GET ${SST2_DEV_URL} failed with ${response.status}; the SST-2 dev set should be in ../shared/data/glue/SST-2.`);
  const lines = (await response.text()).split('\n').filter((line) => line.trim() !== '');
  if (!lines[0].startsWith('sentence\t')) throw new Error(`${SST2_DEV_URL} does not start with the header "sentence<TAB>label"; got ${JSON.stringify(lines[0].slice(0, 40))}.`);
  return lines.slice(1).map((line) => line.split('\t')[0]);
}

/**
 * Builds a scenario's inputs and picks the retention settings of the FCA
 * contenders for its lengths. Synthetic scenarios are one batch (the first
 * sequence is the same for every batch size of a length, so float64
 * reference results are reused); 'sst2' is the 872 dev sentences, one a call.
 */
async function prepareScenario(spec: ScenarioSpec) {
  const loaded = requireModel(spec.model);
  let items: number[][][];
  if (spec.kind === 'sst2') {
    const sentences = await sst2Sentences();
    items = sentences.map((text) => [loaded.fca.encode(text).inputIds]);
  } else {
    const length = spec.length ?? 128;
    const batch = spec.batch ?? 1;
    items = [syntheticBatch(loaded, length, batch, spec.seed ?? length)];
  }
  const lengths = items.flatMap((item) => item.map((ids) => ids.length));
  const config = loaded.files.config;
  const r50 = retentionForRatio(FCA_TARGETS['fca-r50'], lengths, config);
  const r33 = retentionForRatio(FCA_TARGETS['fca-r33'], lengths, config);
  scenarios.set(spec.id, {
    id: spec.id,
    model: spec.model,
    items,
    fcaOptions: { 'fca-r50': r50.options, 'fca-r33': r33.options },
    ratios: { 'fca-r50': r50.ratio, 'fca-r33': r33.ratio },
    lastLogits: new Map(),
  });
  // Encoder FLOPs of item 0 per contender, for predicting call times before the first call.
  const itemFlops = (options: FcaOptions | null) =>
    items[0].reduce((sum, ids) => sum + encoderFlops(planLayers(ids.length, config.numLayers, resolveFcaOptions(options ?? undefined, config.numLayers)), config), 0);
  const dense = itemFlops(null);
  const flops: Record<string, number> = Object.fromEntries(CONTENDERS.map((c) => [c, dense]));
  flops['fca-r50'] = itemFlops(r50.options);
  flops['fca-r33'] = itemFlops(r33.options);
  return {
    items: items.length,
    flops,
    sequences: lengths.length,
    minLength: Math.min(...lengths),
    maxLength: Math.max(...lengths),
    meanLength: lengths.reduce((a, b) => a + b, 0) / lengths.length,
    fca: { 'fca-r50': r50, 'fca-r33': r33 },
  };
}

function fcaOptionsOf(scenario: Scenario, contender: ContenderId): FcaOptions {
  if (contender === 'fca-dense') return {};
  if (contender === 'fca-r50' || contender === 'fca-r33') return scenario.fcaOptions[contender];
  throw new Error(`${contender} is not an fca-webgpu contender.`);
}

function denseFlops(loaded: LoadedModel, batch: number[][]): number {
  const config = loaded.files.config;
  return batch.reduce((sum, ids) => sum + encoderFlops(planLayers(ids.length, config.numLayers, null), config), 0);
}

/** Runs one call of `contender` on item `index` of a scenario and returns its time, FLOPs and logits. */
async function runCall(scenarioId: string, contender: ContenderId, index: number) {
  const scenario = requireScenario(scenarioId);
  const loaded = requireModel(scenario.model);
  const batch = scenario.items[index];
  if (!batch) throw new Error(`scenario ${scenarioId} has ${scenario.items.length} items; index ${index} is out of range.`);
  let ms: number;
  let logits: number[][];
  let flops: number;
  if (contender.startsWith('fca-')) {
    const inputs = batch.map((ids) => ({ input_ids: ids }));
    const options = { ...fcaOptionsOf(scenario, contender), batchSize: batch.length };
    const [results, elapsed] = await timed(() => loaded.fca.classify(inputs, options));
    ms = elapsed;
    logits = results.map((r) => r.logits);
    flops = results.reduce((sum, r) => sum + r.flops, 0);
  } else if (contender === 'ort-webgpu') {
    if (!loaded.ortWebgpu) throw new Error(`ort-webgpu was not loaded for model ${scenario.model}.`);
    ({ ms, logits } = await runBatch(loaded.ortWebgpu.ort, loaded.ortWebgpu.session, batch));
    flops = denseFlops(loaded, batch);
  } else {
    const worker = loaded.workers.get(contender);
    if (!worker) throw new Error(`${contender} was not loaded for model ${scenario.model}.`);
    ({ ms, logits } = await worker.request<{ ms: number; logits: number[][] }>({ type: 'run', ids: batch }));
    flops = denseFlops(loaded, batch);
  }
  scenario.lastLogits.set(`${contender}/${index}`, logits);
  return { ms, flops, logits };
}

/**
 * Compares the logits of `contender`'s last call on item `index` with the
 * float64 CPU reference for the first `sequences` sequences of the item, at
 * the contender's own FCA setting (dense for ONNX Runtime).
 */
async function referenceCheck(scenarioId: string, contender: ContenderId, index: number, sequences: number) {
  const scenario = requireScenario(scenarioId);
  const loaded = requireModel(scenario.model);
  const logits = scenario.lastLogits.get(`${contender}/${index}`);
  if (!logits) throw new Error(`${contender} has not run item ${index} of ${scenarioId}; run it before checking.`);
  const { config, weights } = loaded.files;
  const options = contender.startsWith('fca-') ? fcaOptionsOf(scenario, contender) : {};
  const settings = resolveFcaOptions(options, config.numLayers);
  const started = performance.now();
  let maxDiff = 0;
  let maxLogit = 0;
  const batch = scenario.items[index].slice(0, sequences);
  batch.forEach((ids, s) => {
    const key = `${scenario.model}/${JSON.stringify(options)}/${ids.join(',')}`;
    let expected = referenceCache.get(key);
    if (!expected) {
      expected = referenceForward(config, weights, ids, new Array<number>(ids.length).fill(0), settings).logits;
      referenceCache.set(key, expected);
    }
    expected.forEach((value, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(value - logits[s][i]));
      maxLogit = Math.max(maxLogit, Math.abs(value));
    });
  });
  return { maxDiff, maxLogit, sequences: batch.length, ms: performance.now() - started };
}

/**
 * Runs `passes` profiled fca-webgpu calls (one compute pass per dispatch) and
 * returns, per kernel, the median over the passes of its GPU time per pass,
 * so that one pass slowed by other processes does not decide the result.
 */
async function profileCall(scenarioId: string, contender: ContenderId, index: number, passes: number): Promise<{ profile: KernelProfile; wallMs: number }> {
  const scenario = requireScenario(scenarioId);
  const loaded = requireModel(scenario.model);
  const inputs = scenario.items[index].map((ids) => ({ input_ids: ids }));
  const options = { ...fcaOptionsOf(scenario, contender), batchSize: inputs.length };
  const profiles: KernelProfile[] = [];
  const walls: number[] = [];
  for (let pass = 0; pass < passes; pass++) {
    await loaded.fca.startProfiling();
    const [, wallMs] = await timed(() => loaded.fca.classify(inputs, options));
    profiles.push(await loaded.fca.stopProfiling());
    walls.push(wallMs);
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const names = [...new Set(profiles.flatMap((p) => p.kernels.map((k) => k.name)))];
  const kernels = names
    .map((name) => {
      const perPass = profiles.map((p) => p.kernels.find((k) => k.name === name));
      return { name, dispatches: perPass[0]?.dispatches ?? 0, totalMs: median(perPass.map((k) => k?.totalMs ?? 0)) };
    })
    .sort((a, b) => b.totalMs - a.totalMs);
  const profile = { passes, kernels, totalMs: median(profiles.map((p) => p.totalMs)) };
  return { profile, wallMs: median(walls) };
}

/** Returns the GPU memory held by fca-webgpu for a model (weights and activation pool). */
function gpuBytes(id: ModelId): number {
  return requireModel(id).fca.gpuBytes;
}

/** Runs the invariant checks of e2e/perf-invariants.spec.ts, so that BENCHMARKS.md can state them. */
async function invariants() {
  const checks = await import('../e2e/harness/perf-checks.js');
  const [pipelines, memory, submits] = [await checks.checkNoPipelinesAfterWarmUp(), await checks.checkMemoryFlat(1000), await checks.checkOneSubmitPerPass()];
  return { pipelines, memory, submits };
}

const fcaBench = { environment, loadModel, disposeModel, prepareScenario, runCall, referenceCheck, profileCall, gpuBytes, invariants };

declare global {
  interface Window {
    fcaBench: typeof fcaBench;
    fcaBenchReady: boolean;
    fcaBenchStartError?: string;
  }
}

window.fcaBench = fcaBench;
window.fcaBenchReady = true;
