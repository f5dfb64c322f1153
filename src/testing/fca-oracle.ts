// Sequence lengths and encoder FLOPs written out from the FCA rules, apart
// from src/fca/retention.ts and src/fca/flops.ts, so that tests can check
// the engine's own plan and count against them.

/**
 * Returns the sequence length after each layer: keep r = max(1, ceil(f * n0))
 * fine tokens, add min(K, n - r) clusters, and reduce only when that is
 * shorter than n.
 */
export function expectedLengths(n0: number, fractions: number[], clusters: number): number[] {
  const lengths: number[] = [];
  let n = n0;
  for (const fraction of fractions) {
    const fine = Math.min(Math.max(1, Math.ceil(fraction * n0 - 1e-6)), n);
    const merged = Math.min(clusters, n - fine);
    if (fine + merged < n) n = fine + merged;
    lengths.push(n);
  }
  return lengths;
}

/** Returns the encoder FLOPs: per layer 8 n_in D^2 + 4 n_in^2 D + 4 n_out D F. */
export function expectedFlops(n0: number, lengths: number[], hidden: number, intermediate: number): number {
  let total = 0;
  let nIn = n0;
  for (const nOut of lengths) {
    total += 8 * nIn * hidden * hidden + 4 * nIn * nIn * hidden + 4 * nOut * hidden * intermediate;
    nIn = nOut;
  }
  return total;
}
