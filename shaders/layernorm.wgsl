// LayerNorm kernels, one thread per padded row:
//   embeddingsLayerNorm: LayerNorm(word + position + token type embeddings)
//   addLayerNorm:        LayerNorm(input + residual)
// A thread walks its row three times (sum, squared deviations, normalise)
// instead of sharing the reduction across a workgroup, because workgroup
// barriers dominate on CPU Vulkan implementations and rows are short.
// Rows past a sequence's current length are left untouched by addLayerNorm
// and zeroed by embeddingsLayerNorm.
// With AUTHORS (the FCA authors' code's arithmetic) the current length counts
// padding rows, which embeddingsLayerNorm embeds like any token and marks with
// provenance (-2, 0): they stand for no original token.

struct Params {
  batch: u32,
  seqStride: u32,    // padded rows per sequence
  width: u32,
  infoBase: u32,     // index of this layer's first sequence in seqInfo
  lengthField: u32,  // which seqInfo component is the row count: 0 = nIn, 3 = nOut
  eps: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> seqInfo: array<vec4<u32>>;  // (nIn, fine, clusters, nOut) per layer and sequence
@group(0) @binding(2) var<storage, read> input: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read> gammaBeta: array<f32>;     // gamma[width] then beta[width]
@group(0) @binding(5) var<storage, read_write> output: array<f32>;
@group(0) @binding(6) var<storage, read> tokens: array<vec2<u32>>;  // (input id, token type) per padded row
@group(0) @binding(7) var<storage, read> wordEmbeddings: array<f32>;
@group(0) @binding(8) var<storage, read> positionEmbeddings: array<f32>;
@group(0) @binding(9) var<storage, read> typeEmbeddings: array<f32>;
@group(0) @binding(10) var<storage, read_write> provenance: array<vec2<i32>>; // (original position, 1) per real row, (-1, 0) for padding
// Real tokens per sequence at layer 0 (the visible prefix), indexed like seqInfo; bound by the AUTHORS embeddings only.
@group(0) @binding(11) var<storage, read> visibleInfo: array<u32>;

// Normalises output[base .. base + width), whose sum is given, in place.
fn normalizeRow(base: u32, sum: f32) {
  let d = params.width;
  let mean = sum / f32(d);
  var squares = 0.0;
  for (var c = 0u; c < d; c++) {
    let centred = output[base + c] - mean;
    squares += centred * centred;
  }
  let invStd = inverseSqrt(squares / f32(d) + params.eps);
  for (var c = 0u; c < d; c++) {
    output[base + c] = (output[base + c] - mean) * invStd * gammaBeta[c] + gammaBeta[d + c];
  }
}

@compute @workgroup_size(64)
fn addLayerNorm(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.batch * params.seqStride) {
    return;
  }
  let b = row / params.seqStride;
  let i = row % params.seqStride;
  if (i >= seqInfo[params.infoBase + b][params.lengthField]) {
    return;
  }

  let base = row * params.width;
  var sum = 0.0;
  for (var c = 0u; c < params.width; c++) {
    let v = input[base + c] + residual[base + c];
    output[base + c] = v;
    sum += v;
  }
  normalizeRow(base, sum);
}

@compute @workgroup_size(64)
fn embeddingsLayerNorm(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.batch * params.seqStride) {
    return;
  }
  let b = row / params.seqStride;
  let i = row % params.seqStride;
  let d = params.width;
  let base = row * d;
  if (i >= seqInfo[params.infoBase + b][params.lengthField]) {
    for (var c = 0u; c < d; c++) {
      output[base + c] = 0.0;
    }
    provenance[row] = vec2<i32>(-1, 0);
    return;
  }
#if AUTHORS
  provenance[row] = select(vec2<i32>(-2, 0), vec2<i32>(i32(i), 1), i < visibleInfo[params.infoBase + b]);
#else
  provenance[row] = vec2<i32>(i32(i), 1);
#endif

  let token = tokens[row];
  let wordBase = token.x * d;
  let positionBase = i * d;
  let typeBase = token.y * d;
  var sum = 0.0;
  for (var c = 0u; c < d; c++) {
    let v = wordEmbeddings[wordBase + c] + positionEmbeddings[positionBase + c] + typeEmbeddings[typeBase + c];
    output[base + c] = v;
    sum += v;
  }
  normalizeRow(base, sum);
}
