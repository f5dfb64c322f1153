/**
 * Retention calibration: chooses per-layer retention fractions that meet a
 * FLOPs budget on a set of unlabeled inputs and keep the FCA predictions
 * closest to the dense ones.
 *
 * The FLOPs ratio of a schedule is exact and cheap (planLayers and
 * encoderFlops, no model run), while scoring a schedule runs the model over
 * every calibration input. The search therefore spends CPU time to pick few,
 * well-chosen schedules for the evaluator:
 *
 * 1. Seeds. Agreement with the dense pass tends to grow with retention, so
 *    the search considers schedules that use the budget: raising one more
 *    layer one candidate step would exceed it. The layers are grouped into at
 *    most four contiguous blocks. All non-increasing block schedules over the
 *    candidate values are enumerated, and those within the budget where no
 *    block can be raised one step are ranked by closeness to the budget. The seeds are picked from that list by
 *    farthest-point sampling (first the closest to the budget, then each time
 *    the schedule farthest in L1 distance from those already picked), so they
 *    cover different shapes: front-loaded, flat, late-dropping.
 * 2. Refinement, per layer. From the best seed, each move raises one layer
 *    until the plan changes, lowers another until the budget is met again, then
 *    raises layers greedily while the budget allows. The first move that
 *    improves the objective is taken. When no move improves it, the search
 *    restarts from the next-best seed, until `maxEvaluations` is spent.
 *
 * Everything is deterministic: ties go to the earlier candidate in a fixed order.
 */
import { encoderFlops, type FlopsShape } from './flops.js';
import { planLayers, type FcaOptions, type FcaSettings, type FcaVariant } from './retention.js';

/**
 * Retention fractions the search chooses from, largest first. A layer keeps
 * ceil(fraction x length) fine tokens and at least one, so 0.02 and 0.01 keep
 * only [CLS] (plus the clusters) on inputs of up to 50 and 100 tokens: the
 * lowest FLOPs a setting can reach.
 */
export const DEFAULT_CANDIDATES: readonly number[] = Object.freeze([
  1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01,
]);

/** Default maximum number of model evaluations of a calibration. */
export const DEFAULT_MAX_EVALUATIONS = 24;

/** Maximum number of layer blocks in the seed grid: 17 candidates give 4,845 block schedules. */
const MAX_SEED_BLOCKS = 4;

/** Maximum number of seeds evaluated before refinement starts. */
const MAX_SEEDS = 8;

/** Floor on an FCA probability inside the KL divergence, so that one saturated probability cannot make the mean infinite. */
const KL_PROBABILITY_FLOOR = 1e-12;

/** Agreement or KL values closer than this count as equal when comparing schedules. */
const OBJECTIVE_EPSILON = 1e-12;

export const CALIBRATION_OBJECTIVE =
  'maximize agreement (fraction of inputs whose FCA top label equals the dense top label); ' +
  'ties go to the lower mean KL(dense || FCA) of the label probabilities, then to the lower FLOPs ratio';

/** Variants a calibration can search: 'reference' takes retention counts, not fractions. */
export type CalibrationVariant = Exclude<FcaVariant, 'reference'>;

/** Closeness of a schedule's predictions to the dense ones. */
export interface CalibrationScore {
  /** Fraction of inputs whose top label equals the dense top label, in [0, 1]. */
  agreement: number;
  /** Mean over inputs of KL(dense || FCA) between the label probabilities, in nats. */
  kl: number;
}

/** One evaluated schedule of the search. */
export interface CalibrationStep {
  /** 1-based number of this evaluation. */
  evaluation: number;
  stage: 'seed' | 'refine';
  retention: number[];
  flops_ratio: number;
  agreement: number;
  kl: number;
  /** Whether this schedule was the best one so far when it was evaluated. */
  best: boolean;
}

export interface CalibrateRetentionOptions {
  numLayers: number;
  /** Token count of each calibration input ([CLS] and [SEP] included, after truncation). */
  inputLengths: number[];
  flopsShape: FlopsShape;
  /** FLOPs budget as total FCA FLOPs over total dense FLOPs on the calibration inputs, in (0, 1] or above. */
  targetRatio: number;
  clusters: number;
  variant?: CalibrationVariant;
  /** Runs the model with these per-layer fractions and scores it against the dense pass. */
  evaluate: (fractions: number[]) => Promise<CalibrationScore>;
  /** Retention fractions to choose from, each in (0, 1]; default DEFAULT_CANDIDATES. */
  candidates?: number[];
  /** Maximum number of calls to `evaluate`; default DEFAULT_MAX_EVALUATIONS. */
  maxEvaluations?: number;
  /** Called after each evaluation. */
  onProgress?: (step: CalibrationStep) => void;
}

