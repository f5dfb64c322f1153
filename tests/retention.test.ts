import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  fractionToCount,
  planLayers,
  resolveFcaOptions,
  RetentionError,
  tokensPerLayer,
  type FcaOptions,
} from '../src/fca/retention.js';

const goldenPath = fileURLToPath(new URL('../../shared/models/sst2-bert-mini/golden.jsonl', import.meta.url));

interface GoldenSetting {
  tokens_per_layer: number[];
  flops: number;
}
type GoldenRecord = { input_ids: number[] } & Record<string, GoldenSetting>;

const golden: GoldenRecord[] = readFileSync(goldenPath, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));

/** The golden settings as FCA options; `undefined` is the dense pass. */
const goldenSettings: Record<string, FcaOptions | undefined> = {
  dense: undefined,
  'r50-k2': { retention: 0.5, clusters: 2 },
  'r70-50-40-30-k1': { retention: [0.7, 0.5, 0.4, 0.3], clusters: 1 },
  'r60-40-30-20-k3': { retention: [0.6, 0.4, 0.3, 0.2], clusters: 3 },
  'r50-drop': { retention: 0.5, clusters: 0 },
};

function retentionError(options: FcaOptions, numLayers = 4): string {
  try {
    resolveFcaOptions(options, numLayers);
  } catch (error) {
    expect(error).toBeInstanceOf(RetentionError);
    return (error as Error).message;
  }
  throw new Error(`resolveFcaOptions accepted ${JSON.stringify(options)}`);
}

describe('fractionToCount', () => {
  it('rounds up without floating-point overshoot', () => {
    expect(fractionToCount(0.6, 25)).toBe(15);
    expect(fractionToCount(0.7, 10)).toBe(7);
    // In double precision 0.07 * 100 is 7.000000000000001, so a bare ceil would keep 8.
    expect(Math.ceil(0.07 * 100)).toBe(8);
    expect(fractionToCount(0.07, 100)).toBe(7);
    expect(fractionToCount(0.14, 50)).toBe(7);
    expect(fractionToCount(0.5, 12)).toBe(6);
    expect(fractionToCount(0.5, 13)).toBe(7);
    expect(fractionToCount(0.3, 79)).toBe(24);
    expect(fractionToCount(1, 10)).toBe(10);
  });

  it('keeps at least one token', () => {
    expect(fractionToCount(0.01, 10)).toBe(1);
    expect(fractionToCount(1e-9, 3)).toBe(1);
  });
});

describe('resolveFcaOptions', () => {
  it('returns null for a dense pass', () => {
    expect(resolveFcaOptions(undefined, 4)).toBeNull();
    expect(resolveFcaOptions({}, 4)).toBeNull();
  });

  it('expands a single fraction to every layer', () => {
    expect(resolveFcaOptions({ retention: 0.5 }, 3)).toEqual({ retention: { kind: 'fractions', values: [0.5, 0.5, 0.5] }, clusters: 2, variant: 'weighted' });
    expect(resolveFcaOptions({ retention: [0.4], clusters: 0 }, 2)).toEqual({ retention: { kind: 'fractions', values: [0.4, 0.4] }, clusters: 0, variant: 'weighted' });
  });

  it('accepts non-increasing counts', () => {
    expect(resolveFcaOptions({ retentionCounts: [34, 28, 28, 20], clusters: 5 }, 4)).toEqual({
      retention: { kind: 'counts', values: [34, 28, 28, 20] },
      clusters: 5,
      variant: 'weighted',
    });
  });

  it('rejects fractions outside (0, 1]', () => {
    for (const [fraction, shown] of [[0, '0'], [1.5, '1.5'], [-0.1, '-0.1'], [NaN, 'NaN'], [Infinity, 'Infinity']] as const) {
      const message = retentionError({ retention: [0.5, fraction, 0.5, 0.5] });
      expect(message).toContain(`retention fraction ${shown} at layer 1`);
      expect(message).toContain('(0, 1]');
    }
  });

  it('rejects a non-number fraction', () => {
    expect(retentionError({ retention: '0.5' as unknown as number })).toContain('"0.5"');
  });

  it('rejects counts that grow with depth', () => {
    const message = retentionError({ retentionCounts: [10, 12, 8, 6] });
    expect(message).toContain('from 10 at layer 0 to 12 at layer 1');
  });

  it('rejects counts below 1 or fractional', () => {
    expect(retentionError({ retentionCounts: [10, 0, 0, 0] })).toContain('retention count 0 at layer 1');
    expect(retentionError({ retentionCounts: 2.5 })).toContain('retention count 2.5 at layer 0');
    expect(retentionError({ retentionCounts: NaN })).toContain('retention count NaN at layer 0');
  });

  it('rejects the wrong number of per-layer values', () => {
    const fractions = retentionError({ retention: [0.5, 0.4] });
    expect(fractions).toContain('2 values');
    expect(fractions).toContain('4 layers');
    expect(retentionError({ retentionCounts: [9, 8, 7, 6, 5] })).toContain('5 values');
  });

  it('rejects fractions and counts together', () => {
    expect(retentionError({ retention: 0.5, retentionCounts: 10 })).toContain('both');
  });

  it('rejects invalid cluster counts', () => {
    expect(retentionError({ retention: 0.5, clusters: -1 })).toContain('got -1');
    expect(retentionError({ retention: 0.5, clusters: 1.5 })).toContain('got 1.5');
    expect(retentionError({ retention: 0.5, clusters: NaN })).toContain('got NaN');
  });

  it('rejects clusters without retention', () => {
    expect(retentionError({ clusters: 2 })).toContain('clusters');
  });
});

