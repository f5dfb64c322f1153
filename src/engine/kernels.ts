import attentionSource from '../../shaders/attention.wgsl?raw';
import fcaSource from '../../shaders/fca.wgsl?raw';
import gemmSource from '../../shaders/gemm.wgsl?raw';
import layerNormSource from '../../shaders/layernorm.wgsl?raw';
import poolingSource from '../../shaders/pooling.wgsl?raw';
import { alignTo } from '../gpu/buffers.js';
import type { KernelSpec, PipelineCache } from '../gpu/pipelines.js';

const NO_DEFINES = {};

/** Every kernel the engine dispatches, by name. */
export const KERNELS = {
  embeddingsLayerNorm: { name: 'embeddingsLayerNorm', source: layerNormSource, entryPoint: 'embeddingsLayerNorm', defines: NO_DEFINES },
  gemm: { name: 'gemm', source: gemmSource, entryPoint: 'gemm', defines: { GELU: false, TANH: false } },
  gemmGelu: { name: 'gemmGelu', source: gemmSource, entryPoint: 'gemm', defines: { GELU: true, TANH: false } },
  gemmTanh: { name: 'gemmTanh', source: gemmSource, entryPoint: 'gemm', defines: { GELU: false, TANH: true } },
  attentionScores: { name: 'attentionScores', source: attentionSource, entryPoint: 'attentionScores', defines: NO_DEFINES },
  softmaxRows: { name: 'softmaxRows', source: attentionSource, entryPoint: 'softmaxRows', defines: NO_DEFINES },
  attentionContext: { name: 'attentionContext', source: attentionSource, entryPoint: 'attentionContext', defines: NO_DEFINES },
  addLayerNorm: { name: 'addLayerNorm', source: layerNormSource, entryPoint: 'addLayerNorm', defines: NO_DEFINES },
  attentionColumnScores: { name: 'attentionColumnScores', source: fcaSource, entryPoint: 'attentionColumnScores', defines: { MEAN_CLUSTERS: false } },
  topKSelect: { name: 'topKSelect', source: fcaSource, entryPoint: 'topKSelect', defines: { MEAN_CLUSTERS: false } },
  assignDestinations: { name: 'assignDestinations', source: fcaSource, entryPoint: 'assignDestinations', defines: { MEAN_CLUSTERS: false } },
  gatherMerge: { name: 'gatherMerge', source: fcaSource, entryPoint: 'gatherMerge', defines: { MEAN_CLUSTERS: false } },
  gatherMergeMean: { name: 'gatherMergeMean', source: fcaSource, entryPoint: 'gatherMerge', defines: { MEAN_CLUSTERS: true } },
  poolRows: { name: 'poolRows', source: poolingSource, entryPoint: 'poolRows', defines: NO_DEFINES },
} satisfies Record<string, KernelSpec>;

export type KernelName = keyof typeof KERNELS;

/** A uniform field: a plain number is a u32, `{ f32 }` a float. */
export type ParamField = number | { f32: number };

/** Bytes per dispatch's uniform slot: WebGPU's minimum uniform-buffer offset alignment. */
const UNIFORM_SLOT_BYTES = 256;

/**
 * Records the dispatches of one forward pass into a single compute pass.
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

  /** Queues a dispatch; `bindings` maps binding indices (1 and up) to buffers, binding 0 is the uniform slot. */
  dispatch(kernel: KernelSpec, params: ParamField[], bindings: Record<number, GPUBuffer>, workgroups: [number, number?, number?]): void {
    const slot = new ArrayBuffer(UNIFORM_SLOT_BYTES);
    const asU32 = new Uint32Array(slot);
    const asF32 = new Float32Array(slot);
    params.forEach((field, i) => {
      if (typeof field === 'number') asU32[i] = field;
      else asF32[i] = field.f32;
    });
    this.slots.push(slot);

    const entries: GPUBindGroupEntry[] = Object.entries(bindings).map(([binding, buffer]) => ({
      binding: Number(binding),
      resource: { buffer },
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

    const pass = encoder.beginComputePass({ label: 'forward pass' });
    this.bindGroups.forEach(({ kernel, entries, workgroups }, i) => {
      const pipeline = this.pipelines.get(kernel);
      const bindGroup = this.device.createBindGroup({
        label: kernel.name,
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: uniforms, offset: i * UNIFORM_SLOT_BYTES, size: UNIFORM_SLOT_BYTES } }, ...entries],
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...workgroups);
    });
    pass.end();
  }

  /** Kernel names in dispatch order, for debugging and profiling. */
  get dispatchNames(): string[] {
    return this.bindGroups.map(({ kernel }) => kernel.name);
  }
}

/** Workgroups needed to cover `items` with `size` items per workgroup. */
export function groups(items: number, size: number): number {
  return Math.max(1, Math.ceil(items / size));
}

/**
 * The cluster-merge kernel for a weighting, and its bindings. The mean
 * variant never reads the scores, and a pipeline with an automatic layout
 * rejects a binding its entry point does not use, so binding 4 is left out.
 */
export function gatherMergeDispatch(
  weighting: 'weighted' | 'mean',
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
  if (weighting === 'weighted') bindings[4] = buffers.scores;
  return { kernel: weighting === 'mean' ? KERNELS.gatherMergeMean : KERNELS.gatherMerge, bindings };
}
