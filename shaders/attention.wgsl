// Multi-head self-attention over a padded batch, in three kernels:
//   attentionScores:  probs[b, h, i, j] = (q_i . k_j) * scale      (4x4 tile per thread)
//   softmaxRows:      probs[b, h, i, :] = softmax over the real keys j < n
//   attentionContext: context[b, i, h] = sum_j probs[b, h, i, j] * v_j
// qkv rows hold q | k | v (hidden each); heads are contiguous slices of
// headSize. Only real rows and keys (index < n, the sequence's current
// length) are read or written, so a sequence's result does not depend on the
// padded length or on the other sequences of the batch.
// With AUTHORS (the FCA authors' code's arithmetic), n counts the padded
// rows, which are all query rows, and softmaxRows masks keys j >= visible:
// the maximum runs over all n keys, masked keys get exactly 0 after the
// exponential, and each row is divided by (sum + 1e-7), Keras' K.epsilon().

struct Params {
  batch: u32,
  seqStride: u32,   // padded rows per sequence; probs use seqStride x seqStride per head
  hidden: u32,
  numHeads: u32,
  headSize: u32,
  infoBase: u32,
  scale: f32,       // 1 / sqrt(headSize)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> seqInfo: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> qkv: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
@group(0) @binding(4) var<storage, read> probsIn: array<f32>;
@group(0) @binding(5) var<storage, read_write> context: array<vec4<f32>>;
// Visible keys (a prefix) per layer and sequence, indexed like seqInfo; bound by the AUTHORS softmax only.
@group(0) @binding(6) var<storage, read> visibleInfo: array<u32>;

@compute @workgroup_size(8, 8)
fn attentionScores(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.z / params.numHeads;
  let h = gid.z % params.numHeads;
  let n = seqInfo[params.infoBase + b].x;
  let i0 = gid.y * 4u;
  let j0 = gid.x * 4u;
  if (b >= params.batch || i0 >= n || j0 >= n) {
    return;
  }

  let rowVec = 3u * params.hidden / 4u;
  let headVec = params.headSize / 4u;
  let qOffset = h * headVec;
  let kOffset = params.hidden / 4u + h * headVec;
  let seqBase = b * params.seqStride;
  // Rows and keys past n repeat the last real one; their products are not stored.
  var qRow: array<u32, 4>;
  var kRow: array<u32, 4>;
  for (var t = 0u; t < 4u; t++) {
    qRow[t] = (seqBase + min(i0 + t, n - 1u)) * rowVec + qOffset;
    kRow[t] = (seqBase + min(j0 + t, n - 1u)) * rowVec + kOffset;
  }

  var acc: array<vec4<f32>, 4>;
  for (var c = 0u; c < headVec; c++) {
    let k0 = qkv[kRow[0] + c];
    let k1 = qkv[kRow[1] + c];
    let k2 = qkv[kRow[2] + c];
    let k3 = qkv[kRow[3] + c];
    for (var t = 0u; t < 4u; t++) {
      let q = qkv[qRow[t] + c];
      acc[t] += vec4<f32>(dot(q, k0), dot(q, k1), dot(q, k2), dot(q, k3));
    }
  }

  let headBase = (b * params.numHeads + h) * params.seqStride * params.seqStride;
  for (var t = 0u; t < 4u; t++) {
    let i = i0 + t;
    if (i >= n) {
      break;
    }
    let rowBase = headBase + i * params.seqStride + j0;
    for (var u = 0u; u < 4u; u++) {
      if (j0 + u < n) {
        probs[rowBase + u] = acc[t][u] * params.scale;
      }
    }
  }
}

@compute @workgroup_size(64)
fn softmaxRows(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let b = gid.y / params.numHeads;
  let h = gid.y % params.numHeads;
  let n = seqInfo[params.infoBase + b].x;
  if (b >= params.batch || i >= n) {
    return;
  }
  let rowBase = ((b * params.numHeads + h) * params.seqStride + i) * params.seqStride;

  var maxScore = probs[rowBase];
  for (var j = 1u; j < n; j++) {
    maxScore = max(maxScore, probs[rowBase + j]);
  }
#if AUTHORS
  let visible = visibleInfo[params.infoBase + b];
  var sum = 0.0;
  for (var j = 0u; j < visible; j++) {
    let e = exp(probs[rowBase + j] - maxScore);
    probs[rowBase + j] = e;
    sum += e;
  }
  for (var j = visible; j < n; j++) {
    probs[rowBase + j] = 0.0;
  }
  let inv = 1.0 / (sum + 1e-7);
  for (var j = 0u; j < visible; j++) {
    probs[rowBase + j] *= inv;
  }
#else
  var sum = 0.0;
  for (var j = 0u; j < n; j++) {
    let e = exp(probs[rowBase + j] - maxScore);
    probs[rowBase + j] = e;
    sum += e;
  }
  let inv = 1.0 / sum;
  for (var j = 0u; j < n; j++) {
    probs[rowBase + j] *= inv;
  }
#endif
}

@compute @workgroup_size(8, 8)
fn attentionContext(@builtin(global_invocation_id) gid: vec3<u32>) {
  let hiddenVec = params.hidden / 4u;
  let col = gid.x;                // vec4 column of the context row
  let i0 = gid.y * 4u;
  let b = gid.z;
  let n = seqInfo[params.infoBase + b].x;
  if (col >= hiddenVec || i0 >= n) {
    return;
  }
  let h = col / (params.headSize / 4u);
  let rowVec = 3u * hiddenVec;
  let vOffset = 2u * hiddenVec + col;
  let seqBase = b * params.seqStride;
  let headBase = (b * params.numHeads + h) * params.seqStride * params.seqStride;
  let last = n - 1u;
  let p0 = headBase + i0 * params.seqStride;
  let p1 = headBase + min(i0 + 1u, last) * params.seqStride;
  let p2 = headBase + min(i0 + 2u, last) * params.seqStride;
  let p3 = headBase + min(i0 + 3u, last) * params.seqStride;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var j = 0u; j < n; j++) {
    let v = qkv[(seqBase + j) * rowVec + vOffset];
    acc0 += probsIn[p0 + j] * v;
    acc1 += probsIn[p1 + j] * v;
    acc2 += probsIn[p2 + j] * v;
    acc3 += probsIn[p3 + j] * v;
  }

  let outBase = (seqBase + i0) * hiddenVec + col;
  context[outBase] = acc0;
  if (i0 + 1u < n) {
    context[outBase + hiddenVec] = acc1;
  }
  if (i0 + 2u < n) {
    context[outBase + 2u * hiddenVec] = acc2;
  }
  if (i0 + 3u < n) {
    context[outBase + 3u * hiddenVec] = acc3;
  }
}
