import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { parseBertConfig, type BertConfig } from '../src/model/config.js';
import { parseSafetensors } from '../src/model/safetensors.js';
import type { BertWeights } from '../src/model/tensor.js';
import { resolveBertWeights } from '../src/model/weights.js';
import { referenceForward } from '../src/reference/forward.js';
import {
  authorsAttentionProbabilities,
  authorsColumnScores,
  authorsRanking,
  authorsReduce,
  referenceForwardAuthors,
  type AuthorsSettings,
} from '../src/reference/authors.js';

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  }
}

describe('authorsAttentionProbabilities', () => {
  it('masks after exp and adds 1e-7', () => {
    // One head of size 2, so the scale is 1/sqrt(2). Every query is [sqrt 2, 0]
    // and the keys are [0, 0], [1, 0], [3, 0], giving logits [0, 1, 3] in every row.
    const r2 = Math.SQRT2;
    const qkv = [r2, 0, 0, 0, 5, 5, r2, 0, 1, 0, 6, 6, r2, 0, 3, 0, 7, 7];
    const probs = authorsAttentionProbabilities(qkv, 3, 2, 1, 2);

    // Key 2 is masked but its logit 3 is still the maximum subtracted.
    const e0 = Math.exp(-3);
    const e1 = Math.exp(-2);
    const denominator = e0 + e1 + 1e-7;
    const row = [e0 / denominator, e1 / denominator, 0];
    expectClose(probs, [...row, ...row, ...row], 1e-15);

    // A plain masked softmax would give e1 / (e0 + e1) = 0.7310586; the 1e-7 shifts it by about 4e-7.
    expect(Math.abs(probs[1] - e1 / (e0 + e1))).toBeGreaterThan(1e-7);
  });

  it('rejects a visible count outside [1, n]', () => {
    expect(() => authorsAttentionProbabilities(new Array(18).fill(0), 3, 2, 1, 4)).toThrow(/visible must be an integer in \[1, n = 3\], got 4/);
  });
});

describe('authorsColumnScores', () => {
  it('counts padding rows, drops the diagonal', () => {
    // Two heads, three rows. Row 2 is a padding query row: it still counts.
    const head0 = [0.5, 0.5, 0, 0.2, 0.8, 0, 0.6, 0.4, 0];
    const head1 = [1, 0, 0, 0.3, 0.7, 0, 0.1, 0.9, 0];
    const scores = authorsColumnScores([...head0, ...head1], 3, 2);
    // Column 0: head 0 gives 0.2 + 0.6, head 1 gives 0.3 + 0.1.
    // Column 1: head 0 gives 0.5 + 0.4, head 1 gives 0 + 0.9.
    expectClose(scores, [(0.8 + 0.4) / 2, (0.9 + 0.9) / 2, 0], 1e-15);
  });
});

describe('authorsRanking', () => {
  it('orders by score with ties to the lower row', () => {
    expect(authorsRanking([9, 0.5, 2, 0, 2, 0, 1], 7)).toEqual([2, 4, 6, 1, 3, 5]);
  });
});

