/**
 * GPU time per kernel from timestamp queries. While a profiler is attached to
 * a device, ComputeRecorder encodes one compute pass per dispatch and takes
 * that pass's timestamp writes from the profiler, so each dispatch is timed on
 * its own. One pass per dispatch costs extra pass boundaries, so profiled
 * passes run slower than normal ones: use the times to compare kernels, not
 * as the latency of a pass.
 */
import type { KernelProfile, KernelTime } from '../types.js';

/** Queries per query set: WebGPU allows at most 4096. */
const QUERIES_PER_SET = 4096;

/** The queries of one command encoder, resolved into a buffer that is read back after the submit. */
interface PendingRead {
  names: string[];
  resolve: GPUBuffer;
  readback: GPUBuffer;
}

/** Hands out timestamp writes per dispatch and turns the resolved timestamps into per-kernel times. */
export class TimestampProfiler {
  private readonly querySets: GPUQuerySet[] = [];
  private names: string[] = [];
  private readonly pending: PendingRead[] = [];
  private readonly totals = new Map<string, KernelTime>();
  private passes = 0;

  /** Throws when the device was created without the 'timestamp-query' feature. */
  constructor(private readonly device: GPUDevice) {
    if (!device.features.has('timestamp-query')) {
      throw new Error("the device lacks the 'timestamp-query' feature; create it with that feature (loadModel(url, { profile: true })) on an adapter that offers it.");
    }
  }

  /** Timestamp writes for the next dispatch of the encoder being recorded. */
  timestampWrites(kernelName: string): GPUComputePassTimestampWrites {
    const index = this.names.length;
    this.names.push(kernelName);
    const set = Math.floor((2 * index) / QUERIES_PER_SET);
    while (this.querySets.length <= set) {
      this.querySets.push(this.device.createQuerySet({ label: 'kernel timestamps', type: 'timestamp', count: QUERIES_PER_SET }));
    }
    const first = (2 * index) % QUERIES_PER_SET;
    return { querySet: this.querySets[set], beginningOfPassWriteIndex: first, endOfPassWriteIndex: first + 1 };
  }

  /** Resolves the queries of the dispatches recorded into `encoder` and copies them to a buffer read back by collect(). */
  finishEncoding(encoder: GPUCommandEncoder): void {
    const count = 2 * this.names.length;
    if (count === 0) return;
    const bytes = count * 8;
    const resolve = this.device.createBuffer({ label: 'kernel timestamps resolve', size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.device.createBuffer({ label: 'kernel timestamps readback', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    for (let start = 0; start < count; start += QUERIES_PER_SET) {
      const queries = Math.min(QUERIES_PER_SET, count - start);
      encoder.resolveQuerySet(this.querySets[start / QUERIES_PER_SET], 0, queries, resolve, start * 8);
    }
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, bytes);
    // Both buffers must live until the submit: a submit that uses a destroyed buffer is rejected.
    this.pending.push({ names: this.names, resolve, readback });
    this.names = [];
    this.passes++;
  }

  /**
   * Reads back every resolved pass and returns the per-kernel times recorded so
   * far. Call it after the passes were submitted; it waits for them to finish.
   */
  async collect(): Promise<KernelProfile> {
    const reads = this.pending.splice(0);
    for (const { names, resolve, readback } of reads) {
      await readback.mapAsync(GPUMapMode.READ);
      resolve.destroy();
      const stamps = new BigUint64Array(readback.getMappedRange());
      names.forEach((name, i) => {
        // WebGPU does not promise monotonic timestamps, so an end before its begin counts as zero.
        const nanoseconds = stamps[2 * i + 1] > stamps[2 * i] ? Number(stamps[2 * i + 1] - stamps[2 * i]) : 0;
        const entry = this.totals.get(name) ?? { name, dispatches: 0, totalMs: 0 };
        entry.dispatches++;
        entry.totalMs += nanoseconds / 1e6;
        this.totals.set(name, entry);
      });
      readback.unmap();
      readback.destroy();
    }
    const kernels = [...this.totals.values()].map((entry) => ({ ...entry })).sort((a, b) => b.totalMs - a.totalMs);
    return { passes: this.passes, kernels, totalMs: kernels.reduce((sum, k) => sum + k.totalMs, 0) };
  }

  /** Releases the query sets and any buffer not read back yet. */
  destroy(): void {
    for (const set of this.querySets) set.destroy();
    for (const { resolve, readback } of this.pending.splice(0)) {
      resolve.destroy();
      readback.destroy();
    }
  }
}
