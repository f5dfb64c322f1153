import attentionSource from '../../shaders/attention.wgsl?raw';
import fcaSource from '../../shaders/fca.wgsl?raw';
import gemmActivationSource from '../../shaders/gemm-activation.wgsl?raw';
import gemmTiledSource from '../../shaders/gemm-tiled.wgsl?raw';
import gemmSource from '../../shaders/gemm.wgsl?raw';
import layerNormSource from '../../shaders/layernorm.wgsl?raw';
import poolingSource from '../../shaders/pooling.wgsl?raw';
import { alignTo } from '../gpu/buffers.js';
import type { KernelSpec, PipelineCache } from '../gpu/pipelines.js';
import { TEXTURE_GEMM_TILES, TILED_GEMM_TILE, chooseGemmTile, gemmTileName, gemmWeightStorage, type GemmTile, type GemmVariant } from '../gpu/tuning.js';

const NO_DEFINES = {};
// AUTHORS selects the FCA authors' code's arithmetic (FCA variant 'reference').
const STANDARD = { AUTHORS: false };
const AUTHORS = { AUTHORS: true };

/** Every kernel the engine dispatches, by name, except the GEMMs: those depend on the adapter (GEMM_KERNELS). */
export const KERNELS = {
  embeddingsLayerNorm: { name: 'embeddingsLayerNorm', source: layerNormSource, entryPoint: 'embeddingsLayerNorm', defines: STANDARD },
  embeddingsLayerNormAuthors: { name: 'embeddingsLayerNormAuthors', source: layerNormSource, entryPoint: 'embeddingsLayerNorm', defines: AUTHORS },
  attentionScores: { name: 'attentionScores', source: attentionSource, entryPoint: 'attentionScores', defines: STANDARD },
  softmaxRows: { name: 'softmaxRows', source: attentionSource, entryPoint: 'softmaxRows', defines: STANDARD },
  softmaxRowsAuthors: { name: 'softmaxRowsAuthors', source: attentionSource, entryPoint: 'softmaxRows', defines: AUTHORS },
  attentionContext: { name: 'attentionContext', source: attentionSource, entryPoint: 'attentionContext', defines: STANDARD },
  addLayerNorm: { name: 'addLayerNorm', source: layerNormSource, entryPoint: 'addLayerNorm', defines: STANDARD },
  attentionColumnScores: { name: 'attentionColumnScores', source: fcaSource, entryPoint: 'attentionColumnScores', defines: { MEAN_CLUSTERS: false, ...STANDARD } },
  topKSelect: { name: 'topKSelect', source: fcaSource, entryPoint: 'topKSelect', defines: { MEAN_CLUSTERS: false, ...STANDARD } },
  topKSelectAuthors: { name: 'topKSelectAuthors', source: fcaSource, entryPoint: 'topKSelect', defines: { MEAN_CLUSTERS: false, ...AUTHORS } },
  assignDestinations: { name: 'assignDestinations', source: fcaSource, entryPoint: 'assignDestinations', defines: { MEAN_CLUSTERS: false, ...STANDARD } },
  assignDestinationsAuthors: { name: 'assignDestinationsAuthors', source: fcaSource, entryPoint: 'assignDestinations', defines: { MEAN_CLUSTERS: false, ...AUTHORS } },
  gatherMerge: { name: 'gatherMerge', source: fcaSource, entryPoint: 'gatherMerge', defines: { MEAN_CLUSTERS: false, ...STANDARD } },
  gatherMergeMean: { name: 'gatherMergeMean', source: fcaSource, entryPoint: 'gatherMerge', defines: { MEAN_CLUSTERS: true, ...STANDARD } },
  gatherMergeAuthors: { name: 'gatherMergeAuthors', source: fcaSource, entryPoint: 'gatherMerge', defines: { MEAN_CLUSTERS: false, ...AUTHORS } },
  poolRows: { name: 'poolRows', source: poolingSource, entryPoint: 'poolRows', defines: NO_DEFINES },
} satisfies Record<string, KernelSpec>;

export type KernelName = keyof typeof KERNELS;

