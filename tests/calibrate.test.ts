// Retention calibration without a GPU: the search runs against synthetic
// evaluators whose best schedule is known, and the retention file parser
// against valid and invalid files.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError, parseArgs } from '../src/cli/args.mjs';
import { EngineError } from '../src/cli/batch.mjs';
import {
  checkRetentionFileLayers,
  formatCalibration,
  prepareCalibrate,
  readRetentionFileOption,
  runCalibrate,
} from '../src/cli/calibrate.mjs';
import { main } from '../src/cli/main.mjs';
import { DataError } from '../src/cli/tsv.mjs';
import {
  CalibrationError,
  DEFAULT_CANDIDATES,
  calibrateClassifier,
  calibrateRetention,
  scoreAgainstDense,
  type CalibrateRetentionOptions,
  type CalibrationScore,
  type PredictedLabel,
} from '../src/fca/calibrate.js';
import type { FcaOptions } from '../src/fca/retention.js';
import {
  RetentionFileError,
  formatRetentionFile,
  parseRetentionFile,
  readRetentionFile,
  retentionFileFromCalibration,
} from '../src/fca/retention-file.js';
import { expectedFlops, expectedLengths } from '../src/testing/fca-oracle.js';

// sst2-bert-mini's shape: 4 layers, hidden size 256, feed-forward width 1024.
const LAYERS = 4;
const HIDDEN = 256;
const FFN = 1024;
const SHAPE = { hiddenSize: HIDDEN, intermediateSize: FFN };

// 120 input lengths between 5 and 60 tokens, about the spread of SST-2 sentences.
const LENGTHS = Array.from({ length: 120 }, (_, i) => 5 + ((i * 37 + 11) % 56));

function expectedRatio(fractions: number[], clusters: number, inputLengths = LENGTHS): number {
  let fca = 0;
  let dense = 0;
  for (const n0 of inputLengths) {
    fca += expectedFlops(n0, expectedLengths(n0, fractions, clusters), HIDDEN, FFN);
    dense += expectedFlops(n0, new Array<number>(fractions.length).fill(n0), HIDDEN, FFN);
  }
  return fca / dense;
}

/** Lists every non-increasing schedule of `layers` values from `values`. */
function allSchedules(values: readonly number[], layers: number): number[][] {
  if (layers === 0) return [[]];
  const schedules: number[][] = [];
  for (const value of values) {
    for (const rest of allSchedules(values.filter((v) => v <= value), layers - 1)) schedules.push([value, ...rest]);
  }
  return schedules;
}

/** Weighted L1 distance between two schedules. */
function distance(a: number[], b: number[], weights = [1, 1, 1, 1]): number {
  return a.reduce((sum, value, layer) => sum + weights[layer] * Math.abs(value - b[layer]), 0);
}

function baseOptions(overrides: Partial<CalibrateRetentionOptions> = {}): CalibrateRetentionOptions {
  return {
    numLayers: LAYERS,
    inputLengths: LENGTHS,
    flopsShape: SHAPE,
    targetRatio: 0.5,
    clusters: 2,
    evaluate: async () => ({ agreement: 1, kl: 0 }),
    ...overrides,
  };
}

/** Agreement that falls linearly with the weighted distance from `peak`, and KL that grows with it. */
function peakedAt(peak: number[], weights = [1, 1, 1, 1]) {
  return async (fractions: number[]): Promise<CalibrationScore> => {
    const d = distance(fractions, peak, weights);
    return { agreement: Math.max(0, 1 - d / 10), kl: d };
  };
}

function expectNonIncreasing(retention: number[], context: string): void {
  for (let layer = 1; layer < retention.length; layer++) {
    expect(retention[layer], `${context}: layer ${layer} vs layer ${layer - 1}`).toBeLessThanOrEqual(retention[layer - 1]);
  }
}

