import { BufferPool, uploadStorage } from '../../src/gpu/buffers.js';
import { createGpuContext, type GpuContext } from '../../src/gpu/device.js';
import { PipelineCache } from '../../src/gpu/pipelines.js';
import { ComputeRecorder, KERNELS } from '../../src/engine/kernels.js';

let shared: { gpu: GpuContext; pipelines: PipelineCache; pool: BufferPool } | null = null;

/** Returns the one device, pipeline cache and buffer pool that all kernel checks of a page share. */
export async function kernelContext() {
  if (!shared) {
    const gpu = await createGpuContext();
    shared = { gpu, pipelines: new PipelineCache(gpu.device), pool: new BufferPool(gpu.device) };
    await shared.pipelines.prepare(Object.values(KERNELS));
  }
  return shared;
}

export function upload(data: Float32Array | Uint32Array | Int32Array, label = 'test input'): GPUBuffer {
  if (!shared) throw new Error('kernelContext() first');
  return uploadStorage(shared.gpu.device, label, data);
}

/** Creates a storage buffer of `bytes` filled with NaN bits, so a kernel that reads unwritten memory shows it. */
export function poisoned(bytes: number, label = 'test output'): GPUBuffer {
  const words = Math.max(4, Math.ceil(bytes / 4));
  return upload(new Uint32Array(words).fill(0x7fc00000), label);
}

/** Encodes the recorded dispatches, submits them and reads `reads` back. */
export async function runRecorded(record: (recorder: ComputeRecorder) => void, reads: GPUBuffer[]): Promise<ArrayBuffer[]> {
  const { gpu, pipelines, pool } = await kernelContext();
  const device = gpu.device;
  const recorder = new ComputeRecorder(device, pipelines);
  record(recorder);
  const encoder = device.createCommandEncoder();
  recorder.encode(encoder, (bytes) => pool.acquire('uniforms', bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
  const stagings = reads.map((buffer) => {
    const staging = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
    return staging;
  });
  device.pushErrorScope('validation');
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  if (error) throw new Error(`validation error: ${error.message}`);
  return Promise.all(
    stagings.map(async (staging) => {
      await staging.mapAsync(GPUMapMode.READ);
      const copy = staging.getMappedRange().slice(0);
      staging.destroy();
      return copy;
    }),
  );
}

/** Deterministic uniform random numbers in [lo, hi) (mulberry32). */
export function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform: (lo = -1, hi = 1) => lo + (hi - lo) * next(),
    array: (length: number, lo = -1, hi = 1) => Float32Array.from({ length }, () => lo + (hi - lo) * next()),
    integer: (below: number) => Math.floor(next() * below),
  };
}

/** Largest |a - b| over the first `length` entries; NaN anywhere counts as Infinity. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, length = b.length): number {
  let worst = 0;
  for (let i = 0; i < length; i++) {
    const diff = Math.abs(a[i] - b[i]);
    worst = Number.isNaN(diff) ? Infinity : Math.max(worst, diff);
  }
  return worst;
}