/** A uniform field: a plain number is a u32, `{ f32 }` a float. */
export type ParamField = number | { f32: number };

/** Bytes per dispatch's uniform slot: WebGPU's minimum uniform-buffer offset alignment. */
const UNIFORM_SLOT_BYTES = 256;

/**
 * Records the dispatches of one forward pass into a single compute pass
 * (one pass per dispatch while a DispatchProfiler is attached).
 * Each dispatch's shape parameters go into its own 256-byte slot of one
 * uniform buffer, written once before the pass is submitted.
 */
export class ComputeRecorder {
  private readonly slots: ArrayBuffer[] = [];
  private readonly bindGroups: Array<{ kernel: KernelSpec; entries: GPUBindGroupEntry[]; workgroups: [number, number, number] }> = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly pipelines: PipelineCache,
  ) {}

  /** Queues a dispatch; `bindings` maps binding indices (1 and up) to buffers or texture views, binding 0 is the uniform slot. */
  dispatch(kernel: KernelSpec, params: ParamField[], bindings: Record<number, GPUBuffer | GPUTextureView>, workgroups: [number, number?, number?]): void {
    const slot = new ArrayBuffer(UNIFORM_SLOT_BYTES);
    const asU32 = new Uint32Array(slot);
    const asF32 = new Float32Array(slot);
    params.forEach((field, i) => {
      if (typeof field === 'number') asU32[i] = field;
      else asF32[i] = field.f32;
    });
    this.slots.push(slot);

    const entries: GPUBindGroupEntry[] = Object.entries(bindings).map(([binding, resource]) => ({
      binding: Number(binding),
      resource: 'size' in resource ? { buffer: resource } : resource,
    }));
    const [x, y = 1, z = 1] = workgroups;
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > limit || y > limit || z > limit) {
      throw new Error(`kernel ${kernel.name}: dispatch (${x}, ${y}, ${z}) exceeds the device limit of ${limit} workgroups per dimension; use a smaller batch.`);
    }
    this.bindGroups.push({ kernel, entries, workgroups: [x, y, z] });
  }

  /** Encodes the queued dispatches into `encoder` and uploads their uniforms. */
  encode(encoder: GPUCommandEncoder, uniformBuffer: (bytes: number) => GPUBuffer): void {
    const uniforms = uniformBuffer(alignTo(this.slots.length * UNIFORM_SLOT_BYTES, UNIFORM_SLOT_BYTES));
    const packed = new Uint8Array(this.slots.length * UNIFORM_SLOT_BYTES);
    this.slots.forEach((slot, i) => packed.set(new Uint8Array(slot), i * UNIFORM_SLOT_BYTES));
    this.device.queue.writeBuffer(uniforms, 0, packed);

    // Profiling mode only: one timed pass per dispatch instead of one pass for all.
    const profiler = dispatchProfilers.get(this.device);
    const shared = profiler ? null : encoder.beginComputePass({ label: 'forward pass' });
    this.bindGroups.forEach(({ kernel, entries, workgroups }, i) => {
      const pipeline = this.pipelines.get(kernel);
      const bindGroup = this.device.createBindGroup({
        label: kernel.name,
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: uniforms, offset: i * UNIFORM_SLOT_BYTES, size: UNIFORM_SLOT_BYTES } }, ...entries],
      });
      const pass = shared ?? encoder.beginComputePass({ label: kernel.name, timestampWrites: profiler!.timestampWrites(kernel.name) });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...workgroups);
      if (!shared) pass.end();
    });
    shared?.end();
    profiler?.finishEncoding(encoder);
  }

  /** Kernel names in dispatch order, for debugging and profiling. */
  get dispatchNames(): string[] {
    return this.bindGroups.map(({ kernel }) => kernel.name);
  }
}

/** Receives the dispatches of every ComputeRecorder on a device while attached (see attachDispatchProfiler). */
export interface DispatchProfiler {
  /** Timestamp writes for the compute pass of the next dispatch, which runs kernel `kernelName`. */
  timestampWrites(kernelName: string): GPUComputePassTimestampWrites;
  /** Called once after a recorder's last dispatch, to resolve that encoder's queries. */
  finishEncoding(encoder: GPUCommandEncoder): void;
}

