// Activation epilogue shared by the GEMM kernels; kernels.ts appends this file
// to each GEMM source. GELU and TANH select the activation, neither is identity.

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
