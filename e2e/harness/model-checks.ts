// Whole-model checks: the WebGPU engine against the float64 reference and
// against PyTorch golden outputs, on the real checkpoints served under /shared/.
import { FcaModel, loadModel } from '../../src/engine/session.js';
import { resolveFcaOptions, tokensPerLayer } from '../../src/fca/retention.js';
import { createGpuContext } from '../../src/gpu/device.js';
import { loadModelFiles, type ModelFiles } from '../../src/model/load.js';
import { referenceForwardAuthors } from '../../src/reference/authors.js';
import { referenceForward } from '../../src/reference/forward.js';
import type { ClassifyInput, ClassifyOptions } from '../../src/types.js';

const loaded = new Map<string, { files: ModelFiles; model: FcaModel }>();

async function modelFor(url: string) {
  let entry = loaded.get(url);
  if (!entry) {
    const files = await loadModelFiles(url);
    const model = new FcaModel(files, await createGpuContext());
    await model.warmUp();
    entry = { files, model };
    loaded.set(url, entry);
  }
  return entry;
}

/** The golden settings that have FCA options in the engine's terms. */
export const GOLDEN_SETTINGS: Record<string, ClassifyOptions | undefined> = {
  dense: undefined,
  'r50-k2': { retention: 0.5, clusters: 2 },
  'r70-50-40-30-k1': { retention: [0.7, 0.5, 0.4, 0.3], clusters: 1 },
  'r60-40-30-20-k3': { retention: [0.6, 0.4, 0.3, 0.2], clusters: 3 },
  'r50-drop': { retention: 0.5, clusters: 0 },
};

interface GoldenRecord {
  input_ids: number[];
  token_type_ids: number[];
  [setting: string]: unknown;
}

/** Runs every golden record through the engine (batched) for one setting and reports the worst disagreement. */
export async function checkGolden(modelUrl: string, setting: string) {
  const { model } = await modelFor(modelUrl);
  const text = await (await fetch(`${modelUrl}golden.jsonl`)).text();
  const records = text.trim().split('\n').map((line) => JSON.parse(line) as GoldenRecord);
  const inputs: ClassifyInput[] = records.map((r) => ({ input_ids: r.input_ids, token_type_ids: r.token_type_ids }));
  const results = await model.classify(inputs, { ...GOLDEN_SETTINGS[setting] });
  let maxLogitError = 0;
  const mismatches: string[] = [];
  records.forEach((record, i) => {
    const expected = record[setting] as { logits: number[]; tokens_per_layer: number[]; flops: number };
    const got = results[i];
    got.logits.forEach((v, k) => (maxLogitError = Math.max(maxLogitError, Math.abs(v - expected.logits[k]))));
    if (JSON.stringify(got.tokens_per_layer) !== JSON.stringify(expected.tokens_per_layer)) {
      mismatches.push(`record ${i}: tokens_per_layer ${JSON.stringify(got.tokens_per_layer)} != ${JSON.stringify(expected.tokens_per_layer)}`);
    }
    if (got.flops !== expected.flops) mismatches.push(`record ${i}: flops ${got.flops} != ${expected.flops}`);
  });
  return { records: records.length, maxLogitError, mismatches };
}

/** Runs texts through the engine and the float64 reference with the same options (trace on) and compares everything. */
export async function checkAgainstReference(modelUrl: string, texts: ClassifyInput[], options: ClassifyOptions & { batchSize?: number }) {
  const { files, model } = await modelFor(modelUrl);
  const results = await model.classify(texts, { ...options, trace: true });
  const fca = resolveFcaOptions(options, files.config.numLayers);
  let maxLogitError = 0;
  const mismatches: string[] = [];
  texts.forEach((input, i) => {
    const encoded = model.encode(input);
    const expected = referenceForward(files.config, files.weights, encoded.inputIds, encoded.tokenTypeIds, fca);
    const got = results[i];
    got.logits.forEach((v, k) => (maxLogitError = Math.max(maxLogitError, Math.abs(v - expected.logits[k]))));
    if (JSON.stringify(got.tokens_per_layer) !== JSON.stringify(expected.tokensPerLayer)) {
      mismatches.push(`input ${i}: tokens_per_layer ${JSON.stringify(got.tokens_per_layer)} != ${JSON.stringify(expected.tokensPerLayer)}`);
    }
    if (got.flops !== expected.flops) mismatches.push(`input ${i}: flops ${got.flops} != ${expected.flops}`);
    const positions = got.trace?.map((layer) => layer.positions);
    if (JSON.stringify(positions) !== JSON.stringify(expected.positions)) {
      mismatches.push(`input ${i}: trace ${JSON.stringify(positions)} != reference ${JSON.stringify(expected.positions)}`);
    }
    const counts = got.trace?.at(-1)?.tokenCounts;
    if (JSON.stringify(counts) !== JSON.stringify(expected.tokenCounts)) {
      mismatches.push(`input ${i}: final token counts ${JSON.stringify(counts)} != reference ${JSON.stringify(expected.tokenCounts)}`);
    }
  });
  return { maxLogitError, mismatches, tokensPerLayer: results.map((r) => r.tokens_per_layer), labels: results.map((r) => r.label) };
}

