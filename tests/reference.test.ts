import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { parseBertConfig, type BertConfig } from '../src/model/config.js';
import { parseSafetensors } from '../src/model/safetensors.js';
import type { BertWeights } from '../src/model/tensor.js';
import { resolveBertWeights } from '../src/model/weights.js';
import { resolveFcaOptions, type FcaOptions } from '../src/fca/retention.js';
import { erf } from '../src/reference/erf.js';
import {
  attentionColumnScores,
  attentionContext,
  attentionProbabilities,
  clusterGroups,
  gelu,
  layerNorm,
  linear,
  reduceSequence,
  selectFineTokens,
} from '../src/reference/ops.js';
import { referenceForward, type ReferenceResult } from '../src/reference/forward.js';

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `element ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance);
  }
}

describe('erf and gelu', () => {
  // Expected values printed by CPython 3.11 math.erf.
  const erfTable: Array<[number, number]> = [
    [0, 0],
    [1e-8, 1.1283791670955126e-8],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [1.5, 0.9661051464753108],
    [2, 0.9953222650189527],
    [2.5, 0.999593047982555],
    [2.99, 0.9999764743969194],
    [3, 0.9999779095030014],
    [3.01, 0.9999792610363629],
    [3.5, 0.9999992569016276],
    [4, 0.9999999845827421],
    [5, 0.9999999999984626],
    [6, 1],
    [30, 1],
  ];

  it('erf matches double-precision values', () => {
    for (const [x, expected] of erfTable) {
      expect(Math.abs(erf(x) - expected), `erf(${x})`).toBeLessThanOrEqual(1e-15);
      expect(Math.abs(erf(-x) + expected), `erf(${-x})`).toBeLessThanOrEqual(1e-15);
    }
    expect(erf(Number.NaN)).toBeNaN();
  });

  it('gelu uses the erf form', () => {
    // 0.5 x (1 + erf(x / sqrt 2)) evaluated with CPython 3.11 math.erf.
    const table: Array<[number, number]> = [
      [-3, -0.00404969409489031],
      [-1, -0.15865525393145707],
      [-0.5, -0.15426876936299344],
      [0, 0],
      [0.5, 0.34573123063700656],
      [1, 0.8413447460685429],
      [2, 1.9544997361036416],
      [5, 4.999998566742141],
    ];
    for (const [x, expected] of table) {
      expect(Math.abs(gelu(x) - expected), `gelu(${x})`).toBeLessThanOrEqual(1e-14);
    }
  });
});

describe('linear', () => {
  it('computes x W^T + b on a hand example', () => {
    const x = [1, 2, 3, 4, 5, 6];
    const w = [1, 0, -1, 2, 1, 0];
    const y = linear(x, 2, 3, w, [10, 20], 2);
    // Row 0 is [1 - 3, 2 + 2] + b and row 1 is [4 - 6, 8 + 5] + b.
    expect(Array.from(y)).toEqual([8, 24, 8, 33]);
    expect(Array.from(linear(x, 2, 3, w, null, 2))).toEqual([-2, 4, -2, 13]);
  });

  it('blocked and leftover paths agree with dot products', () => {
    // 7 rows and 5 outputs exercise the 4 x 2 blocks and both leftovers.
    const rows = 7;
    const inFeatures = 6;
    const outFeatures = 5;
    const x = Float32Array.from({ length: rows * inFeatures }, (_, i) => Math.sin(i + 1));
    const w = Array.from({ length: outFeatures * inFeatures }, (_, i) => Math.cos(3 * i));
    const b = Array.from({ length: outFeatures }, (_, i) => i - 2);
    const y = linear(x, rows, inFeatures, w, b, outFeatures);
    const expected: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outFeatures; o++) {
        let sum = b[o];
        for (let i = 0; i < inFeatures; i++) sum += x[r * inFeatures + i] * w[o * inFeatures + i];
        expected.push(sum);
      }
    }
    expectClose(y, expected, 1e-12);
  });

  it('rejects a weight of the wrong size', () => {
    expect(() => linear([1, 2], 1, 2, [1, 2, 3], null, 2)).toThrow(/weight has 3 elements but its shape \[2, 2\] needs 4/);
  });
});

describe('layerNorm', () => {
  it('normalises each row with the biased variance', () => {
    // Row [1, 2, 3, 4]: mean 2.5, variance 1.25. Row [5, 5, 5, 5]: all zero after centring.
    const y = layerNorm([1, 2, 3, 4, 5, 5, 5, 5], 2, 4, [2, 2, 2, 2], [1, 1, 1, 1], 0.25);
    const scale = 1 / Math.sqrt(1.25 + 0.25);
    expectClose(y, [-1.5, -0.5, 0.5, 1.5].map((c) => 2 * c * scale + 1).concat([1, 1, 1, 1]), 1e-15);
  });
});

describe('attention', () => {
  // n = 2 tokens, hiddenSize 4, 2 heads of size 2. Each row is q | k | v.
  const qkv = [
    /* token 0 */ 1, 0, 0, 2, /* k */ 1, 0, 0, 1, /* v */ 1, 2, 3, 4,
    /* token 1 */ 0, 1, 1, 0, /* k */ 0, 0, 1, 1, /* v */ 5, 6, 7, 8,
  ];

  it('computes P as the scaled softmax', () => {
    const probs = attentionProbabilities(qkv, 2, 4, 2);
    const s = 1 / Math.sqrt(2);
    const softmax = (a: number, b: number): number[] => [Math.exp(a) / (Math.exp(a) + Math.exp(b)), Math.exp(b) / (Math.exp(a) + Math.exp(b))];
    // Head 0 uses columns 0..1: q0 = [1, 0], q1 = [0, 1], k0 = [1, 0], k1 = [0, 0].
    // Head 1 uses columns 2..3: q0 = [0, 2], q1 = [1, 0], k0 = [0, 1], k1 = [1, 1].
    const expected = [...softmax(s, 0), ...softmax(0, 0), ...softmax(2 * s, 2 * s), ...softmax(0, s)];
    expectClose(probs, expected, 1e-15);
  });

  it('computes the context per head', () => {
    const probs = [0.25, 0.75, 1, 0, 0.5, 0.5, 0, 1];
    const context = attentionContext(probs, qkv, 2, 4, 2);
    // Head 0 values: v0 = [1, 2], v1 = [5, 6]. Head 1 values: v0 = [3, 4], v1 = [7, 8].
    expectClose(context, [4, 5, 5, 6, 1, 2, 7, 8], 1e-15);
  });

  it('scores columns without the diagonal', () => {
    const probs = [
      /* head 0 */ 0.5, 0.3, 0.2, 0.1, 0.6, 0.3, 0.2, 0.2, 0.6,
      /* head 1 */ 1, 0, 0, 0.5, 0.5, 0, 0.25, 0.25, 0.5,
    ];
    // Head 0 off-diagonal column sums: 0.3, 0.5, 0.5. Head 1: 0.75, 0.25, 0.
    expectClose(attentionColumnScores(probs, 3, 2), [0.525, 0.375, 0.25], 1e-15);
  });
});

describe('selectFineTokens', () => {
  const scores = [-5, 0.5, 0.7, 0.5, 0.5, 0.1];

  it('keeps [CLS] with the lowest score', () => {
    expect(selectFineTokens(scores, 6, 1)).toEqual([0]);
    expect(selectFineTokens(scores, 6, 2)).toEqual([0, 2]);
  });

  it('breaks exact ties toward lower positions', () => {
    expect(selectFineTokens(scores, 6, 3)).toEqual([0, 1, 2]);
    expect(selectFineTokens(scores, 6, 4)).toEqual([0, 1, 2, 3]);
    expect(selectFineTokens(scores, 6, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(selectFineTokens([0, 1, 1, 1, 1], 5, 3)).toEqual([0, 1, 2]);
  });

  it('returns positions in ascending order', () => {
    expect(selectFineTokens([0, 0.1, 0.2, 0.9, 0.3], 5, 3)).toEqual([0, 3, 4]);
    expect(selectFineTokens(scores, 6, 6)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('rejects fine outside [1, n]', () => {
    expect(() => selectFineTokens(scores, 6, 0)).toThrow(/fine must be an integer in \[1, n = 6\], got 0/);
    expect(() => selectFineTokens(scores, 6, 7)).toThrow(/got 7/);
  });
});

describe('clusterGroups', () => {
  it('makes contiguous groups, larger first', () => {
    expect(clusterGroups(5, 2)).toEqual([0, 0, 0, 1, 1]);
    expect(clusterGroups(7, 3)).toEqual([0, 0, 0, 1, 1, 2, 2]);
    expect(clusterGroups(4, 4)).toEqual([0, 1, 2, 3]);
  });

  it('caps clusters at the tail length', () => {
    expect(clusterGroups(1, 3)).toEqual([0]);
    expect(clusterGroups(2, 5)).toEqual([0, 1]);
    expect(clusterGroups(0, 2)).toEqual([]);
  });

  it('marks every tail token dropped for K = 0', () => {
    expect(clusterGroups(3, 0)).toEqual([-1, -1, -1]);
  });
});

describe('reduceSequence', () => {
  // Row j of the hidden states is [j, j^2].
  const hidden = [0, 0, 1, 1, 2, 4, 3, 9, 4, 16, 5, 25];
  // [CLS] scores lowest but stays, and position 2 is the best other token. The
  // tail is [1, 3, 4, 5] in groups [0, 0, 1, 1]. Softmax weights: exp(ln 3)
  // and exp(0) give 3/4 and 1/4 in group 0, equal scores give 1/2 each in group 1.
  const scores = [-1, Math.log(3), 5, 0, 0, 0];

  it('merges the tail into weighted clusters', () => {
    const result = reduceSequence(hidden, 6, 2, scores, 2, 2, 'weighted');
    expect(result.rows).toBe(4);
    expect(result.positions).toEqual([0, 2, -1, -2]);
    // Cluster 0 is 3/4 [1, 1] + 1/4 [3, 9], and cluster 1 is 1/2 [4, 16] + 1/2 [5, 25].
    expectClose(result.hidden, [0, 0, 2, 4, 1.5, 3, 4.5, 20.5], 1e-15);
  });

  it('merges the tail into plain means', () => {
    const result = reduceSequence(hidden, 6, 2, scores, 2, 2, 'mean');
    expect(result.positions).toEqual([0, 2, -1, -2]);
    expectClose(result.hidden, [0, 0, 2, 4, 2, 5, 4.5, 20.5], 1e-15);
  });

  it('merges the whole tail into one cluster', () => {
    // Tail [1, 2, 3, 4, 5]: softmax weights 3, e^5, 1, 1, 1 over their sum.
    const result = reduceSequence(hidden, 6, 2, scores, 1, 1, 'weighted');
    const w = [3, Math.exp(5), 1, 1, 1];
    const total = w.reduce((a, b) => a + b, 0);
    const merged = [0, 1].map((d) => w.reduce((sum, wq, q) => sum + (wq / total) * hidden[(q + 1) * 2 + d], 0));
    expect(result.positions).toEqual([0, -1]);
    expectClose(result.hidden, [0, 0, ...merged], 1e-13);
  });

  it('drops the tail for K = 0', () => {
    const result = reduceSequence(hidden, 6, 2, scores, 3, 0, 'weighted');
    expect(result.rows).toBe(3);
    expect(result.positions).toEqual([0, 1, 2]);
    expect(Array.from(result.hidden)).toEqual([0, 0, 1, 1, 2, 4]);
  });

  it('leaves a sequence that would not shrink alone', () => {
    // r' = 5 and C = min(2, 1) = 1 give 6 tokens, which is not fewer than n = 6.
    for (const [fine, clusters] of [[5, 2], [6, 2], [10, 0], [5, 1]]) {
      const result = reduceSequence(hidden, 6, 2, scores, fine, clusters, 'weighted');
      expect(result.rows, `fine ${fine}, clusters ${clusters}`).toBe(6);
      expect(result.positions).toEqual([0, 1, 2, 3, 4, 5]);
      expect(Array.from(result.hidden)).toEqual(hidden);
    }
  });
});

interface GoldenOutput {
  logits: number[];
  tokens_per_layer: number[];
  flops: number;
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

/** Golden settings of the shared models, except the authors'-code variant "ref-L64-c34-28-24-20-k5". */
const GOLDEN_SETTINGS: Record<string, FcaOptions | undefined> = {
  dense: undefined,
  'r50-k2': { retention: 0.5, clusters: 2 },
  'r70-50-40-30-k1': { retention: [0.7, 0.5, 0.4, 0.3], clusters: 1 },
  'r60-40-30-20-k3': { retention: [0.6, 0.4, 0.3, 0.2], clusters: 3 },
  'r50-drop': { retention: 0.5, clusters: 0 },
};

/** PyTorch float32 logits against float64: the observed gap is about 1e-6. */
const LOGIT_TOLERANCE = 1e-3;

/**
 * Lists what is wrong with a result's position tracking: each layer must hold
 * one entry per token, [CLS] (0) first, original positions ascending, then
 * only clusters (-1).
 */
function positionProblems(result: ReferenceResult, hiddenSize: number): string[] {
  const problems: string[] = [];
  result.positions.forEach((layerPositions, layer) => {
    const firstCluster = layerPositions.indexOf(-1);
    const originals = firstCluster === -1 ? layerPositions : layerPositions.slice(0, firstCluster);
    const clusters = firstCluster === -1 ? [] : layerPositions.slice(firstCluster);
    const ascending = originals.every((p, i) => i === 0 || p > originals[i - 1]);
    if (
      layerPositions.length !== result.tokensPerLayer[layer] ||
      layerPositions[0] !== 0 ||
      !ascending ||
      clusters.some((p) => p !== -1)
    ) {
      problems.push(`layer ${layer}: [${layerPositions.join(', ')}] for ${result.tokensPerLayer[layer]} tokens`);
    }
  });
  const lastRows = result.tokensPerLayer[result.tokensPerLayer.length - 1];
  if (result.lastHidden.length !== lastRows * hiddenSize) {
    problems.push(`lastHidden has ${result.lastHidden.length} values, expected ${lastRows} x ${hiddenSize}`);
  }
  return problems;
}

for (const folder of ['sst2-bert-mini', 'sst2-bert-mini-fca']) {
  describe(`referenceForward on ${folder}`, () => {
    const model = loadModel(folder);

    for (const [setting, options] of Object.entries(GOLDEN_SETTINGS)) {
      it(`matches golden ${setting}`, () => {
        const fca = resolveFcaOptions(options, model.config.numLayers);
        let maxError = 0;
        model.records.forEach((record, index) => {
          const golden = record[setting] as GoldenOutput;
          const result = referenceForward(model.config, model.weights, record.input_ids, record.token_type_ids, fca);
          const label = `record ${index} (${record.text.slice(0, 40)})`;

          expect(result.tokensPerLayer, label).toEqual(golden.tokens_per_layer);
          expect(result.flops, label).toBe(golden.flops);
          expect(result.logits.length, label).toBe(golden.logits.length);
          result.logits.forEach((logit, i) => {
            maxError = Math.max(maxError, Math.abs(logit - golden.logits[i]));
          });
          expect(maxError, label).toBeLessThanOrEqual(LOGIT_TOLERANCE);
          expect(result.pooled?.length, label).toBe(model.config.hiddenSize);
          expect(positionProblems(result, model.config.hiddenSize), label).toEqual([]);
          if (!fca) expect(result.positions.every((p) => p.every((source, row) => source === row)), label).toBe(true);
        });
      }, 60_000);
    }

    it('retention 1 reproduces the dense pass', () => {
      const record = model.records[0];
      const dense = referenceForward(model.config, model.weights, record.input_ids, record.token_type_ids, null);
      const full = referenceForward(
        model.config,
        model.weights,
        record.input_ids,
        record.token_type_ids,
        resolveFcaOptions({ retention: 1, clusters: 2 }, model.config.numLayers),
      );
      expect(full.tokensPerLayer).toEqual(dense.tokensPerLayer);
      expect(full.logits).toEqual(dense.logits);
    });

    it('weighting changes only cluster outputs', () => {
      const record = model.records[0];
      const run = (options: FcaOptions, weighting: 'weighted' | 'mean'): ReferenceResult =>
        referenceForward(model.config, model.weights, record.input_ids, record.token_type_ids, resolveFcaOptions(options, model.config.numLayers), {
          weighting,
        });
      const drop = { retention: 0.5, clusters: 0 };
      expect(run(drop, 'mean').logits).toEqual(run(drop, 'weighted').logits);

      const merge = { retention: 0.5, clusters: 2 };
      const weighted = run(merge, 'weighted');
      const mean = run(merge, 'mean');
      expect(mean.tokensPerLayer).toEqual(weighted.tokensPerLayer);
      expect(mean.logits).not.toEqual(weighted.logits);
    });
  });
}