export interface CalibrationResult {
  /** Non-increasing retention fractions, one per layer. */
  retention: number[];
  clusters: number;
  variant?: CalibrationVariant;
  /** FLOPs ratio of `retention` on the calibration inputs; never above `target_flops_ratio`. */
  flops_ratio: number;
  target_flops_ratio: number;
  /** Number of calibration inputs. */
  texts: number;
  agreement: number;
  kl: number;
  /** Calls made to `evaluate`. */
  evaluations: number;
  objective: string;
  log: CalibrationStep[];
}

/** Error raised for a calibration that cannot run; the message names the value and the fix. */
export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

/** The top label and probabilities of one pass over one input. */
export interface PredictedLabel {
  label_id: number;
  probabilities: number[];
}

/**
 * Scores an FCA pass against the dense pass over the same inputs, in the same
 * order: agreement of the top labels and mean KL(dense || FCA).
 */
export function scoreAgainstDense(dense: PredictedLabel[], fca: PredictedLabel[]): CalibrationScore {
  if (dense.length !== fca.length) {
    throw new CalibrationError(`got ${fca.length} FCA results for ${dense.length} dense results; score the same inputs in the same order.`);
  }
  if (dense.length === 0) throw new CalibrationError('there are no results to score; give at least one calibration input.');

  let agreeing = 0;
  let klSum = 0;
  dense.forEach((reference, index) => {
    const candidate = fca[index];
    if (reference.probabilities.length === 0 || reference.probabilities.length !== candidate.probabilities.length) {
      throw new CalibrationError(
        `input ${index} has ${reference.probabilities.length} dense and ${candidate.probabilities.length} FCA probabilities; calibration needs a classifier with at least one label.`,
      );
    }
    if (reference.label_id === candidate.label_id) agreeing++;
    let kl = 0;
    reference.probabilities.forEach((p, label) => {
      if (p > 0) kl += p * Math.log(p / Math.max(candidate.probabilities[label], KL_PROBABILITY_FLOOR));
    });
    // Rounding can leave a tiny negative sum for two nearly equal distributions.
    klSum += Math.max(0, kl);
  });
  return { agreement: agreeing / dense.length, kl: klSum / dense.length };
}

/** Exact FLOPs ratios of retention schedules on a fixed set of input lengths. */
export class FlopsBudget {
  private readonly lengths: number[];
  private readonly counts: number[];
  private readonly denseTotal: number;

  constructor(
    inputLengths: number[],
    private readonly numLayers: number,
    private readonly clusters: number,
    private readonly shape: FlopsShape,
  ) {
    // Inputs of the same length share a plan, so each length is planned once.
    const histogram = new Map<number, number>();
    for (const n0 of inputLengths) histogram.set(n0, (histogram.get(n0) ?? 0) + 1);
    this.lengths = [...histogram.keys()].sort((a, b) => a - b);
    this.counts = this.lengths.map((n0) => histogram.get(n0)!);
    this.denseTotal = this.total(null);
  }

  /** Total FCA FLOPs over total dense FLOPs for per-layer fractions. */
  ratio(fractions: number[]): number {
    const settings: FcaSettings = { retention: { kind: 'fractions', values: fractions }, clusters: this.clusters, variant: 'weighted' };
    return this.total(settings) / this.denseTotal;
  }

  private total(settings: FcaSettings | null): number {
    let sum = 0;
    this.lengths.forEach((n0, i) => {
      sum += this.counts[i] * encoderFlops(planLayers(n0, this.numLayers, settings), this.shape);
    });
    return sum;
  }
}

interface Evaluated {
  retention: number[];
  ratio: number;
  score: CalibrationScore;
}

