// GEMM with bias and an optional activation epilogue:
//   output[m, n] = act(sum_k a[m, k] * w[k, n] + bias[n])
// The weight is stored transposed from PyTorch's [out, in] to [in, out] so
// that a thread reads a vec4 of four adjacent output columns per k.
// Each thread owns a 4x4 output block (4 rows x one vec4 of columns) held in
// registers; there is no workgroup memory, which is the fast strategy on CPU
// Vulkan implementations where barriers are expensive.
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

// erf from Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7), enough for float32.
fn erfApprox(x: vec4<f32>) -> vec4<f32> {
  let s = sign(x);
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t;
  return s * (1.0 - poly * exp(-ax * ax));
}

fn activate(x: vec4<f32>) -> vec4<f32> {
#if GELU
  return 0.5 * x * (1.0 + erfApprox(x * 0.7071067811865476));
#elif TANH
  // tanh of a large argument can overflow to inf / inf in some implementations; |x| > 15 is +-1 in float32.
  return tanh(clamp(x, vec4<f32>(-15.0), vec4<f32>(15.0)));
#else
  return x;
#endif
}

@compute @workgroup_size(8, 8)
fn gemm(@builtin(global_invocation_id) gid: vec3<u32>) {
  let nVec = params.n / 4u;
  let col = gid.x;
  let row0 = gid.y * 4u;
  if (col >= nVec || row0 >= params.m) {
    return;
  }

  // Rows past m read row m - 1 instead of out-of-range memory; their results are not stored.
  let last = params.m - 1u;
  let aBase0 = row0 * params.aRowStride;
  let aBase1 = min(row0 + 1u, last) * params.aRowStride;
  let aBase2 = min(row0 + 2u, last) * params.aRowStride;
  let aBase3 = min(row0 + 3u, last) * params.aRowStride;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  let kVec = params.k / 4u;
  for (var kk = 0u; kk < kVec; kk++) {
    let wBase = kk * 4u * nVec + col;
    let w0 = w[wBase];
    let w1 = w[wBase + nVec];
    let w2 = w[wBase + 2u * nVec];
    let w3 = w[wBase + 3u * nVec];

    let a0 = a[aBase0 + kk];
    let a1 = a[aBase1 + kk];
    let a2 = a[aBase2 + kk];
    let a3 = a[aBase3 + kk];
    acc0 += a0.x * w0 + a0.y * w1 + a0.z * w2 + a0.w * w3;
    acc1 += a1.x * w0 + a1.y * w1 + a1.z * w2 + a1.w * w3;
    acc2 += a2.x * w0 + a2.y * w1 + a2.z * w2 + a2.w * w3;
    acc3 += a3.x * w0 + a3.y * w1 + a3.z * w2 + a3.w * w3;
  }

  let b = bias[col];
  output[row0 * nVec + col] = activate(acc0 + b);
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