describe('calibrateRetention', () => {
  it('finds a peak on the budget frontier', async () => {
    const peak = [0.7, 0.5, 0.35, 0.25];
    // The budget is the peak's own ratio, so the peak fits and no single-layer raise does.
    const targetRatio = expectedRatio(peak, 2);
    for (let layer = 0; layer < LAYERS; layer++) {
      const raised = peak.slice();
      raised[layer] = DEFAULT_CANDIDATES[DEFAULT_CANDIDATES.indexOf(peak[layer]) - 1];
      if (layer === 0 || raised[layer] <= raised[layer - 1]) expect(expectedRatio(raised, 2)).toBeGreaterThan(targetRatio);
    }

    const result = await calibrateRetention(baseOptions({ targetRatio, evaluate: peakedAt(peak) }));
    expect(result.retention).toEqual(peak);
    expect(result.agreement).toBe(1);
    expect(result.kl).toBe(0);
    expect(result.flops_ratio).toBeCloseTo(targetRatio, 12);
    expect(result.evaluations).toBeLessThanOrEqual(24);
  });

  it('matches brute force when the peak is over budget', async () => {
    // Preferred schedules that the budget cannot afford, with late layers weighted more or less.
    const cases = [
      { peak: [1, 0.9, 0.8, 0.7], weights: [1, 2, 3, 4], targetRatio: 0.5 },
      { peak: [1, 1, 0.9, 0.9], weights: [4, 3, 2, 1], targetRatio: 0.45 },
      { peak: [0.9, 0.9, 0.9, 0.9], weights: [1, 1, 1, 1], targetRatio: 0.6 },
    ];
    for (const { peak, weights, targetRatio } of cases) {
      const context = `peak ${peak}, weights ${weights}, ratio ${targetRatio}`;
      // Brute force over every non-increasing schedule of the default candidates: the smallest distance within budget wins.
      let bestDistance = Infinity;
      for (const schedule of allSchedules(DEFAULT_CANDIDATES, LAYERS)) {
        if (expectedRatio(schedule, 2) <= targetRatio) bestDistance = Math.min(bestDistance, distance(schedule, peak, weights));
      }

      const result = await calibrateRetention(baseOptions({ targetRatio, evaluate: peakedAt(peak, weights), maxEvaluations: 40 }));
      expect(distance(result.retention, peak, weights), context).toBeCloseTo(bestDistance, 9);
      expect(result.flops_ratio, context).toBeLessThanOrEqual(targetRatio);
    }
  });

  it('breaks agreement ties by lower KL', async () => {
    const peak = [0.8, 0.5, 0.3, 0.2];
    const targetRatio = expectedRatio(peak, 1);
    const evaluate = async (fractions: number[]) => ({ agreement: 0.9, kl: distance(fractions, peak) });
    const result = await calibrateRetention(baseOptions({ targetRatio, clusters: 1, evaluate }));
    expect(result.retention).toEqual(peak);
    expect(result.agreement).toBe(0.9);
    expect(result.kl).toBe(0);
  });

  it('keeps every schedule within budget and non-increasing', async () => {
    for (const clusters of [0, 2]) {
      for (const targetRatio of [0.3, 0.45, 0.6, 0.85]) {
        const evaluated: number[][] = [];
        const evaluate = async (fractions: number[]) => {
          evaluated.push(fractions);
          // Favors deep layers, so the search is pulled away from the seeds.
          return { agreement: (fractions[3] + fractions[2]) / 2, kl: 1 - fractions[0] };
        };
        const context = `K ${clusters}, ratio ${targetRatio}`;
        const result = await calibrateRetention(baseOptions({ targetRatio, clusters, evaluate }));

        expect(evaluated.length, context).toBe(result.evaluations);
        expect(result.log.map((step) => step.retention), context).toEqual(evaluated);
        for (const fractions of evaluated) {
          expectNonIncreasing(fractions, `${context}, ${fractions}`);
          fractions.forEach((f) => expect(f > 0 && f <= 1, `${context}: fraction ${f}`).toBe(true));
          expect(expectedRatio(fractions, clusters), `${context}, ${fractions}`).toBeLessThanOrEqual(targetRatio);
        }
        expect(result.flops_ratio, context).toBeCloseTo(expectedRatio(result.retention, clusters), 12);
        expect(result.flops_ratio, context).toBeLessThanOrEqual(targetRatio);
        expect(result.target_flops_ratio).toBe(targetRatio);
        expect(result.clusters).toBe(clusters);
        expect(result.texts).toBe(LENGTHS.length);
      }
    }
  });

  it('is deterministic', async () => {
    const run = () => calibrateRetention(baseOptions({ targetRatio: 0.55, evaluate: peakedAt([1, 0.8, 0.6, 0.6], [1, 2, 2, 3]) }));
    const first = await run();
    const second = await run();
    expect(second).toEqual(first);
  });

  it('stops at maxEvaluations', async () => {
    let calls = 0;
    const evaluate = async (fractions: number[]) => {
      calls++;
      return peakedAt([1, 1, 1, 1])(fractions);
    };
    for (const maxEvaluations of [1, 3, 7]) {
      calls = 0;
      const result = await calibrateRetention(baseOptions({ evaluate, maxEvaluations }));
      expect(calls).toBe(maxEvaluations);
      expect(result.evaluations).toBe(maxEvaluations);
      expect(result.log).toHaveLength(maxEvaluations);
    }
  });

  it('reports the best logged schedule', async () => {
    const result = await calibrateRetention(baseOptions({ evaluate: peakedAt([1, 0.9, 0.5, 0.1], [1, 3, 1, 3]) }));
    const best = Math.max(...result.log.map((step) => step.agreement));
    expect(result.agreement).toBe(best);
    const bestSteps = result.log.filter((step) => step.best);
    expect(bestSteps.at(-1)?.retention).toEqual(result.retention);
    expect(result.log[0].stage).toBe('seed');
    expect(result.log[0].best).toBe(true);
  });

  it('keeps every token with a budget of 1', async () => {
    const result = await calibrateRetention(baseOptions({ targetRatio: 1, evaluate: peakedAt([1, 1, 1, 1]) }));
    expect(result.retention).toEqual([1, 1, 1, 1]);
    expect(result.flops_ratio).toBe(1);
  });

  it('names the minimum of an impossible budget', async () => {
    let calls = 0;
    const evaluate = async () => {
      calls++;
      return { agreement: 1, kl: 0 };
    };
    const lowest = DEFAULT_CANDIDATES[DEFAULT_CANDIDATES.length - 1];
    const minimum = expectedRatio([lowest, lowest, lowest, lowest], 2);
    const roundedUp = (Math.ceil(minimum * 1e4) / 1e4).toFixed(4);
    expect(minimum).toBeGreaterThan(0.1);

    const error = await calibrateRetention(baseOptions({ targetRatio: 0.1, evaluate })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CalibrationError);
    expect((error as Error).message).toContain(`minimum reachable ratio ${roundedUp}`);
    expect((error as Error).message).toContain('target FLOPs ratio 0.1');
    expect(calls).toBe(0);
  });

  it('points at smaller candidates when they would reach the budget', async () => {
    const oneToken = expectedRatio([1e-9, 1e-9, 1e-9, 1e-9], 0);
    const minimum = expectedRatio([0.5, 0.5, 0.5, 0.5], 0);
    const error = await calibrateRetention(baseOptions({ clusters: 0, candidates: [1, 0.5], targetRatio: (oneToken + minimum) / 2 })).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toContain('add candidate fractions below 0.5');
    expect((error as Error).message).toContain(`${(Math.ceil(oneToken * 1e4) / 1e4).toFixed(4)} is reachable`);
  });

  it('searches only the given candidates', async () => {
    const candidates = [1, 0.6, 0.3];
    const result = await calibrateRetention(baseOptions({ candidates, evaluate: peakedAt([1, 1, 1, 1]) }));
    for (const step of result.log) step.retention.forEach((f) => expect(candidates).toContain(f));
  });

  it('rejects invalid options', async () => {
    const cases: [Partial<CalibrateRetentionOptions>, string][] = [
      [{ targetRatio: Number.NaN }, 'target FLOPs ratio must be a number in (0, 1], got NaN'],
      [{ targetRatio: 0 }, 'got 0'],
      [{ targetRatio: 1.5 }, 'got 1.5'],
      [{ clusters: -1 }, 'clusters must be an integer >= 0, got -1'],
      [{ clusters: 1.5 }, 'got 1.5'],
      [{ maxEvaluations: 0 }, 'maxEvaluations must be an integer >= 1, got 0'],
      [{ candidates: [1, 1.5] }, 'candidate fraction 1.5 is outside (0, 1]'],
      [{ candidates: [] }, 'candidates is empty'],
      [{ inputLengths: [] }, 'no calibration inputs'],
      [{ inputLengths: [12, 0] }, 'input length 0 at index 1'],
      [{ numLayers: 0 }, 'numLayers must be an integer >= 1, got 0'],
      [{ flopsShape: { hiddenSize: 0, intermediateSize: 4 } }, 'flopsShape.hiddenSize must be an integer >= 1'],
      [{ variant: 'reference' as never }, "cannot search variant \"reference\""],
      [{ variant: 'drop', clusters: 2 }, "variant 'drop' keeps no clusters but clusters is 2"],
    ];
    for (const [overrides, message] of cases) {
      const error = await calibrateRetention(baseOptions(overrides)).catch((e: unknown) => e);
      expect(error, JSON.stringify(overrides)).toBeInstanceOf(CalibrationError);
      expect((error as Error).message, JSON.stringify(overrides)).toContain(message);
    }
  });

  it('rejects an invalid evaluator score', async () => {
    for (const score of [{ agreement: 1.2, kl: 0 }, { agreement: 0.5, kl: -1 }, { agreement: 0.5, kl: Number.NaN }]) {
      const error = await calibrateRetention(baseOptions({ evaluate: async () => score })).catch((e: unknown) => e);
      expect(error, JSON.stringify(score)).toBeInstanceOf(CalibrationError);
      expect((error as Error).message).toContain('evaluate returned');
    }
  });
});