/** Returns true when `a` is a strictly better schedule than `b` by CALIBRATION_OBJECTIVE. */
function isBetter(a: Evaluated, b: Evaluated): boolean {
  if (Math.abs(a.score.agreement - b.score.agreement) > OBJECTIVE_EPSILON) return a.score.agreement > b.score.agreement;
  if (Math.abs(a.score.kl - b.score.kl) > OBJECTIVE_EPSILON) return a.score.kl < b.score.kl;
  return a.ratio < b.ratio;
}

/**
 * Searches non-increasing per-layer retention fractions whose FLOPs ratio on
 * the calibration inputs is at most `targetRatio` and that best keep the dense
 * predictions (see CALIBRATION_OBJECTIVE and the file comment for the search).
 * Throws CalibrationError for invalid options or a budget below the lowest
 * reachable ratio, and passes on any error of `evaluate`.
 */
export async function calibrateRetention(options: CalibrateRetentionOptions): Promise<CalibrationResult> {
  const { numLayers, inputLengths, flopsShape, targetRatio, clusters, variant, evaluate, onProgress } = options;
  checkOptions(options);
  const values = candidateValues(options.candidates ?? [...DEFAULT_CANDIDATES]);
  const maxEvaluations = options.maxEvaluations ?? DEFAULT_MAX_EVALUATIONS;
  const budget = new FlopsBudget(inputLengths, numLayers, clusters, flopsShape);
  checkReachable(budget, values, numLayers, targetRatio, clusters, inputLengths.length);

  const grid = new ScheduleGrid(values, budget, targetRatio);
  const evaluated = new Map<string, Evaluated>();
  const log: CalibrationStep[] = [];
  let best: Evaluated | null = null;

  const score = async (indices: number[], stage: CalibrationStep['stage']): Promise<Evaluated> => {
    const retention = grid.fractions(indices);
    const scored = await evaluate(retention.slice());
    checkScore(scored, retention);
    const entry: Evaluated = { retention, ratio: grid.ratio(indices), score: { agreement: scored.agreement, kl: scored.kl } };
    evaluated.set(indices.join(','), entry);
    const improves = best === null || isBetter(entry, best);
    if (improves) best = entry;
    const step: CalibrationStep = {
      evaluation: log.length + 1,
      stage,
      retention: retention.slice(),
      flops_ratio: entry.ratio,
      agreement: entry.score.agreement,
      kl: entry.score.kl,
      best: improves,
    };
    log.push(step);
    onProgress?.(step);
    return entry;
  };

  const seedCount = Math.min(MAX_SEEDS, Math.max(1, Math.ceil(maxEvaluations / 3)));
  const seeds = grid.seeds(numLayers, seedCount);
  const seedResults: { indices: number[]; entry: Evaluated }[] = [];
  for (const indices of seeds) {
    if (log.length >= maxEvaluations) break;
    seedResults.push({ indices, entry: await score(indices, 'seed') });
  }

  // Refine from the best seed first; restart from the next-best one whenever a refinement converges.
  const starts = seedResults
    .map((seed, order) => ({ ...seed, order }))
    .sort((a, b) => (isBetter(a.entry, b.entry) ? -1 : isBetter(b.entry, a.entry) ? 1 : a.order - b.order));
  for (const start of starts) {
    let current = { indices: start.indices, entry: start.entry };
    let improved = true;
    while (improved && log.length < maxEvaluations) {
      improved = false;
      for (const neighbour of grid.moves(current.indices)) {
        if (log.length >= maxEvaluations) break;
        if (evaluated.has(neighbour.join(','))) continue;
        const entry = await score(neighbour, 'refine');
        if (isBetter(entry, current.entry)) {
          current = { indices: neighbour, entry };
          improved = true;
          break;
        }
      }
    }
    if (log.length >= maxEvaluations) break;
  }

  const chosen = best as Evaluated | null;
  if (!chosen) throw new CalibrationError('no schedule was evaluated; maxEvaluations must be at least 1.');
  const result: CalibrationResult = {
    retention: chosen.retention,
    clusters,
    flops_ratio: chosen.ratio,
    target_flops_ratio: targetRatio,
    texts: inputLengths.length,
    agreement: chosen.score.agreement,
    kl: chosen.score.kl,
    evaluations: log.length,
    objective: CALIBRATION_OBJECTIVE,
    log,
  };
  if (variant !== undefined) result.variant = variant;
  return result;
}

