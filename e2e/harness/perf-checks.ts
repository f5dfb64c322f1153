// Performance invariants on a tiny random-weight model: no pipeline compiled
// after warm-up, GPU memory that stays flat over many calls, one command
// encoder and one submit per forward pass, and per-kernel profiling.
import { FcaModel } from '../../src/engine/session.js';
import { createGpuContext } from '../../src/gpu/device.js';
import { randomBertFiles } from '../../src/testing/random-model.js';
import type { ClassifyInput, ClassifyOptions, KernelProfile } from '../../src/types.js';
import { randomSource } from './gpu-run.js';

/** Counts of device calls, kept by wrappers installed on one GPUDevice. */
interface DeviceCounters {
  buffersCreated: number;
  /** Buffers created and not destroyed yet. */
  buffersLive: number;
  /** Buffers created so far, by label. */
  createdByLabel: Record<string, number>;
  commandEncoders: number;
  submits: number;
}

/** Wraps createBuffer, GPUBuffer.destroy, createCommandEncoder and queue.submit of `device` to count calls. */
function countDeviceCalls(device: GPUDevice): DeviceCounters {
  const counters: DeviceCounters = { buffersCreated: 0, buffersLive: 0, createdByLabel: {}, commandEncoders: 0, submits: 0 };
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = createBuffer(descriptor);
    counters.buffersCreated++;
    counters.buffersLive++;
    const label = descriptor.label ?? '';
    counters.createdByLabel[label] = (counters.createdByLabel[label] ?? 0) + 1;
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) counters.buffersLive--;
      destroyed = true;
      destroy();
    };
    return buffer;
  };
  const createCommandEncoder = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (descriptor?: GPUCommandEncoderDescriptor) => {
    counters.commandEncoders++;
    return createCommandEncoder(descriptor);
  };
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (commandBuffers: Iterable<GPUCommandBuffer>) => {
    counters.submits++;
    submit(commandBuffers);
  };
  return counters;
}

/** Creates a 2-layer, 64-wide classifier with random weights and 512 positions, on a device whose calls are counted. */
async function tinyModel(options: { profile?: boolean } = {}) {
  const files = randomBertFiles({
    architecture: 'BertForSequenceClassification',
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 2,
    intermediateSize: 128,
    vocabSize: 64,
    maxPositionEmbeddings: 512,
    seed: 7,
  });
  const gpu = await createGpuContext(undefined, undefined, { timestampQuery: options.profile });
  const counters = countDeviceCalls(gpu.device);
  const model = new FcaModel(files, gpu);
  await model.warmUp();
  return { model, counters, device: gpu.device, vocabSize: files.config.vocabSize };
}

/** Returns a [CLS] ... [SEP] sequence of `length` ids (a lone [CLS] for length 1) with random words between. */
function randomIds(length: number, vocabSize: number, random: ReturnType<typeof randomSource>): number[] {
  const CLS = 2;
  const SEP = 3;
  const FIRST_WORD = 5;
  const ids = Array.from({ length }, () => FIRST_WORD + random.integer(vocabSize - FIRST_WORD));
  ids[0] = CLS;
  if (length > 1) ids[length - 1] = SEP;
  return ids;
}

/** Run settings that together reach every kernel family: dense, the FCA variants, a trace and the authors' arithmetic. */
const SETTINGS: ClassifyOptions[] = [
  {},
  { retention: 0.5 },
  { retention: [0.6, 0.3], clusters: 1, variant: 'mean' },
  { retention: 0.4, variant: 'drop' },
  { retention: [0.7, 0.5], clusters: 3, trace: true },
  { retentionCounts: [60, 30], clusters: 2, variant: 'reference', paddedLength: 128 },
];

/** Returns the settings for call `index`. Variant 'reference' only fits inputs of at most its padded length (128). */
function settingsFor(index: number, length: number): ClassifyOptions {
  const settings = SETTINGS[index % SETTINGS.length];
  if (settings.variant === 'reference' && length > 128) return SETTINGS[1];
  return settings;
}

