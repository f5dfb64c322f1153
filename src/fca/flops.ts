import type { LayerStep } from './retention.js';

/** Encoder shape that the FLOPs count depends on. */
export interface FlopsShape {
  hiddenSize: number;
  intermediateSize: number;
}

/**
 * Encoder FLOPs of one sequence, 2 per multiply-add: per layer the Q, K, V and
 * output projections (8 n_in D^2), QK^T and PV (4 n_in^2 D) and the
 * feed-forward sub-layer on the reduced sequence (4 n_out D F). Embeddings,
 * pooler, classifier and the FCA selection itself are not counted.
 */
export function encoderFlops(steps: LayerStep[], shape: FlopsShape): number {
  const d = shape.hiddenSize;
  const f = shape.intermediateSize;
  let total = 0;
  for (const { nIn, nOut } of steps) {
    total += 8 * nIn * d * d + 4 * nIn * nIn * d + 4 * nOut * d * f;
  }
  return total;
}