function checkOptions(options: CalibrateRetentionOptions): void {
  const { numLayers, inputLengths, flopsShape, targetRatio, clusters, variant, maxEvaluations } = options;
  if (!Number.isInteger(numLayers) || numLayers < 1) {
    throw new CalibrationError(`numLayers must be an integer >= 1, got ${String(numLayers)}.`);
  }
  if (!Array.isArray(inputLengths) || inputLengths.length === 0) {
    throw new CalibrationError('there are no calibration inputs; give at least one input (a few hundred give a stable estimate).');
  }
  inputLengths.forEach((n0, index) => {
    if (!Number.isInteger(n0) || n0 < 1) {
      throw new CalibrationError(`input length ${String(n0)} at index ${index} must be an integer >= 1 (the token count with [CLS] and [SEP]).`);
    }
  });
  for (const key of ['hiddenSize', 'intermediateSize'] as const) {
    const value = flopsShape?.[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new CalibrationError(`flopsShape.${key} must be an integer >= 1, got ${String(value)}.`);
    }
  }
  if (typeof targetRatio !== 'number' || !Number.isFinite(targetRatio) || targetRatio <= 0 || targetRatio > 1) {
    throw new CalibrationError(
      `the target FLOPs ratio must be a number in (0, 1], got ${String(targetRatio)}; give, for example, 0.5 for half the dense FLOPs (1 keeps every token).`,
    );
  }
  if (!Number.isInteger(clusters) || clusters < 0) {
    throw new CalibrationError(`clusters must be an integer >= 0, got ${String(clusters)}; use 0 to drop the merged tokens.`);
  }
  if (variant !== undefined && !['weighted', 'mean', 'drop'].includes(variant)) {
    throw new CalibrationError(`calibration cannot search variant ${JSON.stringify(variant)}; choose 'weighted', 'mean' or 'drop' ('reference' takes retention counts).`);
  }
  if (variant === 'drop' && clusters !== 0) {
    throw new CalibrationError(`variant 'drop' keeps no clusters but clusters is ${clusters}; set clusters to 0 or use another variant.`);
  }
  if (maxEvaluations !== undefined && (!Number.isInteger(maxEvaluations) || maxEvaluations < 1)) {
    throw new CalibrationError(`maxEvaluations must be an integer >= 1, got ${String(maxEvaluations)}.`);
  }
  if (typeof options.evaluate !== 'function') throw new CalibrationError('evaluate must be a function that scores a retention schedule.');
}

/** Validates candidate fractions and returns them without duplicates, largest first. */
function candidateValues(candidates: number[]): number[] {
  if (!Array.isArray(candidates) || candidates.length === 0) {
    throw new CalibrationError('candidates is empty; give retention fractions in (0, 1] such as 1, 0.5, 0.25.');
  }
  for (const value of candidates) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
      throw new CalibrationError(`candidate fraction ${String(value)} is outside (0, 1]; give fractions such as 0.5.`);
    }
  }
  return [...new Set(candidates)].sort((a, b) => b - a);
}

/** Throws when even the smallest candidate at every layer exceeds the budget, naming the lowest reachable ratio. */
function checkReachable(budget: FlopsBudget, values: number[], numLayers: number, targetRatio: number, clusters: number, texts: number): void {
  const smallest = values[values.length - 1];
  const minimum = budget.ratio(new Array<number>(numLayers).fill(smallest));
  if (minimum <= targetRatio) return;

  const roundedUp = (ratio: number) => (Math.ceil(ratio * 1e4) / 1e4).toFixed(4);
  // A fraction below 1/n0 for every input keeps one token per layer: the lowest ratio any fraction reaches.
  const oneToken = budget.ratio(new Array<number>(numLayers).fill(Number.MIN_VALUE));
  const smallerCandidates = oneToken < minimum ? `, add candidate fractions below ${smallest} (down to ${roundedUp(oneToken)} is reachable)` : '';
  throw new CalibrationError(
    `the target FLOPs ratio ${targetRatio} is below the minimum reachable ratio ${roundedUp(minimum)} on these ${texts} inputs ` +
      `(retention ${smallest} at every layer, K = ${clusters}); ask for a ratio of at least ${roundedUp(minimum)}` +
      `${clusters > 0 ? ', use fewer clusters' : ''}${smallerCandidates}.`,
  );
}