const dispatchProfilers = new WeakMap<GPUDevice, DispatchProfiler>();

/** Attaches `profiler` to every ComputeRecorder on `device` (null detaches it). */
export function attachDispatchProfiler(device: GPUDevice, profiler: DispatchProfiler | null): void {
  if (profiler) dispatchProfilers.set(device, profiler);
  else dispatchProfilers.delete(device);
}

/** Workgroups needed to cover `items` with `size` items per workgroup. */
export function groups(items: number, size: number): number {
  return Math.max(1, Math.ceil(items / size));
}

/**
 * Returns the cluster-merge kernel for a weighting ('authors' is FCA variant
 * 'reference'), and its bindings. The mean variant never reads the scores,
 * and a pipeline with an automatic layout rejects a binding its entry point
 * does not use, so binding 4 is left out.
 */
export function gatherMergeDispatch(
  weighting: 'weighted' | 'mean' | 'authors',
  buffers: { seqInfo: GPUBuffer; scores: GPUBuffer; destination: GPUBuffer; source: GPUBuffer; hiddenIn: GPUBuffer; hiddenOut: GPUBuffer; provenanceIn: GPUBuffer; provenanceOut: GPUBuffer },
): { kernel: KernelSpec; bindings: Record<number, GPUBuffer> } {
  const bindings: Record<number, GPUBuffer> = {
    1: buffers.seqInfo,
    9: buffers.destination,
    10: buffers.source,
    11: buffers.hiddenIn,
    12: buffers.hiddenOut,
    13: buffers.provenanceIn,
    14: buffers.provenanceOut,
  };
  if (weighting !== 'mean') bindings[4] = buffers.scores;
  const kernels = { mean: KERNELS.gatherMergeMean, authors: KERNELS.gatherMergeAuthors, weighted: KERNELS.gatherMerge };
  const kernel = kernels[weighting];
  return { kernel, bindings };
}

/** The activation a GEMM applies to its output. */
export type GemmActivation = 'none' | 'gelu' | 'tanh';

/**
 * Per variant: the WGSL, the kernel-name prefix and the output tiles it
 * compiles. activate() lives in gemm-activation.wgsl, appended after the
 * kernel so that `enable` directives stay first.
 */
const GEMM_VARIANTS: Record<GemmVariant, { source: string; name: string; defines: Record<string, boolean>; tiles: readonly GemmTile[] }> = {
  tiled: { source: `${gemmTiledSource}\n${gemmActivationSource}`, name: 'gemmTiled', defines: {}, tiles: [TILED_GEMM_TILE] },
  texture: { source: `${gemmSource}\n${gemmActivationSource}`, name: 'gemmTexture', defines: { SUBGROUPS: false }, tiles: TEXTURE_GEMM_TILES },
  textureSubgroups: { source: `${gemmSource}\n${gemmActivationSource}`, name: 'gemmTextureSubgroups', defines: { SUBGROUPS: true }, tiles: TEXTURE_GEMM_TILES },
};

const GEMM_ACTIVATIONS: Record<GemmActivation, { suffix: string; defines: { GELU: boolean; TANH: boolean } }> = {
  none: { suffix: '', defines: { GELU: false, TANH: false } },
  gelu: { suffix: 'Gelu', defines: { GELU: true, TANH: false } },
  tanh: { suffix: 'Tanh', defines: { GELU: false, TANH: true } },
};

const gemmKernelCache = new Map<string, KernelSpec>();

/**
 * Returns the kernel of one GEMM variant, activation and tile, named
 * gemm<Variant>[<Tile>]<Activation> (for example gemmTextureSubgroupsR4Gelu);
 * the variant's first tile, its default, adds no tile to the name.
 */