/** Deterministic Fisher-Yates shuffle. */
function shuffled<T>(values: T[], random: ReturnType<typeof randomSource>): T[] {
  const out = values.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.integer(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Runs every length from 1 to 512 once, in shuffled order, cycling through
 * dense and FCA settings with a pooled embedding every 8th call. Returns
 * the pipeline counts before and after.
 */
export async function checkNoPipelinesAfterWarmUp(seed = 1) {
  const { model, vocabSize } = await tinyModel();
  const random = randomSource(seed);
  const pipelinesAfterWarmUp = model.pipelinesCreated;
  const lengths = shuffled(Array.from({ length: 512 }, (_, i) => i + 1), random);
  const changedAt: Array<{ call: number; length: number; pipelines: number }> = [];
  let before = pipelinesAfterWarmUp;
  for (let call = 0; call < lengths.length; call++) {
    const length = lengths[call];
    const input: ClassifyInput = { input_ids: randomIds(length, vocabSize, random) };
    if (call % 8 === 7) await model.embed(input, { retention: 0.5 });
    else await model.classify(input, settingsFor(call, length));
    if (model.pipelinesCreated !== before) {
      changedAt.push({ call, length, pipelines: model.pipelinesCreated });
      before = model.pipelinesCreated;
    }
  }
  const result = {
    pipelinesAfterWarmUp,
    pipelinesAfterRuns: model.pipelinesCreated,
    calls: lengths.length,
    changedAt,
  };
  model.dispose();
  return result;
}

/** gpuBytes and buffer counts at one point of a run. */
interface MemorySnapshot {
  call: number;
  gpuBytes: number;
  buffersLive: number;
  buffersCreated: number;
  createdByLabel: Record<string, number>;
}

/**
 * Makes `calls` consecutive classify calls on the same model, cycling through
 * ten lengths from 1 to 512 and the dense and FCA settings, and returns
 * snapshots after call 10 and after the last call.
 */
export async function checkMemoryFlat(calls = 1000, seed = 2) {
  const { model, counters, vocabSize } = await tinyModel();
  const random = randomSource(seed);
  const lengths = [1, 512, 17, 128, 300, 64, 5, 450, 200, 33];
  const inputs = lengths.map((length) => ({ input_ids: randomIds(length, vocabSize, random) }));
  const snapshot = (call: number): MemorySnapshot => ({
    call,
    gpuBytes: model.gpuBytes,
    buffersLive: counters.buffersLive,
    buffersCreated: counters.buffersCreated,
    createdByLabel: { ...counters.createdByLabel },
  });
  const snapshots: MemorySnapshot[] = [];
  for (let call = 1; call <= calls; call++) {
    const index = (call - 1) % inputs.length;
    // Trace and 'reference' allocate the same buffers as the other settings, so a cycle of ten calls reaches every size.
    await model.classify(inputs[index], settingsFor(call - 1, lengths[index]));
    if (call === 10 || call === calls) snapshots.push(snapshot(call));
  }
  model.dispose();
  return { lengths, snapshots };
}

/** One case of checkOneSubmitPerPass. */
interface SubmitCase {
  name: string;
  inputs: number;
  batchSize: number;
  options: ClassifyOptions;
  embed?: boolean;
}

const SUBMIT_CASES: SubmitCase[] = [
  { name: 'dense, 1 input', inputs: 1, batchSize: 8, options: {} },
  { name: 'FCA, 1 input', inputs: 1, batchSize: 8, options: { retention: 0.5 } },
  { name: 'FCA with trace, 4 inputs', inputs: 4, batchSize: 8, options: { retention: [0.6, 0.3], trace: true } },
  { name: 'reference variant, 3 inputs', inputs: 3, batchSize: 8, options: { retentionCounts: [40, 20], variant: 'reference', paddedLength: 64 } },
  { name: 'embedding, 2 inputs', inputs: 2, batchSize: 8, options: { retention: 0.5 }, embed: true },
  { name: 'dense, 10 inputs in batches of 4', inputs: 10, batchSize: 4, options: {} },
  { name: 'FCA, 9 inputs in batches of 3', inputs: 9, batchSize: 3, options: { retention: 0.4, clusters: 1 } },
];

/** Counts command encoders and submits per call, for single passes and for calls split into several batches. */
export async function checkOneSubmitPerPass(seed = 3) {
  const { model, counters, vocabSize } = await tinyModel();
  const random = randomSource(seed);
  const cases = [];
  for (const item of SUBMIT_CASES) {
    const inputs = Array.from({ length: item.inputs }, () => ({ input_ids: randomIds(5 + random.integer(55), vocabSize, random) }));
    const encoders = counters.commandEncoders;
    const submits = counters.submits;
    const options = { ...item.options, batchSize: item.batchSize };
    if (item.embed) await model.embed(inputs, options);
    else await model.classify(inputs, options);
    cases.push({ name: item.name, inputs: item.inputs, batchSize: item.batchSize, encoders: counters.commandEncoders - encoders, submits: counters.submits - submits });
  }
  model.dispose();
  return cases;
}

/**
 * Profiles a dense and an FCA pass and also runs both unprofiled. Returns
 * the profiles and the largest logit difference between profiled and
 * unprofiled runs, or null when the adapter lacks 'timestamp-query'.
 */
export async function checkKernelProfile(seed = 4) {
  const { model, device, vocabSize } = await tinyModel({ profile: true });
  if (!device.features.has('timestamp-query')) {
    model.dispose();
    return null;
  }
  const random = randomSource(seed);
  const input = { input_ids: randomIds(40, vocabSize, random) };
  const profiles: Record<string, KernelProfile> = {};
  let logitDifference = 0;
  for (const [name, options] of [['dense', {}], ['fca', { retention: 0.5 }]] as const) {
    const plain = await model.classify(input, options);
    await model.startProfiling();
    const profiled = await model.classify(input, options);
    profiles[name] = await model.stopProfiling();
    plain[0].logits.forEach((value, i) => (logitDifference = Math.max(logitDifference, Math.abs(value - profiled[0].logits[i]))));
  }
  model.dispose();
  return { profiles, logitDifference };
}

/** Outcome of a call: its logits, or its error as "Name: message". */
async function outcome(call: Promise<Array<{ logits: number[] }>>): Promise<{ logits: number[] | null; error: string | null }> {
  try {
    const [result] = await call;
    return { logits: result.logits, error: null };
  } catch (error) {
    return { logits: null, error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

/**
 * Destroys the device right after a pass is submitted, while that pass waits
 * for its readback, then makes one more call. Returns a result from before
 * the loss as returned (nothing may overwrite it), a copy of its logits, and
 * the outcomes of the two calls.
 */
export async function checkDeviceLoss(seed = 5) {
  const { model, device, vocabSize } = await tinyModel();
  const input = { input_ids: randomIds(24, vocabSize, randomSource(seed)) };
  const [before] = await model.classify(input, { retention: 0.5 });
  const copied = before.logits.slice();
  const queue = device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (commandBuffers: Iterable<GPUCommandBuffer>) => {
    submit(commandBuffers);
    device.destroy();
  };
  const during = await outcome(model.classify(input));
  const after = await outcome(model.classify(input));
  return { before: before.logits, copied, during, after };
}

const perfHarness = { checkNoPipelinesAfterWarmUp, checkMemoryFlat, checkOneSubmitPerPass, checkKernelProfile, checkDeviceLoss };

declare global {
  interface Window {
    /** Performance invariant checks, called by e2e/perf-invariants.spec.ts. */
    perfHarness: typeof perfHarness;
  }
}

window.perfHarness = perfHarness;