describe('planLayers', () => {
  it('keeps the length in a dense pass', () => {
    const steps = planLayers(17, 3, null);
    expect(steps).toEqual(new Array(3).fill({ nIn: 17, reduces: false, fine: 17, clusters: 0, nOut: 17 }));
  });

  it('reduces to fine tokens plus K clusters', () => {
    const settings = resolveFcaOptions({ retention: [0.6, 0.4], clusters: 2 }, 2);
    // n0 = 25: layer 0 keeps 15 + 2 clusters = 17; layer 1 keeps 10 of the 17 + 2 clusters = 12.
    expect(planLayers(25, 2, settings)).toEqual([
      { nIn: 25, reduces: true, fine: 15, clusters: 2, nOut: 17 },
      { nIn: 17, reduces: true, fine: 10, clusters: 2, nOut: 12 },
    ]);
  });

  it('leaves the sequence alone when a layer would not shrink it', () => {
    // n0 = 4 at fraction 0.5 keeps 2 fine tokens, and 2 clusters of the 2-token tail give 4 again.
    const settings = resolveFcaOptions({ retention: 0.5, clusters: 2 }, 1);
    expect(planLayers(4, 1, settings)).toEqual([{ nIn: 4, reduces: false, fine: 4, clusters: 0, nOut: 4 }]);
  });

  it('passes a tail shorter than K through unchanged', () => {
    // With T < K tail tokens there are only T clusters, so fine + clusters = n and nothing shrinks.
    const settings = resolveFcaOptions({ retentionCounts: 8, clusters: 3 }, 1);
    expect(planLayers(10, 1, settings)).toEqual([{ nIn: 10, reduces: false, fine: 10, clusters: 0, nOut: 10 }]);
    // One more tail token than K: the tail merges into K clusters.
    expect(planLayers(12, 1, settings)).toEqual([{ nIn: 12, reduces: true, fine: 8, clusters: 3, nOut: 11 }]);
  });

  it('counts earlier clusters as tokens', () => {
    // Layer 0 keeps 3 + 1 cluster = 4 tokens; layer 1 keeps 2 of those 4 and merges the other 2 into 1 cluster.
    const settings = resolveFcaOptions({ retentionCounts: [3, 2], clusters: 1 }, 2);
    expect(tokensPerLayer(planLayers(10, 2, settings))).toEqual([4, 3]);
  });

  it('drops the tail when K = 0', () => {
    const settings = resolveFcaOptions({ retention: 0.5, clusters: 0 }, 2);
    expect(planLayers(10, 2, settings)).toEqual([
      { nIn: 10, reduces: true, fine: 5, clusters: 0, nOut: 5 },
      { nIn: 5, reduces: false, fine: 5, clusters: 0, nOut: 5 },
    ]);
  });

  it('caps a count at the current length', () => {
    const settings = resolveFcaOptions({ retentionCounts: 64, clusters: 2 }, 2);
    expect(tokensPerLayer(planLayers(20, 2, settings))).toEqual([20, 20]);
  });

  it('keeps only [CLS] at the smallest fraction', () => {
    const settings = resolveFcaOptions({ retention: 0.01, clusters: 0 }, 1);
    expect(planLayers(30, 1, settings)).toEqual([{ nIn: 30, reduces: true, fine: 1, clusters: 0, nOut: 1 }]);
  });

  for (const [name, options] of Object.entries(goldenSettings)) {
    it(`matches golden tokens_per_layer for ${name}`, () => {
      const settings = resolveFcaOptions(options, 4);
      for (const [index, record] of golden.entries()) {
        const expected = record[name].tokens_per_layer;
        expect(tokensPerLayer(planLayers(record.input_ids.length, 4, settings)), `input ${index}, n0 ${record.input_ids.length}`).toEqual(expected);
      }
    });
  }

  it('covers all 78 golden inputs', () => {
    expect(golden.length).toBe(78);
  });

  describe('variants', () => {
    it('drop forces zero clusters', () => {
      expect(resolveFcaOptions({ retention: 0.5, variant: 'drop' }, 2)?.clusters).toBe(0);
    });

    it('drop rejects a cluster count', () => {
      expect(() => resolveFcaOptions({ retention: 0.5, variant: 'drop', clusters: 2 }, 2)).toThrow(/'drop'.*clusters is 2/);
    });

    it('unknown variant is named', () => {
      expect(() => resolveFcaOptions({ retention: 0.5, variant: 'fancy' as never }, 2)).toThrow(/"fancy".*weighted, mean, drop, reference/);
    });

    it('reference takes counts and a padded length', () => {
      expect(resolveFcaOptions({ retentionCounts: [34, 28], clusters: 5, variant: 'reference', paddedLength: 64 }, 2)).toEqual({
        retention: { kind: 'counts', values: [34, 28] },
        clusters: 5,
        variant: 'reference',
        paddedLength: 64,
      });
      expect(resolveFcaOptions({ retentionCounts: 30, variant: 'reference' }, 2)?.paddedLength).toBe(128);
      expect(resolveFcaOptions({ retentionCounts: 30, variant: 'reference' }, 2)?.clusters).toBe(5);
    });

    it('reference rejects fractions', () => {
      expect(() => resolveFcaOptions({ retention: 0.5, variant: 'reference' }, 2)).toThrow(/retentionCounts/);
    });

    it('paddedLength needs the reference variant', () => {
      expect(() => resolveFcaOptions({ retention: 0.5, paddedLength: 64 }, 2)).toThrow(/paddedLength 64 applies only/);
    });

    it('variant without retention is rejected', () => {
      expect(() => resolveFcaOptions({ variant: 'mean' }, 2)).toThrow(/variant was given without retention/);
    });
  });
});
