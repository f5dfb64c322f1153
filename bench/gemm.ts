// GEMM benchmark page: bench/gemm.mjs opens it in headless Chromium and calls
// window.gemmBench.run(). Every GEMM variant of the engine runs at each shape
// through dispatchGemm. Timestamp queries time it, or wall time around
// onSubmittedWorkDone when the adapter has no 'timestamp-query'. Its output is
// compared with a float64 CPU product of the same inputs.
import { BufferPool, uploadStorage } from '../src/gpu/buffers.js';
import { PipelineCache } from '../src/gpu/pipelines.js';
import { TEXTURE_GEMM_TILES, chooseGemmVariant, gemmDeviceFacts, gemmTileName, type GemmTile, type GemmVariant } from '../src/gpu/tuning.js';
import { ComputeRecorder, dispatchGemm, gemmKernels, type GemmOperands } from '../src/engine/kernels.js';
import { uploadGemmWeight } from '../src/engine/gpu-weights.js';

/** One GEMM problem: output[m, n] = a[m, k] w[k, n] + bias[n]. */
export interface BenchShape {
  m: number;
  k: number;
  n: number;
}

export interface BenchOptions {
  shapes: BenchShape[];
  /** Variants to run; every variant when empty. */
  variants: GemmVariant[];
  warmup: number;
  runs: number;
  /** Minimum GFLOP per timed run: small shapes repeat the dispatch within one pass to reach it. */
  minGflopPerRun: number;
  /**
   * Tiles of the texture variants to time, each as its own entry. When empty,
   * each shape runs the tile that chooseGemmTile picks.
   */
  tiles: GemmTile[];
}

export interface BenchResult {
  variant: GemmVariant;
  /** Kernel name part of the forced tile (R16, R8 or R4), or 'auto' for the engine's pick. */
  tile: string;
  shape: BenchShape;
  /** Dispatches per timed run. */
  repeats: number;
  /** GFLOP/s of each timed run, in run order. */
  gflops: number[];
  /**
   * GFLOP per CPU-second of the browser's GPU process (where SwiftShader runs)
   * for each timed run, when bench/gemm.mjs exposes that process's CPU time.
   * Other processes on the machine slow the timestamps down but change this
   * figure much less.
   */
  gflopPerCpuSecond: number[];
  /** Largest |gpu - cpu| over the output, against a float64 product of the same float32 inputs. */
  maxError: number;
}

export interface BenchReport {
  adapter: string;
  timer: 'timestamp-query' | 'wall time';
  /** The variant src/gpu/tuning.ts picks on this device for the largest shape. */
  chosen: GemmVariant;
  /** Variants left out because the device lacks a feature they need. */
  skipped: GemmVariant[];
  results: BenchResult[];
}

declare global {
  interface Window {
    gemmBench: { run(options: BenchOptions): Promise<BenchReport> };
    gemmBenchReady: boolean;
    /** Set by gemm.html when this module or an import fails to load. */
    gemmBenchStartError?: string;
    /** CPU nanoseconds used so far by the GPU process, exposed by bench/gemm.mjs; absent in a plain browser. */
    gpuProcessCpuNs?: () => Promise<number>;
  }
}

const ALL_VARIANTS: GemmVariant[] = ['tiled', 'texture', 'textureSubgroups'];

/** Deterministic uniform numbers in [lo, hi) (mulberry32), so that every variant gets the same inputs. */
function randomArray(length: number, seed: number, lo: number, hi: number): Float32Array<ArrayBuffer> {
  let state = seed >>> 0;
  const result = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    result[i] = lo + ((hi - lo) * ((t ^ (t >>> 14)) >>> 0)) / 4294967296;
  }
  return result;
}

/** a[m, k] w[k, n] + bias[n] in float64; `w` is row-major [k, n]. */
function cpuGemm(a: Float32Array, w: Float32Array, bias: Float32Array, { m, k, n }: BenchShape): Float64Array {
  const result = new Float64Array(m * n);
  const row = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < n; c++) row[c] = bias[c];
    for (let i = 0; i < k; i++) {
      const av = a[r * k + i];
      const base = i * n;
      for (let c = 0; c < n; c++) row[c] += av * w[base + c];
    }
    result.set(row, r * n);
  }
  return result;
}