describe('scoreAgainstDense', () => {
  it('computes agreement and mean KL by hand', () => {
    const dense: PredictedLabel[] = [
      { label_id: 0, probabilities: [0.8, 0.2] },
      { label_id: 1, probabilities: [0.3, 0.7] },
    ];
    const fca: PredictedLabel[] = [
      { label_id: 0, probabilities: [0.6, 0.4] },
      { label_id: 0, probabilities: [0.5, 0.5] },
    ];
    const kl0 = 0.8 * Math.log(0.8 / 0.6) + 0.2 * Math.log(0.2 / 0.4);
    const kl1 = 0.3 * Math.log(0.3 / 0.5) + 0.7 * Math.log(0.7 / 0.5);
    const score = scoreAgainstDense(dense, fca);
    expect(score.agreement).toBe(0.5);
    expect(score.kl).toBeCloseTo((kl0 + kl1) / 2, 14);
  });

  it('gives zero KL for identical passes', () => {
    const dense: PredictedLabel[] = [{ label_id: 1, probabilities: [0.25, 0.75] }];
    expect(scoreAgainstDense(dense, dense)).toEqual({ agreement: 1, kl: 0 });
  });

  it('rejects mismatched result lists', () => {
    const one: PredictedLabel[] = [{ label_id: 0, probabilities: [1, 0] }];
    expect(() => scoreAgainstDense(one, [])).toThrow('got 0 FCA results for 1 dense results');
    expect(() => scoreAgainstDense([], [])).toThrow('no results to score');
    expect(() => scoreAgainstDense([{ label_id: 0, probabilities: [] }], [{ label_id: 0, probabilities: [] }])).toThrow('0 dense and 0 FCA probabilities');
  });
});

