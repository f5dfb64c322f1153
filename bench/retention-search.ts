/**
 * Picks FCA retention settings that hit a target FLOPs ratio (FCA encoder
 * FLOPs over dense encoder FLOPs, as encoderFlops counts them) for a given
 * set of input lengths. The schedule is geometric: layer l keeps the
 * fraction q^(l+1) of each sequence's input length, so every layer shortens
 * the sequence a little more, and q is found by bisection.
 */
import { encoderFlops } from '../src/fca/flops.js';
import { planLayers, resolveFcaOptions, type FcaOptions } from '../src/fca/retention.js';
import type { BertConfig } from '../src/model/config.js';

export interface RetentionChoice {
  /** FCA options to pass to classify(). */
  options: FcaOptions;
  /** The geometric factor q. */
  factor: number;
  /** FLOPs ratio the options give on the lengths they were chosen for. */
  ratio: number;
}

/** Retention fractions q, q^2, ..., q^numLayers. */
export function geometricRetention(factor: number, numLayers: number): number[] {
  return Array.from({ length: numLayers }, (_, l) => factor ** (l + 1));
}

/** Total FCA FLOPs over total dense FLOPs for sequences of the given lengths. */
export function flopsRatio(lengths: number[], config: BertConfig, options: FcaOptions): number {
  const settings = resolveFcaOptions(options, config.numLayers);
  let fca = 0;
  let dense = 0;
  for (const n of lengths) {
    fca += encoderFlops(planLayers(n, config.numLayers, settings), config);
    dense += encoderFlops(planLayers(n, config.numLayers, null), config);
  }
  return fca / dense;
}

/**
 * Returns the geometric schedule whose FLOPs ratio on `lengths` is closest
 * to `target`, with `clusters` clusters per layer. The ratio moves in steps
 * (token counts are integers), so the result may miss the target by a step.
 */
export function retentionForRatio(target: number, lengths: number[], config: BertConfig, clusters = 2): RetentionChoice {
  const optionsFor = (factor: number): FcaOptions => ({ retention: geometricRetention(factor, config.numLayers), clusters });
  let low = 1e-3;
  let high = 1;
  let best: RetentionChoice = { options: optionsFor(high), factor: high, ratio: flopsRatio(lengths, config, optionsFor(high)) };
  for (let step = 0; step < 40; step++) {
    const factor = (low + high) / 2;
    const ratio = flopsRatio(lengths, config, optionsFor(factor));
    if (Math.abs(ratio - target) < Math.abs(best.ratio - target)) best = { options: optionsFor(factor), factor, ratio };
    if (ratio > target) high = factor;
    else low = factor;
  }
  // Round the fractions for readable logs; recompute the ratio for the rounded values.
  const rounded = geometricRetention(best.factor, config.numLayers).map((v) => Math.round(v * 1e4) / 1e4).map((v) => Math.max(v, 1e-4));
  const options: FcaOptions = { retention: rounded, clusters };
  return { options, factor: best.factor, ratio: flopsRatio(lengths, config, options) };
}
