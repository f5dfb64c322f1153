/**
 * Per-adapter kernel choices, with the measurement behind each one. Numbers
 * come from `node bench/gemm.mjs` (bench/gemm.ts) in headless Chromium 156 on
 * a 2-core Xeon VM with SwiftShader, the CPU Vulkan implementation.
 */

/**
 * The GEMM strategies (shaders/gemm-tiled.wgsl and shaders/gemm.wgsl):
 * - 'tiled': 64 x 64 output tiles staged through workgroup memory, the weight
 *   in a [k, n] storage buffer. The usual choice for GPUs.
 * - 'texture': no workgroup memory. Each invocation keeps a 16, 8 or 4 by 8
 *   output tile in registers, and it samples the weight from a texture.
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

/** Output tile of one GEMM workgroup: rows by vec4 columns. */
export interface GemmTile {
  rows: number;
  vec4s: number;
  /** Speed per CPU thread relative to the variant's default tile; 1 when absent. */
  speed?: number;
}

/** The tiled kernel's one tile (shaders/gemm-tiled.wgsl). */
export const TILED_GEMM_TILE: GemmTile = { rows: 64, vec4s: 16 };

/**
 * Tiles of the texture kernels (shaders/gemm.wgsl), the default first: 16, 8
 * or 4 rows (ROWS_16, ROWS_8) by 16 vec4 columns. Their speeds come from
 * 128x768x3072 and 128x3072x768 with `node bench/gemm.mjs --tiles
 * 16x16,8x16,4x16`, which gave 3.45, 2.82 and 1.92 GFLOP per CPU-second.
 */
export const TEXTURE_GEMM_TILES: readonly GemmTile[] = [
  { rows: 16, vec4s: 16, speed: 1 },
  { rows: 8, vec4s: 16, speed: 0.82 },
  { rows: 4, vec4s: 16, speed: 0.56 },
];

/** Returns the kernel-name part of a tile, such as R8. */
export function gemmTileName(tile: GemmTile): string {
  return `R${tile.rows}`;
}

/**
 * Estimates the CPU threads that SwiftShader spreads workgroups over as one per logical core. With 2
 * cores, the rounds this gives matched the tile timings in bench/gemm.md.
 */
function defaultThreads(): number {
  const cores = globalThis.navigator?.hardwareConcurrency;
  return Number.isInteger(cores) && cores! > 0 ? cores! : 4;
}

/**
 * Picks the tile for one GEMM (rows x inFeatures x outPadded) among `tiles`.
 * SwiftShader runs each workgroup on one CPU thread, so a GEMM takes about
 * ceil(workgroups / threads) rounds of one workgroup's time, and a workgroup
 * computes all its rows even past the matrix. Short inputs (a few rows) thus
 * want small tiles: less wasted work and more workgroups to share. At 8 x 256
 * x 256 the 8-row tile ran 1.5 times as fast as the 16-row one (bench/gemm.md).
 */
export function chooseGemmTile(tiles: readonly GemmTile[], shape: { rows: number; inFeatures: number; outPadded: number }, threads = defaultThreads()): GemmTile {
  if (tiles.length === 1) return tiles[0];
  let best = tiles[0];
  let bestCost = Infinity;
  for (const tile of tiles) {
    const workgroups = Math.ceil(shape.outPadded / 4 / tile.vec4s) * Math.ceil(shape.rows / tile.rows);
    const cost = (Math.ceil(workgroups / threads) * tile.rows * tile.vec4s) / (tile.speed ?? 1);
    if (cost < bestCost) {
      best = tile;
      bestCost = cost;
    }
  }
  return best;
}