describe('calibrateClassifier', () => {
  it('runs the dense pass once and scores each schedule against it', async () => {
    const peak = [0.7, 0.5, 0.35, 0.25];
    const calls: (FcaOptions | null)[] = [];
    // A fake classifier over 3 inputs: the FCA probabilities drift from the dense ones with the distance from the peak.
    const classify = async (fca: FcaOptions | null): Promise<PredictedLabel[]> => {
      calls.push(fca);
      const drift = fca === null ? 0 : Math.min(0.45, distance(fca.retention as number[], peak) / 4);
      return [0.9, 0.8, 0.2].map((p) => {
        const q = p > 0.5 ? p - drift : p + drift;
        return { label_id: q > 0.5 ? 0 : 1, probabilities: [q, 1 - q] };
      });
    };
    const result = await calibrateClassifier({
      numLayers: LAYERS,
      inputLengths: LENGTHS,
      flopsShape: SHAPE,
      targetRatio: expectedRatio(peak, 2),
      clusters: 2,
      variant: 'mean',
      classify,
    });

    expect(calls.filter((fca) => fca === null)).toHaveLength(1);
    expect(calls[0]).toBeNull();
    expect(calls).toHaveLength(result.evaluations + 1);
    for (const fca of calls.slice(1)) {
      expect(fca?.clusters).toBe(2);
      expect(fca?.variant).toBe('mean');
    }
    expect(result.retention).toEqual(peak);
    expect(result.agreement).toBe(1);
    expect(result.kl).toBe(0);
    expect(result.variant).toBe('mean');
  });

  it('runs nothing when the budget cannot be met', async () => {
    let calls = 0;
    const classify = async () => {
      calls++;
      return [];
    };
    await expect(
      calibrateClassifier({ numLayers: LAYERS, inputLengths: LENGTHS, flopsShape: SHAPE, targetRatio: 0.05, clusters: 2, classify }),
    ).rejects.toThrow(CalibrationError);
    expect(calls).toBe(0);
  });
});

