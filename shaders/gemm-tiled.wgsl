// GEMM with bias and an activation epilogue, for GPUs: the classic tiled kernel.
//   output[m, n] = act(sum_k a[m, k] * w[k, n] + bias[n])
// The weight is a [k, n] row-major storage buffer. A workgroup of 16 x 16
// invocations computes a 64 x 64 output tile; each invocation owns 4 rows x one
// vec4 of columns in registers. The k dimension advances in chunks of 16: the
// workgroup stages a 64 x 16 block of a and a 16 x 64 block of w in workgroup
// memory, so each global value is read once per tile instead of once per
// invocation. On SwiftShader the barriers make this kernel far slower than
// shaders/gemm.wgsl (node bench/gemm.mjs measures both); src/gpu/tuning.ts
// picks between them.
// Requires k and n to be multiples of 4 (the loader pads n); any m works.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  aRowStride: u32,  // vec4s between consecutive rows of a (k / 4 for a dense matrix)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>;

const TILE_ROWS = 64u;
const TILE_VEC4S = 16u;  // 64 output columns
const TILE_K = 16u;

// aTile[k][row] is transposed so that the four rows an invocation reads per k are adjacent.
var<workgroup> aTile: array<array<f32, TILE_ROWS>, TILE_K>;
var<workgroup> wTile: array<array<vec4<f32>, TILE_VEC4S>, TILE_K>;

@compute @workgroup_size(16, 16)
fn gemm(
  @builtin(workgroup_id) workgroup: vec3<u32>,
  @builtin(local_invocation_id) local: vec3<u32>,
  @builtin(local_invocation_index) index: u32,
) {
  let nVec = params.n / 4u;
  let kVec = params.k / 4u;
  let tileRow = workgroup.y * TILE_ROWS;
  let tileVec4 = workgroup.x * TILE_VEC4S;

  // Each of the 256 invocations stages one vec4 of a (row index / 4, k quarter index % 4)
  // and one vec4 of w (k row index / 16, column vec4 index % 16) per chunk.
  let aLoadRow = tileRow + index / 4u;
  let aLoadQuarter = index % 4u;
  let wLoadK = index / TILE_VEC4S;
  let wLoadVec4 = tileVec4 + index % TILE_VEC4S;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < params.k; k0 += TILE_K) {
    // Values past m, k or n are staged as zeros, so they add nothing.
    let aVec = k0 / 4u + aLoadQuarter;
    var aValue = vec4<f32>(0.0);
    if (aLoadRow < params.m && aVec < kVec) {
      aValue = a[aLoadRow * params.aRowStride + aVec];
    }
    for (var j = 0u; j < 4u; j++) {
      aTile[aLoadQuarter * 4u + j][index / 4u] = aValue[j];
    }
    let wRow = k0 + wLoadK;
    var wValue = vec4<f32>(0.0);
    if (wRow < params.k && wLoadVec4 < nVec) {
      wValue = w[wRow * nVec + wLoadVec4];
    }
    wTile[wLoadK][index % TILE_VEC4S] = wValue;
    workgroupBarrier();

    for (var kk = 0u; kk < TILE_K; kk++) {
      let wk = wTile[kk][local.x];
      acc0 += aTile[kk][local.y * 4u] * wk;
      acc1 += aTile[kk][local.y * 4u + 1u] * wk;
      acc2 += aTile[kk][local.y * 4u + 2u] * wk;
      acc3 += aTile[kk][local.y * 4u + 3u] * wk;
    }
    // The next chunk overwrites the tiles only after every invocation has read them.
    workgroupBarrier();
  }

  let col = tileVec4 + local.x;
  if (col >= nVec) {
    return;
  }
  let b = bias[col];
  let row0 = tileRow + local.y * 4u;
  if (row0 < params.m) {
    output[row0 * nVec + col] = activate(acc0 + b);
  }
  if (row0 + 1u < params.m) {
    output[(row0 + 1u) * nVec + col] = activate(acc1 + b);
  }
  if (row0 + 2u < params.m) {
    output[(row0 + 2u) * nVec + col] = activate(acc2 + b);
  }
  if (row0 + 3u < params.m) {
    output[(row0 + 3u) * nVec + col] = activate(acc3 + b);
  }
}