/** Requests a device of the benchmark's own, with 'timestamp-query' and 'subgroups' when the adapter offers them. */
async function createBenchDevice(): Promise<{ device: GPUDevice; adapter: string }> {
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined: serve the page from http://127.0.0.1 in a browser with WebGPU.');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned no adapter.');
  const requested: GPUFeatureName[] = ['timestamp-query', 'subgroups'];
  const device = await adapter.requestDevice({
    requiredFeatures: requested.filter((feature) => adapter.features.has(feature)),
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const info = adapter.info;
  return { device, adapter: [info.vendor, info.architecture, info.description].filter((part) => part).join(' / ') };
}

/** Measures the GPU time of the commands an encode function records, in milliseconds. */
class Timer {
  readonly kind: BenchReport['timer'];
  private readonly queries: { set: GPUQuerySet; resolve: GPUBuffer; readback: GPUBuffer } | null;

  constructor(private readonly device: GPUDevice) {
    this.kind = device.features.has('timestamp-query') ? 'timestamp-query' : 'wall time';
    this.queries =
      this.kind === 'timestamp-query'
        ? {
            set: device.createQuerySet({ type: 'timestamp', count: 2 }),
            resolve: device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
            readback: device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
          }
        : null;
  }

  /**
   * Submits what `encode` records between two empty compute passes that write
   * the start and end timestamps: ComputeRecorder begins its own pass, so the
   * timestamps cannot go on that one.
   */
  async time(encode: (encoder: GPUCommandEncoder) => void): Promise<number> {
    const { device, queries } = this;
    const encoder = device.createCommandEncoder();
    if (queries) encoder.beginComputePass({ timestampWrites: { querySet: queries.set, beginningOfPassWriteIndex: 0 } }).end();
    encode(encoder);
    if (queries) {
      encoder.beginComputePass({ timestampWrites: { querySet: queries.set, endOfPassWriteIndex: 1 } }).end();
      encoder.resolveQuerySet(queries.set, 0, 2, queries.resolve, 0);
      encoder.copyBufferToBuffer(queries.resolve, 0, queries.readback, 0, 16);
    }
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - start;
    if (!queries) return wallMs;

    await queries.readback.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigUint64Array(queries.readback.getMappedRange().slice(0));
    queries.readback.unmap();
    return Number(end - begin) / 1e6;
  }
}

async function readFloats(device: GPUDevice, buffer: GPUBuffer, count: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: count * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, count * 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const values = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return values;
}

function checkOptions(options: BenchOptions): void {
  for (const tile of options.tiles) {
    if (!TEXTURE_GEMM_TILES.some((t) => t.rows === tile.rows && t.vec4s === tile.vec4s)) {
      throw new Error(`unknown tile ${tile.rows}x${tile.vec4s}; use one of ${TEXTURE_GEMM_TILES.map((t) => `${t.rows}x${t.vec4s}`).join(', ')}.`);
    }
  }
  for (const variant of options.variants) {
    if (!ALL_VARIANTS.includes(variant)) throw new Error(`unknown GEMM variant ${JSON.stringify(variant)}; use one of ${ALL_VARIANTS.join(', ')}.`);
  }
  for (const { m, k, n } of options.shapes) {
    if (k % 4 !== 0 || n % 4 !== 0) throw new Error(`shape ${m}x${k}x${n}: k and n must be multiples of 4 (the kernels read vec4s).`);
  }
}

async function run(options: BenchOptions): Promise<BenchReport> {
  checkOptions(options);
  const { device, adapter } = await createBenchDevice();
  const pipelines = new PipelineCache(device);
  const pool = new BufferPool(device);
  const timer = new Timer(device);
  const selected = options.variants.length ? options.variants : ALL_VARIANTS;
  const skipped = selected.filter((variant) => variant === 'textureSubgroups' && !device.features.has('subgroups'));
  const runnable = selected.filter((variant) => !skipped.includes(variant));
  await pipelines.prepare(runnable.flatMap((variant) => gemmKernels(variant)));
  const largest = {
    inFeatures: Math.max(...options.shapes.map((shape) => shape.k)),
    outPadded: Math.max(...options.shapes.map((shape) => shape.n)),
  };
  const chosen = chooseGemmVariant(gemmDeviceFacts(device), largest);

  const results: BenchResult[] = [];
  for (const shape of options.shapes) {
    const { m, k, n } = shape;
    const a = randomArray(m * k, 1, -1, 1);
    const w = randomArray(k * n, 2, -0.2, 0.2);
    const bias = randomArray(n, 3, -1, 1);
    const expected = cpuGemm(a, w, bias, shape);
    const flops = 2 * m * n * k;
    const repeats = Math.max(1, Math.ceil((options.minGflopPerRun * 1e9) / flops));

    // Every variant's buffers stay alive for the whole shape, and the timed runs go round-robin over
    // the variants, so that load from other processes on the machine spreads over all variants alike.
    const entries = runnable.flatMap((variant): Array<{ variant: GemmVariant; tile: GemmTile | undefined }> =>
      variant === 'tiled' || options.tiles.length === 0 ? [{ variant, tile: undefined }] : options.tiles.map((tile) => ({ variant, tile })),
    );
    const prepared = entries.map(({ variant, tile }) => {
      const operands: GemmOperands = {
        input: uploadStorage(device, 'a', a),
        // w is already [k, n], the layout transposeLinear gives the engine's weights.
        weight: uploadGemmWeight(device, variant, 'weight', w, k, n),
        bias: uploadStorage(device, 'bias', bias),
        output: device.createBuffer({ size: m * n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }),
      };
      const encode = (encoder: GPUCommandEncoder) => {
        const recorder = new ComputeRecorder(device, pipelines);
        for (let i = 0; i < repeats; i++) dispatchGemm(recorder, variant, 'none', operands, { rows: m, inFeatures: k, outPadded: n, tile });
        recorder.encode(encoder, (bytes) => pool.acquire('uniforms', bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
      };
      const tileName = tile ? gemmTileName(tile) : 'auto';
      return { variant, tileName, operands, encode, gflops: [] as number[], gflopPerCpuSecond: [] as number[] };
    });

    device.pushErrorScope('validation');
    for (let run = 0; run < options.warmup + options.runs; run++) {
      for (const entry of prepared) {
        const cpuBefore = await window.gpuProcessCpuNs?.();
        const ms = await timer.time(entry.encode);
        const cpuAfter = await window.gpuProcessCpuNs?.();
        if (run < options.warmup) continue;
        entry.gflops.push((flops * repeats) / (ms * 1e6));
        if (cpuBefore !== undefined && cpuAfter !== undefined) entry.gflopPerCpuSecond.push((flops * repeats) / (cpuAfter - cpuBefore));
      }
    }
    const error = await device.popErrorScope();
    if (error) throw new Error(`shape ${m}x${k}x${n}: validation error: ${error.message}`);

    for (const { variant, tileName, operands, gflops, gflopPerCpuSecond } of prepared) {
      const gpu = await readFloats(device, operands.output, m * n);
      let maxError = 0;
      for (let i = 0; i < m * n; i++) {
        const diff = Math.abs(gpu[i] - expected[i]);
        maxError = Number.isNaN(diff) ? Infinity : Math.max(maxError, diff);
      }
      Object.values(operands).forEach((resource) => resource.destroy());
      results.push({ variant, tile: tileName, shape, repeats, gflops, gflopPerCpuSecond, maxError });
    }
  }
  pool.destroy();
  device.destroy();
  return { adapter, timer: timer.kind, chosen, skipped, results };
}

window.gemmBench = { run };
window.gemmBenchReady = true;
