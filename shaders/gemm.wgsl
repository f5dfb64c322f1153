// GEMM with bias and an activation epilogue, for CPU implementations of WebGPU
// (SwiftShader), where every invocation runs as one lane of a 4-wide SIMD group:
//   output[m, n] = act(sum_k a[m, k] * w[k, n] + bias[n])
//
// Why it looks like this (measured on SwiftShader, see bench/gemm.md):
// - A storage-buffer load whose index differs per lane costs one scalar load
//   per lane and component, so loads dominate. Each invocation keeps a ROWS x 8
//   output tile in registers (ROWS = 16, 8 or 4: up to eight mat4x4
//   accumulators) to reuse every loaded value many times.
// - The weight is an rgba32float texture of n/4 x k texels, texel (c, k) being
//   w[k, 4c .. 4c + 3]. A textureLoad costs about as much as a vec4 buffer
//   load but leaves far less code in the loop, and measured about 10 % faster.
// - Every invocation of a workgroup works on the same ROWS rows. With SUBGROUPS,
//   invocation i of a subgroup loads a[row, k0 + i] for i < 4 and
//   subgroupBroadcast hands the four values to the whole subgroup, so a row is
//   read once per subgroup instead of once per invocation. This is correct for any
//   subgroup size (WebGPU subgroups have at least 4 invocations), because the
//   rows do not depend on the invocation.
// - No workgroup memory: workgroup barriers are very expensive on SwiftShader.
//
// Requires k and n to be multiples of 4 (the loader pads n); any m works.
#if SUBGROUPS
enable subgroups;
#endif

struct Params {
  m: u32,
  n: u32,
  k: u32,
  aRowStride: u32,  // vec4s between consecutive rows of a (k / 4 for a dense matrix)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var weight: texture_2d<f32>;
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>;

// Rows per workgroup: one block of 4 rows, a second one with ROWS_8, two more with ROWS_16 (which
// needs ROWS_8 too). Short inputs take the smaller tiles, which compute fewer rows past m and give
// the CPU threads more workgroups to share.
#if ROWS_16
const ROWS = 16u;
#elif ROWS_8
const ROWS = 8u;
#else
const ROWS = 4u;
#endif
// Invocations per workgroup; each invocation owns 2 vec4 columns, so a workgroup covers 64 columns.
// Narrow workgroups make more of them on small matrices, for the CPU threads to share; on large ones
// 8 and 32 invocations measured the same.
const WORKGROUP = 8u;

// The 4 x 4 block w[k0 .. k0 + 3, 4 col .. 4 col + 3]; column j of the matrix is weight row k0 + j.
fn weightBlock(col: u32, k0: u32) -> mat4x4<f32> {
  return mat4x4<f32>(
    textureLoad(weight, vec2<u32>(col, k0), 0),
    textureLoad(weight, vec2<u32>(col, k0 + 1u), 0),
    textureLoad(weight, vec2<u32>(col, k0 + 2u), 0),
    textureLoad(weight, vec2<u32>(col, k0 + 3u), 0),
  );
}

#if SUBGROUPS
// a[row, kv * 4 .. kv * 4 + 3] for every invocation: invocation i < 4 of the subgroup reads element i.
fn aRow(rowStart: u32, kv: u32, lane: u32) -> vec4<f32> {
  let mine = a[rowStart + kv][lane];
  return vec4<f32>(subgroupBroadcast(mine, 0u), subgroupBroadcast(mine, 1u), subgroupBroadcast(mine, 2u), subgroupBroadcast(mine, 3u));
}
#else
fn aRow(rowStart: u32, kv: u32, lane: u32) -> vec4<f32> {
  return a[rowStart + kv];
}
#endif

// Column j of the result is a[rowStarts[j] row, kv * 4 .. kv * 4 + 3].
fn aBlock(rowStarts: vec4<u32>, kv: u32, lane: u32) -> mat4x4<f32> {
  return mat4x4<f32>(aRow(rowStarts.x, kv, lane), aRow(rowStarts.y, kv, lane), aRow(rowStarts.z, kv, lane), aRow(rowStarts.w, kv, lane));
}

// Stores column j of `block` (4 output columns of row row0 + j) with bias and activation.
fn storeBlock(row0: u32, col: u32, block: mat4x4<f32>) {
  let nVec = params.n / 4u;
  if (col >= nVec) {
    return;
  }
  let b = bias[col];
  for (var j = 0u; j < 4u; j++) {
    if (row0 + j < params.m) {
      output[(row0 + j) * nVec + col] = activate(block[j] + b);
    }
  }
}

@compute @workgroup_size(WORKGROUP)
fn gemm(
  @builtin(workgroup_id) workgroup: vec3<u32>,
  @builtin(global_invocation_id) gid: vec3<u32>,
#if SUBGROUPS
  @builtin(subgroup_invocation_id) subgroupInvocation: u32,
#endif
) {
#if SUBGROUPS
  let lane = subgroupInvocation & 3u;
#else
  let lane = 0u;
#endif
  let col0 = gid.x * 2u;
  let col1 = col0 + 1u;
  let row0 = workgroup.y * ROWS;

  // Rows past m read row m - 1 instead of out-of-range memory; their results are not stored.
  let last = params.m - 1u;
  let step = vec4<u32>(0u, 1u, 2u, 3u);
  let rows0 = min(row0 + step, vec4<u32>(last)) * params.aRowStride;
#if ROWS_8
  let rows1 = min(row0 + 4u + step, vec4<u32>(last)) * params.aRowStride;
#endif
#if ROWS_16
  let rows2 = min(row0 + 8u + step, vec4<u32>(last)) * params.aRowStride;
  let rows3 = min(row0 + 12u + step, vec4<u32>(last)) * params.aRowStride;
#endif

  // acc<q><c>: rows row0 + 4q .. row0 + 4q + 3 (matrix columns) by vec4 column c.
  var acc00 = mat4x4<f32>();
  var acc01 = mat4x4<f32>();
#if ROWS_8
  var acc10 = mat4x4<f32>();
  var acc11 = mat4x4<f32>();
#endif
#if ROWS_16
  var acc20 = mat4x4<f32>();
  var acc21 = mat4x4<f32>();
  var acc30 = mat4x4<f32>();
  var acc31 = mat4x4<f32>();
#endif
  // Do not unroll further or grow the tile: on SwiftShader a loop body twice this long ran about half as fast.
  for (var kv = 0u; kv < params.k / 4u; kv++) {
    let w0 = weightBlock(col0, kv * 4u);
    let w1 = weightBlock(col1, kv * 4u);
    let a0 = aBlock(rows0, kv, lane);
    acc00 += w0 * a0;
    acc01 += w1 * a0;
#if ROWS_8
    let a1 = aBlock(rows1, kv, lane);
    acc10 += w0 * a1;
    acc11 += w1 * a1;
#endif
#if ROWS_16
    let a2 = aBlock(rows2, kv, lane);
    acc20 += w0 * a2;
    acc21 += w1 * a2;
    let a3 = aBlock(rows3, kv, lane);
    acc30 += w0 * a3;
    acc31 += w1 * a3;
#endif
  }

  storeBlock(row0, col0, acc00);
  storeBlock(row0, col1, acc01);
#if ROWS_8
  storeBlock(row0 + 4u, col0, acc10);
  storeBlock(row0 + 4u, col1, acc11);
#endif
#if ROWS_16
  storeBlock(row0 + 8u, col0, acc20);
  storeBlock(row0 + 8u, col1, acc21);
  storeBlock(row0 + 12u, col0, acc30);
  storeBlock(row0 + 12u, col1, acc31);
#endif
}