describe('retention file', () => {
  const valid = {
    retention: [0.7, 0.5, 0.35, 0.25],
    clusters: 2,
    variant: 'weighted',
    flops_ratio: 0.4987,
    calibration: { texts: 300, agreement: 0.99, kl: 0.004, objective: 'maximize agreement', target_flops_ratio: 0.5 },
  };

  it('parses a valid file into FCA options', () => {
    expect(parseRetentionFile(valid)).toEqual({ retention: [0.7, 0.5, 0.35, 0.25], clusters: 2, variant: 'weighted' });
    expect(parseRetentionFile(JSON.stringify(valid))).toEqual({ retention: [0.7, 0.5, 0.35, 0.25], clusters: 2, variant: 'weighted' });
    expect(readRetentionFile(valid)).toEqual(valid);
  });

  it('accepts a file without variant and calibration', () => {
    const minimal = { retention: [0.5, 0.5], clusters: 0, flops_ratio: 0.6 };
    expect(parseRetentionFile(minimal)).toEqual({ retention: [0.5, 0.5], clusters: 0 });
    expect(readRetentionFile(minimal)).toEqual(minimal);
  });

  it('round-trips a calibration result', async () => {
    const result = await calibrateRetention(baseOptions({ variant: 'weighted', evaluate: peakedAt([1, 1, 1, 1]), maxEvaluations: 3 }));
    const text = formatRetentionFile(retentionFileFromCalibration(result));
    expect(text.endsWith('\n')).toBe(true);
    const file = readRetentionFile(text);
    expect(file).toEqual({
      retention: result.retention,
      clusters: 2,
      variant: 'weighted',
      flops_ratio: result.flops_ratio,
      calibration: {
        texts: LENGTHS.length,
        agreement: result.agreement,
        kl: result.kl,
        objective: result.objective,
        target_flops_ratio: 0.5,
      },
    });
    expect(Object.keys(JSON.parse(text))).toEqual(['retention', 'clusters', 'variant', 'flops_ratio', 'calibration']);
  });

  it('names each invalid field', () => {
    const calibration = valid.calibration;
    const cases: [unknown, string][] = [
      ['{"retention": [0.5', 'invalid JSON'],
      [[0.5], 'expected a JSON object'],
      [null, 'expected a JSON object'],
      [{ ...valid, cluster: 2 }, 'unknown field "cluster"'],
      [{ ...valid, retention: undefined }, '"retention" must be a non-empty array'],
      [{ ...valid, retention: 0.5 }, '"retention" must be a non-empty array of fractions in (0, 1], one per layer, got 0.5'],
      [{ ...valid, retention: [] }, '"retention" must be a non-empty array'],
      [{ ...valid, retention: [0.5, 1.2] }, '"retention" value 1.2 at layer 1 is outside (0, 1]'],
      [{ ...valid, retention: [0.5, 0] }, '"retention" value 0 at layer 1'],
      [{ ...valid, retention: [0.5, '0.4'] }, '"retention" value "0.4" at layer 1'],
      [{ ...valid, clusters: undefined }, '"clusters" must be an integer >= 0, got nothing (the field is missing)'],
      [{ ...valid, clusters: -1 }, '"clusters" must be an integer >= 0, got -1'],
      [{ ...valid, clusters: 1.5 }, '"clusters" must be an integer >= 0, got 1.5'],
      [{ ...valid, variant: 'reference' }, '"variant" must be one of "weighted", "mean", "drop", got "reference"'],
      [{ ...valid, variant: 'drop' }, '"variant" "drop" keeps no clusters but "clusters" is 2'],
      [{ ...valid, flops_ratio: undefined }, '"flops_ratio" must be a number > 0'],
      [{ ...valid, flops_ratio: 0 }, '"flops_ratio" must be a number > 0 (FCA FLOPs over dense FLOPs), got 0'],
      [{ ...valid, calibration: 'yes' }, '"calibration" must be an object'],
      [{ ...valid, calibration: { ...calibration, texts: 0 } }, '"calibration.texts" must be an integer >= 1'],
      [{ ...valid, calibration: { ...calibration, agreement: 1.5 } }, '"calibration.agreement" must be a fraction in [0, 1], got 1.5'],
      [{ ...valid, calibration: { ...calibration, kl: -0.1 } }, '"calibration.kl" must be a finite number >= 0, got -0.1'],
      [{ ...valid, calibration: { ...calibration, objective: 3 } }, '"calibration.objective" must be a string, got 3'],
      [{ ...valid, calibration: { ...calibration, target_flops_ratio: undefined } }, '"calibration.target_flops_ratio" must be a number > 0'],
    ];
    for (const [input, message] of cases) {
      // JSON.stringify drops undefined fields, so a field set to undefined is missing from the file.
      const json = typeof input === 'string' ? input : JSON.stringify(input);
      let error: unknown = null;
      try {
        readRetentionFile(json, 'retention.json');
      } catch (e) {
        error = e;
      }
      expect(error, message).toBeInstanceOf(RetentionFileError);
      expect((error as Error).message, message).toContain(message);
      expect((error as Error).message.startsWith('retention.json: '), message).toBe(true);
    }
  });
});

