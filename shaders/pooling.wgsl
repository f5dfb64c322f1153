// Sentence embeddings from the last layer's hidden states, one thread per
// (vec4 column, sequence):
//   mean pooling: sum_o count[o] * hidden[o] / sum_o count[o] over the real
//                 rows, where count is how many original tokens a row stands
//                 for (1 for a token, the group size for an FCA cluster);
//   CLS pooling:  row 0.

struct Params {
  batch: u32,
  seqStride: u32,
  hidden: u32,
  infoBase: u32,     // seqInfo index of the last layer's first sequence
  clsOnly: u32,      // 1: take row 0; 0: weighted mean
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> seqInfo: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> hiddenIn: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> provenance: array<vec2<i32>>;
@group(0) @binding(4) var<storage, read_write> output: array<vec4<f32>>;

@compute @workgroup_size(64)
fn poolRows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let hiddenVec = params.hidden / 4u;
  let col = gid.x;
  let b = gid.y;
  if (col >= hiddenVec || b >= params.batch) {
    return;
  }
  let firstRow = b * params.seqStride;
  if (params.clsOnly == 1u) {
    output[b * hiddenVec + col] = hiddenIn[firstRow * hiddenVec + col];
    return;
  }
  let n = seqInfo[params.infoBase + b].w;
  var sum = vec4<f32>(0.0);
  var total = 0.0;
  for (var o = 0u; o < n; o++) {
    let weight = f32(provenance[firstRow + o].y);
    sum += weight * hiddenIn[(firstRow + o) * hiddenVec + col];
    total += weight;
  }
  output[b * hiddenVec + col] = sum / total;
}
