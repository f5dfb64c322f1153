// FCA token reduction for one layer, over a padded batch:
//   attentionColumnScores  s[j] = (1/H) sum_h (sum_{i<n} P[h,i,j] - P[h,j,j])
//   topKSelect             keep [CLS] and the best fine-1 others (ties to the lower position)
//   assignDestinations     fine tokens keep their order; tail token q joins cluster floor(q*C/T)
//   gatherMerge            new sequence = fine rows, then score-softmax weighted cluster averages
// seqInfo holds (nIn, fine, clusters, nOut) per sequence for this layer; a
// sequence with nOut == nIn does not reduce and is copied unchanged.
// Every loop runs over a sequence's own real tokens, so its result does not
// depend on the padded length or on its position in the batch.
// With AUTHORS (the FCA authors' code's arithmetic) n counts padding rows too,
// and every layer reduces, also when fine + clusters == n: the row ranked
// exactly `fine` (1-based, [CLS] aside) is dropped, the tail is the rows ranked
// below it in ascending row order, tail slot q joins cluster floor(q / g) with
// g = floor(T / K) + 1, and cluster c = (1/g) sum w * y over its members, with
// w the softmax of the scores over the whole tail. Clusters past the tail are
// zero vectors.

struct Params {
  batch: u32,
  seqStride: u32,   // padded rows per sequence entering the layer
  outStride: u32,   // padded rows per sequence after the reduction
  hidden: u32,
  numHeads: u32,
  infoBase: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> seqInfo: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<storage, read> scoresIn: array<f32>;
// Per input row: KEEP_FINE or KEEP_TAIL, or KEEP_SKIPPED for the row AUTHORS drops.
@group(0) @binding(5) var<storage, read_write> keep: array<u32>;
@group(0) @binding(6) var<storage, read> keepIn: array<u32>;
@group(0) @binding(7) var<storage, read_write> destination: array<i32>;  // per input row: output row, or -1 when dropped
@group(0) @binding(8) var<storage, read_write> source: array<u32>;       // per output fine row: input row
@group(0) @binding(9) var<storage, read> destinationIn: array<i32>;
@group(0) @binding(10) var<storage, read> sourceIn: array<u32>;
@group(0) @binding(11) var<storage, read> hiddenIn: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> hiddenOut: array<vec4<f32>>;
// Provenance of each row: (original input position or -1 for a cluster, number of original tokens it stands for).
@group(0) @binding(13) var<storage, read> provenanceIn: array<vec2<i32>>;
@group(0) @binding(14) var<storage, read_write> provenanceOut: array<vec2<i32>>;

const KEEP_TAIL = 0u;
const KEEP_FINE = 1u;
const KEEP_SKIPPED = 2u;

// One input token of one sequence, for the kernels that run one invocation per token.
struct Token {
  j: u32,           // position in the sequence
  b: u32,           // sequence in the batch
  info: vec4<u32>,  // the sequence's seqInfo entry for this layer
  row: u32,         // the sequence's first row, b * seqStride
  valid: bool,      // false past the batch or past the sequence's nIn tokens
}

fn tokenOf(gid: vec3<u32>) -> Token {
  let b = gid.y;
  let info = seqInfo[params.infoBase + min(b, params.batch - 1u)];
  return Token(gid.x, b, info, b * params.seqStride, b < params.batch && gid.x < info.x);
}

@compute @workgroup_size(64)
fn attentionColumnScores(@builtin(global_invocation_id) gid: vec3<u32>) {
  let token = tokenOf(gid);
  if (!token.valid) {
    return;
  }
  let j = token.j;
  let b = token.b;
  let n = token.info.x;
  let stride = params.seqStride;
  var total = 0.0;
  for (var h = 0u; h < params.numHeads; h++) {
    let headBase = (b * params.numHeads + h) * stride * stride;
    var column = 0.0;
    for (var i = 0u; i < n; i++) {
      column += probs[headBase + i * stride + j];
    }
    total += column - probs[headBase + j * stride + j];
  }
  scores[b * stride + j] = total / f32(params.numHeads);
}

@compute @workgroup_size(64)
fn topKSelect(@builtin(global_invocation_id) gid: vec3<u32>) {
  let token = tokenOf(gid);
  if (!token.valid) {
    return;
  }
  let j = token.j;
  let info = token.info;
  let n = info.x;
  let row = token.row;
#if AUTHORS
  if (j == 0u) {
    keep[row] = KEEP_FINE;
    return;
  }
#else
  if (info.w == n || j == 0u) {
    keep[row + j] = KEEP_FINE;
    return;
  }
#endif
  // Rank among positions 1..n-1 by counting the tokens that beat this one:
  // a higher score, or an equal score at a lower position.
  let mine = scoresIn[row + j];
  var better = 0u;
  for (var k = 1u; k < n; k++) {
    let other = scoresIn[row + k];
    if (other > mine || (other == mine && k < j)) {
      better++;
    }
  }
  // [CLS] holds rank 0, so this token's rank is better + 1; fine counts [CLS].
  let rank = better + 1u;
  var state = select(KEEP_TAIL, KEEP_FINE, rank < info.y);
#if AUTHORS
  if (rank == info.y) {
    state = KEEP_SKIPPED;
  }
#endif
  keep[row + j] = state;
}

@compute @workgroup_size(64)
fn assignDestinations(@builtin(global_invocation_id) gid: vec3<u32>) {
  let token = tokenOf(gid);
  if (!token.valid) {
    return;
  }
  let j = token.j;
  let b = token.b;
  let info = token.info;
  let n = info.x;
  let row = token.row;
  var fineBefore = 0u;
  var skippedBefore = 0u;
  for (var k = 0u; k < j; k++) {
    let state = keepIn[row + k];
    fineBefore += select(0u, 1u, state == KEEP_FINE);
    skippedBefore += select(0u, 1u, state == KEEP_SKIPPED);
  }
  let state = keepIn[row + j];
  if (state == KEEP_FINE) {
    destination[row + j] = i32(fineBefore);
    source[b * params.outStride + fineBefore] = j;
    return;
  }
  let fine = info.y;
  let clusters = info.z;
  let tailIndex = j - fineBefore - skippedBefore;
#if AUTHORS
  if (state == KEEP_SKIPPED) {
    destination[row + j] = -1;
    return;
  }
  // The tail holds T = n - 1 - fine rows ([CLS] and the skipped row aside).
  let slotsPerCluster = (n - 1u - fine) / clusters + 1u;
  destination[row + j] = i32(fine + tailIndex / slotsPerCluster);
#else
  if (clusters == 0u) {
    destination[row + j] = -1;
    return;
  }
  let tailLength = n - fine;
  destination[row + j] = i32(fine + tailIndex * clusters / tailLength);
#endif
}

@compute @workgroup_size(16, 4)
fn gatherMerge(@builtin(global_invocation_id) gid: vec3<u32>) {
  let hiddenVec = params.hidden / 4u;
  let col = gid.x;
  let o = gid.y;
  let b = gid.z;
  let info = seqInfo[params.infoBase + b];
  let n = info.x;
  let fine = info.y;
  if (col >= hiddenVec || o >= info.w) {
    return;
  }
  let inRow = b * params.seqStride;
  let outRow = b * params.outStride + o;

  if (o < fine) {
    let j = sourceIn[outRow];
    hiddenOut[outRow * hiddenVec + col] = hiddenIn[(inRow + j) * hiddenVec + col];
    if (col == 0u) {
      provenanceOut[outRow] = provenanceIn[inRow + j];
    }
    return;
  }

  // Cluster o - fine: the members are the tail tokens whose destination is o.
  let cluster = i32(o);
#if MEAN_CLUSTERS
  var sum = vec4<f32>(0.0);
  var count = 0.0;
  for (var j = 0u; j < n; j++) {
    if (destinationIn[inRow + j] == cluster) {
      sum += hiddenIn[(inRow + j) * hiddenVec + col];
      count += 1.0;
    }
  }
  hiddenOut[outRow * hiddenVec + col] = sum / count;
#elif AUTHORS
  // One softmax over the whole tail: every row whose destination is a cluster.
  let firstCluster = i32(fine);
  var maxScore = -3.0e38;
  for (var j = 0u; j < n; j++) {
    if (destinationIn[inRow + j] >= firstCluster) {
      maxScore = max(maxScore, scoresIn[inRow + j]);
    }
  }
  var sum = vec4<f32>(0.0);
  var weightSum = 0.0;
  for (var j = 0u; j < n; j++) {
    let clusterOfRow = destinationIn[inRow + j];
    if (clusterOfRow >= firstCluster) {
      let weight = exp(scoresIn[inRow + j] - maxScore);
      weightSum += weight;
      if (clusterOfRow == cluster) {
        sum += weight * hiddenIn[(inRow + j) * hiddenVec + col];
      }
    }
  }
  // The tail's maximum contributes exp(0) = 1, so weightSum >= 1 unless the
  // tail is empty, in which case every cluster is sum = 0 divided by g.
  let slotsPerCluster = (n - 1u - fine) / info.z + 1u;
  hiddenOut[outRow * hiddenVec + col] = sum / (max(weightSum, 1.0) * f32(slotsPerCluster));
#else
  // Softmax of the scores over the group, stabilised by the group's maximum.
  var maxScore = -3.0e38;
  for (var j = 0u; j < n; j++) {
    if (destinationIn[inRow + j] == cluster) {
      maxScore = max(maxScore, scoresIn[inRow + j]);
    }
  }
  var sum = vec4<f32>(0.0);
  var weightSum = 0.0;
  for (var j = 0u; j < n; j++) {
    if (destinationIn[inRow + j] == cluster) {
      let weight = exp(scoresIn[inRow + j] - maxScore);
      sum += weight * hiddenIn[(inRow + j) * hiddenVec + col];
      weightSum += weight;
    }
  }
  hiddenOut[outRow * hiddenVec + col] = sum / weightSum;
#endif
  if (col == 0u) {
    var members = 0;
    var memberRows = 0u;
    for (var j = 0u; j < n; j++) {
      if (destinationIn[inRow + j] == cluster) {
        members += provenanceIn[inRow + j].y;
        memberRows++;
      }
    }
#if AUTHORS
    // A cluster whose slots are all zero padding gets position -2, as input padding does.
    provenanceOut[outRow] = vec2<i32>(select(-2, -1, memberRows > 0u), members);
#else
    provenanceOut[outRow] = vec2<i32>(-1, members);
#endif
  }
}