/** Returns the error that `action` rejects with (fails the test when it resolves). */
async function rejection(action: () => Promise<unknown>): Promise<Error> {
  try {
    await action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('the call did not fail');
}

describe('calibrate command line', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fca-calibrate-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });

  it('parses calibrate flags', () => {
    const args = parseArgs(['calibrate', '--model', 'm', '--data', 'd.jsonl', '--flops-ratio', '0.5', '--output', 'r.json']) as unknown;
    expect(args).toEqual({
      command: 'calibrate',
      model: 'm',
      data: 'd.jsonl',
      output: 'r.json',
      flopsRatio: 0.5,
      clusters: 2,
      variant: 'weighted',
      batchSize: null,
      maxEvaluations: null,
      verbose: false,
    });
    const full = parseArgs([
      'calibrate',
      '--model=m',
      '--data=d.jsonl',
      '--flops-ratio=0.4',
      '--output=r.json',
      '--variant=drop',
      '--batch-size=4',
      '--max-evaluations=6',
      '--verbose',
    ]) as unknown;
    expect(full).toMatchObject({ flopsRatio: 0.4, clusters: 0, variant: 'drop', batchSize: 4, maxEvaluations: 6, verbose: true });
  });

  it('rejects invalid calibrate flags', () => {
    const base = ['calibrate', '--model', 'm', '--data', 'd.jsonl', '--output', 'r.json'];
    const cases: [string[], string][] = [
      [base, '--flops-ratio is required'],
      [[...base, '--flops-ratio', '0'], '--flops-ratio must be in (0, 1] (FCA FLOPs over dense FLOPs), got 0'],
      [[...base, '--flops-ratio', '1.5'], '--flops-ratio must be in (0, 1] (FCA FLOPs over dense FLOPs), got 1.5'],
      [[...base, '--flops-ratio', 'half'], '--flops-ratio: "half" is not a number'],
      [[...base, '--flops-ratio', '0.5', '--variant', 'reference'], "got \"reference\" ('reference' takes retention counts)"],
      [[...base, '--flops-ratio', '0.5', '--variant', 'drop', '--clusters', '2'], '--variant drop keeps no clusters, but --clusters is 2'],
      [[...base, '--flops-ratio', '0.5', '--clusters', '-1'], '--clusters must be an integer >= 0, got -1'],
      [[...base, '--flops-ratio', '0.5', '--max-evaluations', '0'], '--max-evaluations must be an integer >= 1, got 0'],
      [[...base, '--flops-ratio', '0.5', '--retention', '0.5'], 'unknown flag --retention for calibrate'],
      [['calibrate', '--model', 'm', '--data', 'd.jsonl', '--flops-ratio', '0.5'], '--output is required'],
    ];
    for (const [argv, message] of cases) {
      let error: unknown = null;
      try {
        parseArgs(argv);
      } catch (e) {
        error = e;
      }
      expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((error as UsageError).message, argv.join(' ')).toContain(message);
      expect((error as UsageError).command).toBe('calibrate');
    }
  });

  it('parses --retention-file for classify and eval', () => {
    expect(parseArgs(['classify', '--model', 'm', '--retention-file', 'r.json'])).toMatchObject({ fca: null, retentionFile: 'r.json' });
    expect(parseArgs(['eval', '--model', 'm', '--data', 'd', '--retention-file', 'r.json'])).toMatchObject({ retentionFile: 'r.json' });
    expect(parseArgs(['classify', '--model', 'm'])).not.toHaveProperty('retentionFile');
    for (const flag of ['--retention 0.5', '--retention-counts 3', '--clusters 1', '--variant mean']) {
      let error: unknown = null;
      try {
        parseArgs(['classify', '--model', 'm', '--retention-file', 'r.json', ...flag.split(' ')]);
      } catch (e) {
        error = e;
      }
      expect(error, flag).toBeInstanceOf(UsageError);
      expect((error as Error).message, flag).toContain(`--retention-file and ${flag.split(' ')[0]} were both given`);
    }
  });

  it('reads a retention file option', async () => {
    const file = path.join(dir, 'valid.json');
    await writeFile(file, JSON.stringify({ retention: [0.6, 0.4, 0.3, 0.2], clusters: 1, flops_ratio: 0.45 }));
    expect(await readRetentionFileOption(file, 'classify')).toEqual({ retention: [0.6, 0.4, 0.3, 0.2], clusters: 1, variant: 'weighted' });

    const invalid = path.join(dir, 'invalid.json');
    await writeFile(invalid, JSON.stringify({ retention: [0.6, 1.4], clusters: 1, flops_ratio: 0.45 }));
    const error = await rejection(() => readRetentionFileOption(invalid, 'eval'));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain(`--retention-file ${invalid}: "retention" value 1.4 at layer 1 is outside (0, 1]`);
    expect((error as UsageError).command).toBe('eval');

    const missing = await rejection(() => readRetentionFileOption(path.join(dir, 'missing.json'), 'classify'));
    expect(missing).toBeInstanceOf(UsageError);
    expect(missing.message).toContain('missing.json does not exist');
  });

  it('checks the retention file against the layer count', () => {
    const args = { command: 'classify', retentionFile: 'r.json', fca: { retention: [0.5, 0.5, 0.5] } };
    expect(() => checkRetentionFileLayers(args, 3)).not.toThrow();
    expect(() => checkRetentionFileLayers(args, 4)).toThrow('--retention-file r.json has 3 retention values but the model has 4 layers');
    expect(() => checkRetentionFileLayers({ command: 'classify', fca: { retention: [0.5] } }, 4)).not.toThrow();
  });

  it('reads calibration inputs and names invalid lines', async () => {
    const good = path.join(dir, 'good.jsonl');
    await writeFile(good, '\uFEFF{"text": "a fine film"}\n\n{"text": "a", "text_pair": "b"}\r\n{"input_ids": [101, 102]}\n');
    const data = await prepareCalibrate({ data: good, output: path.join(dir, 'out.json') });
    expect(data.inputs).toEqual([{ text: 'a fine film' }, { text: 'a', text_pair: 'b' }, { input_ids: [101, 102] }]);
    expect(data.lineNumbers).toEqual([1, 3, 4]);

    const bad = path.join(dir, 'bad.jsonl');
    await writeFile(bad, '{"text": "fine"}\n{"txt": "typo"}\nnot json\n');
    const error = await rejection(() => prepareCalibrate({ data: bad, output: path.join(dir, 'out.json') }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toContain('2 of 3 input lines are invalid');
    expect(error.message).toContain('line 2:');
    expect(error.message).toContain('line 3: invalid JSON');

    const tsv = path.join(dir, 'dev.tsv');
    await writeFile(tsv, 'sentence\tlabel\na fine film\t1\n');
    const tsvError = await rejection(() => prepareCalibrate({ data: tsv, output: path.join(dir, 'out.json') }));
    expect(tsvError).toBeInstanceOf(DataError);
    expect(tsvError.message).toContain('looks like a tab-separated file, not JSON lines');

    const empty = path.join(dir, 'empty.jsonl');
    await writeFile(empty, '\n\n');
    expect((await rejection(() => prepareCalibrate({ data: empty, output: path.join(dir, 'out.json') }))).message).toContain('has no input lines');

    const noFolder = await rejection(() => prepareCalibrate({ data: good, output: path.join(dir, 'no/such/folder/out.json') }));
    expect(noFolder).toBeInstanceOf(UsageError);
    expect(noFolder.message).toContain('does not exist; create it');
  });

  /**
   * Builds a fake browser session over `inputs`: the token count of input i is
   * LENGTHS[i], and FCA passes drift from the dense probabilities with the
   * distance of their retention from `peak`.
   */
  function fakeSession(inputs: unknown[], peak: number[], failOn?: (options: Record<string, unknown>) => Error | null) {
    const calls: Record<string, unknown>[] = [];
    const run = async (items: unknown[], options: object) => {
      const settings = options as Record<string, unknown>;
      calls.push(settings);
      const failure = failOn?.(settings);
      if (failure) throw failure;
      const retention = settings.retention as number[] | undefined;
      const drift = retention === undefined ? 0 : Math.min(0.3, distance(retention, peak) / 8);
      return items.map((_, i) => {
        const p = i % 3 === 0 ? 0.3 : 0.85;
        const q = p > 0.5 ? p - drift : p + drift;
        return { label_id: q > 0.5 ? 0 : 1, probabilities: [q, 1 - q], tokens: new Array<string>(LENGTHS[i]).fill('x') };
      });
    };
    const info = { architecture: 'BertForSequenceClassification', regression: false, numLayers: LAYERS, hiddenSize: HIDDEN, intermediateSize: FFN };
    return { session: { info, run }, calls, inputs };
  }

  it('runs the search and writes the file', async () => {
    const peak = [0.7, 0.5, 0.35, 0.25];
    const inputs = LENGTHS.map((_, i) => ({ text: `sentence ${i}` }));
    const { session, calls } = fakeSession(inputs, peak);
    const output = path.join(dir, 'retention.json');
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (chunk) => (printed += chunk));
    const logged: string[] = [];
    const args = { flopsRatio: expectedRatio(peak, 2), clusters: 2, variant: 'weighted', batchSize: 16, maxEvaluations: 30, output };
    const data = { file: 'train.jsonl', inputs, lineNumbers: inputs.map((_, i) => i + 1) };

    const status = await runCalibrate(args, session, data, { stdout, log: (message) => logged.push(message), progress: true });
    expect(status).toBe(0);
    expect(calls[0]).toEqual({ batchSize: 16 });
    expect(calls.slice(1).every((options) => options.batchSize === 16 && options.clusters === 2 && options.variant === 'weighted')).toBe(true);
    expect(calls.filter((options) => options.retention === undefined)).toHaveLength(1);

    const file = JSON.parse(await readFile(output, 'utf8'));
    expect(file.retention).toEqual(peak);
    expect(file.clusters).toBe(2);
    expect(file.variant).toBe('weighted');
    expect(file.flops_ratio).toBeCloseTo(expectedRatio(peak, 2), 12);
    expect(file.calibration).toMatchObject({ texts: LENGTHS.length, agreement: 1, kl: 0, target_flops_ratio: args.flopsRatio });
    expect(printed).toContain('retention 0.7,0.5,0.35,0.25, K=2, variant weighted');
    expect(printed).toContain(`wrote ${output}`);
    expect(logged[0]).toBe(`dense pass over ${LENGTHS.length} inputs`);
    expect(logged[1]).toMatch(/^evaluation 1 \(seed\): retention [\d.,]+, FLOPs ratio 0\.\d{4}, agreement/);
    expect(logged).toHaveLength(calls.length);
  });

  it('turns an impossible budget into a usage error', async () => {
    const inputs = LENGTHS.map((_, i) => ({ text: `sentence ${i}` }));
    const { session } = fakeSession(inputs, [1, 1, 1, 1]);
    const args = { flopsRatio: 0.05, clusters: 2, variant: 'weighted', batchSize: null, maxEvaluations: null, output: path.join(dir, 'never.json') };
    const data = { file: 'train.jsonl', inputs, lineNumbers: inputs.map((_, i) => i + 1) };
    const error = await rejection(() => runCalibrate(args, session, data, { stdout: new PassThrough(), log: () => {}, progress: false }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/^--flops-ratio 0\.05: the target FLOPs ratio 0\.05 is below the minimum reachable ratio 0\.\d{4}/);
    await expect(readFile(args.output)).rejects.toThrow();
  });

  it('names the line of an input the engine rejects', async () => {
    const inputs = [{ text: 'fine' }, { input_ids: [101, 999999, 102] }];
    const { session } = fakeSession(inputs, [1, 1, 1, 1], () => new EngineError('InputError', 'input 1: input_ids[1] is 999999; token ids must be integers in [0, 30522).'));
    const args = { flopsRatio: 0.5, clusters: 2, variant: 'weighted', batchSize: null, maxEvaluations: null, output: path.join(dir, 'never.json') };
    const data = { file: 'train.jsonl', inputs, lineNumbers: [2, 5] };
    const error = await rejection(() => runCalibrate(args, session, data, { stdout: new PassThrough(), log: () => {}, progress: false }));
    expect(error).toBeInstanceOf(EngineError);
    expect(error.name).toBe('InputError');
    expect(error.message).toBe('train.jsonl line 5: input_ids[1] is 999999; token ids must be integers in [0, 30522).');
  });

  it('rejects a model without labels', async () => {
    const { session } = fakeSession([{ text: 'a' }], [1, 1, 1, 1]);
    const embedding = { ...session, info: { ...session.info, architecture: 'BertModel' } };
    const args = { flopsRatio: 0.5, clusters: 2, variant: 'weighted', batchSize: null, maxEvaluations: null, output: path.join(dir, 'never.json') };
    const data = { file: 'a.jsonl', inputs: [{ text: 'a' }], lineNumbers: [1] };
    const error = await rejection(() => runCalibrate(args, embedding, data, { stdout: new PassThrough(), log: () => {}, progress: false }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain('needs a BertForSequenceClassification with labels, but this model is a BertModel');
  });

  it('formats the chosen setting', () => {
    const text = formatCalibration(
      { retention: [0.6, 0.3, 0.05, 0.05], clusters: 0, variant: 'drop', flops_ratio: 0.41234, target_flops_ratio: 0.45, texts: 40, agreement: 0.975, kl: 0.00123456, evaluations: 6 },
      'r.json',
    );
    expect(text.split('\n')).toEqual([
      'retention 0.6,0.3,0.05,0.05, K=0, variant drop',
      'FLOPs ratio 0.4123 (target 0.45) on 40 inputs',
      'agreement with the dense labels 97.50%, mean KL(dense || FCA) 0.00123',
      '6 schedules evaluated; wrote r.json',
      'same as: --retention 0.6,0.3,0.05,0.05 --clusters 0 --variant drop, or --retention-file r.json',
    ]);
  });

  it('fails before the browser on bad files', async () => {
    const run = async (argv: string[]) => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let err = '';
      stderr.on('data', (chunk) => (err += chunk));
      const status = await main(argv, { stdin: Readable.from([]), stdout, stderr });
      return { status, err };
    };
    const badFile = path.join(dir, 'bad-retention.json');
    await writeFile(badFile, JSON.stringify({ retention: [0.5, 0.5, 0.5, 0.5], clusters: 2 }));
    const classify = await run(['classify', '--model', 'models/sst2-bert-mini', '--retention-file', badFile]);
    expect(classify.status).toBe(2);
    expect(classify.err).toContain('"flops_ratio" must be a number > 0');

    const badData = path.join(dir, 'bad-data.jsonl');
    await writeFile(badData, '{"txt": "typo"}\n');
    const calibrate = await run([
      'calibrate',
      '--model',
      'models/sst2-bert-mini',
      '--data',
      badData,
      '--flops-ratio',
      '0.5',
      '--output',
      path.join(dir, 'out.json'),
    ]);
    expect(calibrate.status).toBe(1);
    expect(calibrate.err).toContain('1 of 1 input lines are invalid');
  });
});