describe('authorsReduce', () => {
  /** Hidden row j is [j, 1], so a cluster's first column is sum(w j) / g and its second sum(w) / g. */
  function rampHidden(n: number): number[] {
    return Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? i / 2 : 1));
  }

  it('skips rank r and spreads the tail over K * g slots', () => {
    // Rows 3 and 5 stand for padding: masked keys receive no attention, so their score is exactly 0.
    // Rows 2 and 4 tie at 2. Ranking: 2, 4, 6, 1, 3, 5.
    const scores = [9, 0.5, 2, 0, 2, 0, 1];
    const reduced = authorsReduce(rampHidden(7), 7, 2, scores, 3, 2);

    // Fine: [CLS] and ranks 1-2 (rows 2, 4). Rank 3 (row 6) is dropped. Tail: ranks 4-6, ascending.
    expect(reduced.rows).toBe(5);
    expect(reduced.sources).toEqual([0, 2, 4, -1, -2]);
    expect(reduced.skipped).toBe(6);
    expect(reduced.tail).toEqual([1, 3, 5]);

    // T = 3, K = 2: g = floor(3 / 2) + 1 = 2, slots [row 1, row 3 | row 5, zero].
    expect(reduced.slotsPerCluster).toBe(2);
    expect(reduced.emptyClusters).toEqual([false, false]);
    const a = Math.exp(0.5);
    expectClose(reduced.tailWeights, [a / (a + 2), 1 / (a + 2), 1 / (a + 2)], 1e-15);

    const cluster0 = [(a * 1 + 3) / (2 * (a + 2)), (a + 1) / (2 * (a + 2))];
    const cluster1 = [5 / (2 * (a + 2)), 1 / (2 * (a + 2))];
    expectClose(reduced.hidden, [0, 1, 2, 1, 4, 1, ...cluster0, ...cluster1], 1e-15);
  });

  it('leaves the last cluster zero when K divides T', () => {
    // Ranking: 1, 4, then the tie 2, 3. Fine: rows 0, 1; row 4 is skipped; tail: rows 2, 3.
    const reduced = authorsReduce(rampHidden(5), 5, 2, [0, 3, 1, 1, 2], 2, 2);
    expect(reduced.sources).toEqual([0, 1, -1, -2]);
    expect(reduced.skipped).toBe(4);
    expect(reduced.tail).toEqual([2, 3]);

    // T = 2: g = 2, slots [row 2, row 3 | zero, zero]. Weights 1/2 each, divided by g = 2.
    expect(reduced.slotsPerCluster).toBe(2);
    expect(reduced.emptyClusters).toEqual([false, true]);
    expectClose(reduced.hidden, [0, 1, 1, 1, (2 + 3) / 4, 2 / 4, 0, 0], 1e-15);
  });

  it('reduces when r + K equals n', () => {
    // Ranking 4, 3, 2, 1. Fine: rows 0, 3, 4; row 2 is skipped; tail: row 1 with weight 1 and g = 1.
    const reduced = authorsReduce(rampHidden(5), 5, 2, [0, 1, 2, 3, 4], 3, 2);
    expect(reduced.rows).toBe(5);
    expect(reduced.sources).toEqual([0, 3, 4, -1, -2]);
    expect(reduced.skipped).toBe(2);
    expect(reduced.emptyClusters).toEqual([false, true]);
    expectClose(reduced.hidden, [0, 1, 3, 1, 4, 1, 1, 1, 0, 0], 1e-15);
  });

  it('rejects fine + clusters above n', () => {
    expect(() => authorsReduce(rampHidden(5), 5, 2, [0, 1, 2, 3, 4], 4, 2)).toThrow(
      /fine 4 \+ clusters 2 exceeds the 5 input rows.*lower fine to at most 3/,
    );
  });
});

interface GoldenOutput {
  logits: number[];
  tokens_per_layer: number[];
}

interface GoldenRecord {
  input_ids: number[];
  token_type_ids: number[];
  text: string;
  [setting: string]: GoldenOutput | number[] | string;
}

interface LoadedModel {
  config: BertConfig;
  weights: BertWeights;
  records: GoldenRecord[];
}

function loadModel(folder: string): LoadedModel {
  const base = new URL(`../../shared/models/${folder}/`, import.meta.url);
  const config = parseBertConfig(JSON.parse(readFileSync(new URL('config.json', base), 'utf8')));
  const weights = resolveBertWeights(parseSafetensors(readFileSync(new URL('model.safetensors', base))), config);
  const records = readFileSync(new URL('golden.jsonl', base), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as GoldenRecord);
  return { config, weights, records };
}

const GOLDEN_SETTING = 'ref-L64-c34-28-24-20-k5';
const SETTINGS: AuthorsSettings = { paddedLength: 64, counts: [34, 28, 24, 20], clusters: 5 };

/** PyTorch float32 logits against float64: the observed gap is about 1e-6. */
const LOGIT_TOLERANCE = 1e-3;

const range = (start: number, end: number): number[] => Array.from({ length: end - start }, (_, i) => start + i);

describe('referenceForwardAuthors validation', () => {
  const model = loadModel('sst2-bert-mini');
  const ids = [101, 2009, 102];
  const types = [0, 0, 0];

  it('rejects an input longer than paddedLength', () => {
    const long = new Array(65).fill(1037);
    long[0] = 101;
    expect(() => referenceForwardAuthors(model.config, model.weights, long, new Array(65).fill(0), SETTINGS)).toThrow(
      /the input has 65 tokens but paddedLength is 64; truncate the input to 64 tokens or set paddedLength to at least 65/,
    );
  });

  it('rejects a count list of the wrong length', () => {
    expect(() => referenceForwardAuthors(model.config, model.weights, ids, types, { ...SETTINGS, counts: [34, 28] })).toThrow(
      /counts has 2 entries but the model has 4 layers/,
    );
  });

  it('rejects a layer that would grow the sequence', () => {
    // Layer 1 receives 34 + 5 = 39 tokens, so it can keep at most 34.
    expect(() => referenceForwardAuthors(model.config, model.weights, ids, types, { ...SETTINGS, counts: [34, 35, 24, 20] })).toThrow(
      /layer 1 keeps 35 tokens plus 5 clusters, more than the 39 tokens entering it; lower counts\[1\] to at most 34/,
    );
  });

  it('rejects zero clusters', () => {
    expect(() => referenceForwardAuthors(model.config, model.weights, ids, types, { ...SETTINGS, clusters: 0 })).toThrow(
      /clusters must be an integer >= 1/,
    );
  });

  it('rejects mismatched token types', () => {
    expect(() => referenceForwardAuthors(model.config, model.weights, ids, [0, 0], SETTINGS)).toThrow(
      /tokenTypeIds has 2 entries but inputIds has 3/,
    );
  });
});