function checkScore(score: CalibrationScore, retention: number[]): void {
  const valid =
    score !== null &&
    typeof score === 'object' &&
    typeof score.agreement === 'number' &&
    score.agreement >= 0 &&
    score.agreement <= 1 &&
    typeof score.kl === 'number' &&
    Number.isFinite(score.kl) &&
    score.kl >= 0;
  if (!valid) {
    throw new CalibrationError(
      `evaluate returned ${JSON.stringify(score)} for retention ${retention.join(', ')}; it must return {agreement in [0, 1], kl >= 0 and finite}.`,
    );
  }
}

/**
 * Non-increasing schedules as indices into the candidate values (largest
 * first), so a schedule is non-increasing when its indices never decrease.
 */
class ScheduleGrid {
  private readonly ratios = new Map<string, number>();

  constructor(
    private readonly values: number[],
    private readonly budget: FlopsBudget,
    private readonly targetRatio: number,
  ) {}

  fractions(indices: number[]): number[] {
    return indices.map((i) => this.values[i]);
  }

  ratio(indices: number[]): number {
    const key = indices.join(',');
    let ratio = this.ratios.get(key);
    if (ratio === undefined) {
      ratio = this.budget.ratio(this.fractions(indices));
      this.ratios.set(key, ratio);
    }
    return ratio;
  }

  private fits(indices: number[]): boolean {
    return this.ratio(indices) <= this.targetRatio;
  }

  /**
   * Seed schedules: block schedules within the budget that no single-block raise
   * keeps within it, ranked by closeness to the budget, then thinned by
   * farthest-point sampling.
   */
  seeds(numLayers: number, count: number): number[][] {
    const blocks = splitLayers(numLayers, Math.min(numLayers, MAX_SEED_BLOCKS));
    const expand = (blockIndices: number[]) => blocks.flatMap((size, b) => new Array<number>(size).fill(blockIndices[b]));

    const pool: { indices: number[]; ratio: number }[] = [];
    for (const blockIndices of nonDecreasingTuples(blocks.length, this.values.length)) {
      const indices = expand(blockIndices);
      if (!this.fits(indices)) continue;
      const raisable = blockIndices.some((index, b) => {
        if (index === 0 || (b > 0 && blockIndices[b - 1] > index - 1)) return false;
        const raised = blockIndices.slice();
        raised[b] = index - 1;
        return this.fits(expand(raised));
      });
      if (!raisable) pool.push({ indices, ratio: this.ratio(indices) });
    }
    // Closest to the budget first; the enumeration order breaks ties.
    const ranked = pool.map((entry, order) => ({ ...entry, order })).sort((a, b) => b.ratio - a.ratio || a.order - b.order);

    const chosen: number[][] = [];
    const distances = ranked.map(() => Infinity);
    while (chosen.length < Math.min(count, ranked.length)) {
      let pick = 0;
      for (let i = 1; i < ranked.length; i++) if (distances[i] > distances[pick]) pick = i;
      if (distances[pick] === 0) break;
      const picked = ranked[pick].indices;
      chosen.push(picked);
      ranked.forEach((entry, i) => {
        distances[i] = Math.min(distances[i], this.distance(entry.indices, picked));
      });
    }
    return chosen;
  }

  private distance(a: number[], b: number[]): number {
    return a.reduce((sum, index, layer) => sum + Math.abs(this.values[index] - this.values[b[layer]]), 0);
  }

  /**
   * Budget-neutral moves from `indices`: for each ordered pair of layers
   * (up, down), raise `up` until the plan changes (pulling earlier layers up to
   * keep the schedule non-increasing), lower `down` until the budget is met
   * (pushing later layers down), then fill the budget greedily. Moves that
   * cannot be made, or that come back to `indices`, are left out. The moves
   * are ordered by FLOPs ratio, highest first.
   */
  moves(indices: number[]): number[][] {
    const moves: number[][] = [];
    const seen = new Set<string>([indices.join(',')]);
    const layers = indices.length;
    for (let up = 0; up < layers; up++) {
      const raised = this.raiseUntilChange(indices, up);
      if (!raised) continue;
      for (let down = 0; down < layers; down++) {
        if (down === up) continue;
        const lowered = this.lowerUntilFits(raised, down);
        if (!lowered) continue;
        const filled = this.fill(lowered);
        const key = filled.join(',');
        if (seen.has(key)) continue;
        seen.add(key);
        moves.push(filled);
      }
    }
    // Moves that use more of the budget first: with the budget used up, agreement tends to be higher.
    return moves
      .map((move, order) => ({ move, order, ratio: this.ratio(move) }))
      .sort((a, b) => b.ratio - a.ratio || a.order - b.order)
      .map(({ move }) => move);
  }