/** Classifies with the engine only, for checks on results and errors. */
export async function classify(modelUrl: string, inputs: ClassifyInput[], options: ClassifyOptions = {}) {
  const { model } = await modelFor(modelUrl);
  try {
    return { results: await model.classify(inputs, options) };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

export { tokensPerLayer };

/** Golden settings of the 'reference' variant (the authors' code's arithmetic) in the engine's terms. */
export const AUTHORS_GOLDEN_SETTINGS: Record<string, ClassifyOptions> = {
  'ref-L64-c34-28-24-20-k5': { variant: 'reference', paddedLength: 64, retentionCounts: [34, 28, 24, 20], clusters: 5 },
};

/**
 * Counts the encoder FLOPs of the padded lengths a 'reference' pass processes:
 * 8 n_in D^2 + 4 n_in^2 D + 4 n_out D F per layer. The count is written out
 * here, apart from encoderFlops, so that the check does not reuse the engine's code.
 */
function paddedFlops(paddedLength: number, tokensPerLayer: number[], hiddenSize: number, intermediateSize: number): number {
  let nIn = paddedLength;
  let total = 0;
  for (const nOut of tokensPerLayer) {
    total += 8 * nIn * hiddenSize ** 2 + 4 * nIn ** 2 * hiddenSize + 4 * nOut * hiddenSize * intermediateSize;
    nIn = nOut;
  }
  return total;
}

/**
 * Runs the golden records that have a 'reference' setting (the others are
 * longer than its padded length) through the engine, batched, and reports the
 * worst logit error, tokens_per_layer mismatches, and FLOPs that differ from
 * the padded count.
 */
export async function checkGoldenAuthors(modelUrl: string, setting: string) {
  const { files, model } = await modelFor(modelUrl);
  const options = AUTHORS_GOLDEN_SETTINGS[setting];
  const text = await (await fetch(`${modelUrl}golden.jsonl`)).text();
  const records = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as GoldenRecord)
    .filter((record) => record[setting] !== undefined);
  const inputs: ClassifyInput[] = records.map((r) => ({ input_ids: r.input_ids, token_type_ids: r.token_type_ids }));
  const started = performance.now();
  const results = await model.classify(inputs, { ...options });
  const milliseconds = performance.now() - started;
  let maxLogitError = 0;
  const mismatches: string[] = [];
  records.forEach((record, i) => {
    const expected = record[setting] as { logits: number[]; tokens_per_layer: number[] };
    const got = results[i];
    got.logits.forEach((v, k) => (maxLogitError = Math.max(maxLogitError, Math.abs(v - expected.logits[k]))));
    if (JSON.stringify(got.tokens_per_layer) !== JSON.stringify(expected.tokens_per_layer)) {
      mismatches.push(`record ${i}: tokens_per_layer ${JSON.stringify(got.tokens_per_layer)} != ${JSON.stringify(expected.tokens_per_layer)}`);
    }
    const flops = paddedFlops(options.paddedLength!, expected.tokens_per_layer, files.config.hiddenSize, files.config.intermediateSize);
    if (got.flops !== flops) mismatches.push(`record ${i}: flops ${got.flops} != padded count ${flops}`);
  });
  return { records: records.length, maxLogitError, mismatches, milliseconds };
}

/**
 * Runs texts through the engine (trace on) and referenceForwardAuthors with
 * the same 'reference' options and compares logits, tokens_per_layer, FLOPs
 * and every layer's trace positions.
 */
export async function checkAgainstAuthorsReference(
  modelUrl: string,
  texts: ClassifyInput[],
  options: { paddedLength: number; retentionCounts: number[]; clusters: number; batchSize?: number },
) {
  const { files, model } = await modelFor(modelUrl);
  const results = await model.classify(texts, { ...options, variant: 'reference', trace: true });
  const settings = { paddedLength: options.paddedLength, counts: options.retentionCounts, clusters: options.clusters };
  let maxLogitError = 0;
  const mismatches: string[] = [];
  texts.forEach((input, i) => {
    const encoded = model.encode(input);
    const expected = referenceForwardAuthors(files.config, files.weights, encoded.inputIds, encoded.tokenTypeIds, settings);
    const got = results[i];
    got.logits.forEach((v, k) => (maxLogitError = Math.max(maxLogitError, Math.abs(v - expected.logits[k]))));
    if (JSON.stringify(got.tokens_per_layer) !== JSON.stringify(expected.tokensPerLayer)) {
      mismatches.push(`input ${i}: tokens_per_layer ${JSON.stringify(got.tokens_per_layer)} != ${JSON.stringify(expected.tokensPerLayer)}`);
    }
    const flops = paddedFlops(options.paddedLength, expected.tokensPerLayer, files.config.hiddenSize, files.config.intermediateSize);
    if (got.flops !== flops) mismatches.push(`input ${i}: flops ${got.flops} != padded count ${flops}`);
    const positions = got.trace?.map((layer) => layer.positions);
    if (JSON.stringify(positions) !== JSON.stringify(expected.positions)) {
      mismatches.push(`input ${i}: trace ${JSON.stringify(positions)} != reference ${JSON.stringify(expected.positions)}`);
    }
  });
  return { maxLogitError, mismatches, lengths: texts.map((input) => model.encode(input).inputIds.length) };
}

/** Loads a model while navigator.gpu offers no adapter, and returns the error it raises. */
export async function loadWithoutAdapter(modelUrl: string) {
  const gpu = navigator.gpu;
  const original = gpu.requestAdapter;
  gpu.requestAdapter = async () => null;
  try {
    await loadModel(modelUrl);
    return { error: null };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  } finally {
    gpu.requestAdapter = original;
  }
}
