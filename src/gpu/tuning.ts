/**
 * Per-adapter kernel choices, with the measurement behind each one. Numbers
 * come from `node bench/gemm.mjs` (bench/gemm.ts) in headless Chromium 156 on
 * a 2-core Xeon VM with SwiftShader, the CPU Vulkan implementation.
 */

/**
 * The GEMM strategies (shaders/gemm-tiled.wgsl and shaders/gemm.wgsl):
 * - 'tiled': 64 x 64 output tiles staged through workgroup memory, the weight
 *   in a [k, n] storage buffer. The usual choice for GPUs.
 * - 'texture': no workgroup memory; each invocation keeps a 16 x 8 output
 *   tile in registers and samples the weight from an rgba32float texture.
 * - 'textureSubgroups': 'texture', with each row of a read once per subgroup
 *   and shared through subgroupBroadcast. Needs the 'subgroups' feature.
 */
export type GemmVariant = 'tiled' | 'texture' | 'textureSubgroups';

/** Kind of resource that stores a GEMM variant's weight. */
export type GemmWeightStorage = 'buffer' | 'texture';

/** The facts about a device that the GEMM choice depends on. */
export interface GemmDeviceFacts {
  /** GPUAdapterInfo.vendor and .architecture; empty when the browser does not tell. */
  vendor: string;
  architecture: string;
  /** Whether the device was created with the 'subgroups' feature (an adapter that offers it is not enough). */
  subgroups: boolean;
  maxTextureDimension2D: number;
}

/** Reads the GEMM-relevant facts from a device (GPUDevice.adapterInfo needs Chrome 132 or later). */
export function gemmDeviceFacts(device: GPUDevice): GemmDeviceFacts {
  const info: GPUAdapterInfo | undefined = device.adapterInfo;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    subgroups: device.features.has('subgroups'),
    maxTextureDimension2D: device.limits.maxTextureDimension2D,
  };
}

/** Whether the adapter is SwiftShader, the CPU Vulkan implementation Chromium falls back to without a GPU. */
export function isSwiftShader(facts: Pick<GemmDeviceFacts, 'vendor' | 'architecture'>): boolean {
  return facts.vendor === 'google' && facts.architecture === 'swiftshader';
}

/**
 * Picks the GEMM variant for a device, given the largest weight it must hold
 * ([inFeatures, outPadded], outPadded a multiple of 4).
 */
export function chooseGemmVariant(facts: GemmDeviceFacts, largestWeight: { inFeatures: number; outPadded: number }): GemmVariant {
  // GPUs: workgroup memory is fast and barriers are cheap, so the tiled kernel's data reuse wins.
  // NOTE: no GPU was available to measure this; it follows how tiled GEMMs behave on GPUs in general.
  if (!isSwiftShader(facts)) return 'tiled';

  // SwiftShader runs a kernel that has barriers as one coroutine per 4-invocation SIMD group, which
  // switch at every barrier, and it loads a buffer element whose index differs per invocation with
  // one scalar load per lane. So kernels that reuse registers and skip workgroup memory win here.
  // At 128 x 768 x 3072, per CPU-second: tiled 1.0 GFLOP, 'texture' 2.6, 'textureSubgroups' 5.1
  // (about 10 GFLOP/s on two idle cores). bench/gemm.md has the full table.
  const limit = facts.maxTextureDimension2D;
  if (largestWeight.inFeatures > limit || largestWeight.outPadded / 4 > limit) {
    // TODO: split such weights over several textures; until then they take the slow but general path.
    return 'tiled';
  }
  return facts.subgroups ? 'textureSubgroups' : 'texture';
}

/** Returns the kind of resource `variant` reads its weight from, so that weights are uploaded in that form. */
export function gemmWeightStorage(variant: GemmVariant): GemmWeightStorage {
  return variant === 'tiled' ? 'buffer' : 'texture';
}