  /** Raises `layer` one candidate at a time until the FLOPs ratio changes; null when it cannot change. */
  private raiseUntilChange(indices: number[], layer: number): number[] | null {
    const start = this.ratio(indices);
    let current = indices;
    while (current[layer] > 0) {
      current = current.slice();
      current[layer]--;
      for (let earlier = 0; earlier < layer; earlier++) current[earlier] = Math.min(current[earlier], current[layer]);
      if (this.ratio(current) !== start) return current;
    }
    return null;
  }

  /** Lowers `layer` one candidate at a time until the schedule fits the budget; null when it never does. */
  private lowerUntilFits(indices: number[], layer: number): number[] | null {
    let current = indices;
    while (!this.fits(current)) {
      if (current[layer] === this.values.length - 1) return null;
      current = current.slice();
      current[layer]++;
      for (let later = layer + 1; later < current.length; later++) current[later] = Math.max(current[later], current[layer]);
    }
    return current;
  }

  /** Repeatedly applies the one-step raise that stays within the budget with the highest ratio (ties: earlier layer). */
  private fill(indices: number[]): number[] {
    let current = indices;
    for (;;) {
      let next: number[] | null = null;
      let nextRatio = this.ratio(current);
      for (let layer = 0; layer < current.length; layer++) {
        if (current[layer] === 0 || (layer > 0 && current[layer - 1] > current[layer] - 1)) continue;
        const raised = current.slice();
        raised[layer]--;
        const ratio = this.ratio(raised);
        if (ratio <= this.targetRatio && ratio > nextRatio) {
          next = raised;
          nextRatio = ratio;
        }
      }
      if (!next) return current;
      current = next;
    }
  }
}

/** Sizes of `blocks` contiguous groups of `numLayers` layers; sizes differ by at most one, larger groups first. */
function splitLayers(numLayers: number, blocks: number): number[] {
  return Array.from({ length: blocks }, (_, b) => Math.floor(numLayers / blocks) + (b < numLayers % blocks ? 1 : 0));
}

/** Yields every non-decreasing tuple of `length` indices in [0, size), in lexicographic order. */
function* nonDecreasingTuples(length: number, size: number): Generator<number[]> {
  const tuple = new Array<number>(length).fill(0);
  for (;;) {
    yield tuple.slice();
    let position = length - 1;
    while (position >= 0 && tuple[position] === size - 1) position--;
    if (position < 0) return;
    tuple[position]++;
    for (let later = position + 1; later < length; later++) tuple[later] = tuple[position];
  }
}

/** Options of calibrateClassifier: those of calibrateRetention with a classifier in place of `evaluate`. */
export interface CalibrateClassifierOptions extends Omit<CalibrateRetentionOptions, 'evaluate'> {
  /**
   * Classifies every calibration input, in a fixed order: densely for `null`,
   * else with the given FCA options.
   */
  classify: (fca: FcaOptions | null) => Promise<PredictedLabel[]>;
  /** Dense results of the calibration inputs when the caller already has them; classify(null) is then never called. */
  dense?: PredictedLabel[];
}

/**
 * Calibrates retention for a classifier: runs the dense pass once, at the
 * first evaluation (so invalid options fail before any model run) unless
 * `dense` is given, and scores each schedule's pass against it with
 * scoreAgainstDense.
 */
export function calibrateClassifier(options: CalibrateClassifierOptions): Promise<CalibrationResult> {
  const { classify, dense: denseResults, ...search } = options;
  let dense: Promise<PredictedLabel[]> | null = denseResults ? Promise.resolve(denseResults) : null;
  const evaluate = async (retention: number[]): Promise<CalibrationScore> => {
    dense ??= classify(null);
    const fca: FcaOptions = { retention, clusters: search.clusters };
    if (search.variant !== undefined) fca.variant = search.variant;
    const [reference, candidate] = await Promise.all([dense, classify(fca)]);
    return scoreAgainstDense(reference, candidate);
  };
  return calibrateRetention({ ...search, evaluate });
}