export function gemmKernel(variant: GemmVariant, activation: GemmActivation, tile: GemmTile = GEMM_VARIANTS[variant].tiles[0]): KernelSpec {
  const { source, name, defines, tiles } = GEMM_VARIANTS[variant];
  const known = tiles.find((t) => t.rows === tile.rows && t.vec4s === tile.vec4s);
  if (!known) {
    throw new Error(`gemm: variant ${variant} has no ${tile.rows} x ${tile.vec4s} tile; use one of ${tiles.map((t) => `${t.rows} x ${t.vec4s}`).join(', ')}.`);
  }
  const act = GEMM_ACTIVATIONS[activation];
  const tileName = known === tiles[0] ? '' : gemmTileName(known);
  const kernelName = `${name}${tileName}${act.suffix}`;
  let kernel = gemmKernelCache.get(kernelName);
  if (!kernel) {
    const tileDefines: Record<string, boolean> = variant === 'tiled' ? {} : { ROWS_8: known.rows >= 8, ROWS_16: known.rows === 16 };
    kernel = { name: kernelName, source, entryPoint: 'gemm', defines: { ...defines, ...tileDefines, ...act.defines } };
    gemmKernelCache.set(kernelName, kernel);
  }
  return kernel;
}

/** Lists the kernels a pass may dispatch for GEMMs of `variant` (every tile and activation), for compiling ahead of time. */
export function gemmKernels(variant: GemmVariant): KernelSpec[] {
  const activations = Object.keys(GEMM_ACTIVATIONS) as GemmActivation[];
  return GEMM_VARIANTS[variant].tiles.flatMap((tile) => activations.map((activation) => gemmKernel(variant, activation, tile)));
}

/** A GEMM's operands. `weight` is a buffer or a texture, as gemmWeightStorage(variant) returns (see uploadGemmWeight). */
export interface GemmOperands {
  input: GPUBuffer;
  weight: GPUBuffer | GPUTexture;
  bias: GPUBuffer;
  output: GPUBuffer;
}

/** Sizes of output[rows, outPadded] = input[rows, inFeatures] weight[inFeatures, outPadded]. */
export interface GemmShape {
  rows: number;
  inFeatures: number;
  outPadded: number;
  /** vec4s from one input row to the next; inFeatures / 4 (the default) for a dense matrix. */
  aRowStride?: number;
  /** Output tile of one workgroup; chooseGemmTile picks one of the variant's tiles when absent. */
  tile?: GemmTile;
}

const weightViews = new WeakMap<GPUTexture, GPUTextureView>();

function weightBinding(variant: GemmVariant, weight: GPUBuffer | GPUTexture): GPUBuffer | GPUTextureView {
  const isTexture = 'createView' in weight;
  const expected = gemmWeightStorage(variant);
  if (isTexture !== (expected === 'texture')) {
    throw new Error(`gemm: variant ${variant} reads its weight from a ${expected}, got a ${isTexture ? 'texture' : 'buffer'}; upload it with uploadGemmWeight for that variant.`);
  }
  if (!isTexture) return weight;
  let view = weightViews.get(weight);
  if (!view) {
    view = weight.createView();
    weightViews.set(weight, view);
  }
  return view;
}

/**
 * Queues output = act(input weight + bias) with the kernel of `variant`. The
 * engine's GEMMs (scheduler) and the GEMM tests go through this one function.
 */
export function dispatchGemm(recorder: ComputeRecorder, variant: GemmVariant, activation: GemmActivation, operands: GemmOperands, shape: GemmShape): void {
  const { rows, inFeatures, outPadded, aRowStride = inFeatures / 4 } = shape;
  if (inFeatures % 4 !== 0 || outPadded % 4 !== 0) {
    throw new Error(`gemm: inFeatures ${inFeatures} and outPadded ${outPadded} must be multiples of 4 (the kernels read vec4s); pad the weight.`);
  }
  if (!Number.isInteger(rows) || rows < 1) {
    throw new Error(`gemm: rows must be a positive integer, got ${rows}.`);
  }
  const tile = shape.tile ?? chooseGemmTile(GEMM_VARIANTS[variant].tiles, shape);
  recorder.dispatch(
    gemmKernel(variant, activation, tile),
    [rows, outPadded, inFeatures, aRowStride],
    { 1: operands.input, 2: weightBinding(variant, operands.weight), 3: operands.bias, 4: operands.output },
    [groups(outPadded / 4, tile.vec4s), groups(rows, tile.rows)],
  );
}