describe('referenceForwardAuthors on short inputs', () => {
  const model = loadModel('sst2-bert-mini');

  it('tracks padding rows and clusters', () => {
    // 12 real tokens: every real token outscores the padding rows, which tie at 0
    // and go to the lower positions. Layer 0 keeps rows 0..33, skips 34 and merges
    // the 29 padding rows 35..63. Layer 1 keeps rows 0..27, skips 28 and merges
    // rows 29..38 (T = 10, g = 3): cluster 4 gets only zero slots.
    const record = model.records.find((r) => r.input_ids.length === 12);
    if (!record) throw new Error('golden.jsonl has no 12-token record');
    const result = referenceForwardAuthors(model.config, model.weights, record.input_ids, record.token_type_ids, SETTINGS);

    const padding = (count: number): number[] => new Array(count).fill(-2);
    expect(result.tokensPerLayer).toEqual([39, 33, 29, 25]);
    expect(result.visibleTokensPerLayer).toEqual([12, 12, 12, 12]);
    expect(result.positions[0]).toEqual([...range(0, 12), ...padding(22), -1, -1, -1, -1, -1]);
    expect(result.positions[1]).toEqual([...range(0, 12), ...padding(16), -1, -1, -1, -1, -2]);
    expect(result.lastHidden.length).toBe(25 * model.config.hiddenSize);
  });

  it('matches dense below 25 tokens', () => {
    // With at most 24 real tokens, layers 0-2 (r = 34, 28, 24) keep every real
    // token in its place, the visible prefix is exactly the real tokens, and the
    // last layer's reduction cannot change the [CLS] row. Padding keys get
    // probability 0, so only the LayerNorm and attention epsilons separate the passes.
    const short = model.records.filter((r) => r.input_ids.length <= 24);
    expect(short.length).toBeGreaterThan(20);
    for (const record of short) {
      const dense = referenceForward(model.config, model.weights, record.input_ids, record.token_type_ids, null);
      const authors = referenceForwardAuthors(model.config, model.weights, record.input_ids, record.token_type_ids, SETTINGS);
      expectClose(authors.logits, dense.logits, 1e-5);
    }
  });
});

for (const folder of ['sst2-bert-mini', 'sst2-bert-mini-fca']) {
  describe(`referenceForwardAuthors on ${folder}`, () => {
    const model = loadModel(folder);

    it(`matches golden ${GOLDEN_SETTING}`, () => {
      let maxError = 0;
      let checked = 0;
      model.records.forEach((record, index) => {
        const label = `record ${index} (${record.input_ids.length} tokens, ${record.text.slice(0, 40)})`;
        const golden = record[GOLDEN_SETTING] as GoldenOutput | undefined;
        if (!golden) {
          expect(record.input_ids.length, label).toBeGreaterThan(SETTINGS.paddedLength);
          return;
        }

        const result = referenceForwardAuthors(model.config, model.weights, record.input_ids, record.token_type_ids, SETTINGS);
        expect(result.tokensPerLayer, label).toEqual(golden.tokens_per_layer);
        expect(result.logits.length, label).toBe(golden.logits.length);
        result.logits.forEach((logit, i) => {
          maxError = Math.max(maxError, Math.abs(logit - golden.logits[i]));
        });
        expect(maxError, label).toBeLessThanOrEqual(LOGIT_TOLERANCE);

        result.positions.forEach((rows, layer) => {
          expect(rows.length, `${label} layer ${layer}`).toBe(result.tokensPerLayer[layer]);
          expect(rows[0], `${label} layer ${layer}`).toBe(0);
        });
        checked++;
      });
      expect(checked).toBe(74);
    }, 120_000);
  });
}
