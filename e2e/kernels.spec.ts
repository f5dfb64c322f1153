// Every WebGPU kernel against the float64 CPU reference on random inputs.
import { expect, test, type Page } from '@playwright/test';
import { TEXTURE_GEMM_TILES } from '../src/gpu/tuning.js';

// float32 accumulation over at most a few hundred terms of values in [-2, 2].
const TOLERANCE = 2e-4;

async function openHarness(page: Page) {
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => window.harnessReady === true);
}

test.describe.configure({ mode: 'serial' });

test('gemm matches reference, every variant', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  await openHarness(page);
  // Output tiles are 64 x 64 (tiled) and 16, 8 or 4 rows by 64 columns (texture): m and n fall on and off tile edges.
  const cases = [
    { m: 1, n: 4, k: 4, activation: 'none' },
    { m: 2, n: 2, k: 8, activation: 'none' },
    { m: 7, n: 6, k: 12, activation: 'gelu' },
    { m: 33, n: 68, k: 36, activation: 'tanh' },
    { m: 17, n: 260, k: 20, activation: 'none' },
    { m: 65, n: 132, k: 68, activation: 'gelu' },
    { m: 130, n: 300, k: 64, activation: 'gelu' },
    // The pooler's case: one row per sequence, rows 5 apart in the input.
    { m: 3, n: 40, k: 32, activation: 'tanh', rowStride: 5 },
  ] as const;
  const runs = [
    { variant: 'tiled', tile: undefined },
    ...(['texture', 'textureSubgroups'] as const).flatMap((variant) => TEXTURE_GEMM_TILES.map((tile) => ({ variant, tile }))),
  ] as const;
  for (const { variant, tile } of runs) {
    for (const gemmCase of cases) {
      const label = JSON.stringify({ variant, tile, ...gemmCase });
      const result = await page.evaluate((c) => window.harness.checkGemm(c), { variant, tile, ...gemmCase });
      expect(result.maxError, label).toBeLessThan(TOLERANCE);
      expect(result.rowsPastMWritten, label).toBe(false);
      if (variant === 'textureSubgroups') expect(result.subgroups, label).toBe(true);
    }
  }
});

test('gemm tuning avoids tiled kernel on SwiftShader', async ({ page }) => {
  await openHarness(page);
  const { adapter } = await page.evaluate(() => window.harness.checkGemm({ variant: 'tiled', m: 1, n: 4, k: 4, activation: 'none' }));
  test.skip(adapter.architecture !== 'swiftshader', `the adapter is ${adapter.vendor} / ${adapter.architecture}, not SwiftShader`);
  const variant = await page.evaluate(() => window.harness.chosenGemmVariant());
  expect(['texture', 'textureSubgroups']).toContain(variant);
});

test('attention matches reference with padding', async ({ page }) => {
  await openHarness(page);
  const cases = [
    { lengths: [1], numHeads: 1, headSize: 4 },
    { lengths: [2, 1], numHeads: 2, headSize: 8 },
    { lengths: [5, 13, 3], numHeads: 3, headSize: 8 },
    { lengths: [130, 7], numHeads: 2, headSize: 16 },
  ];
  for (const attentionCase of cases) {
    const { probsError, contextError } = await page.evaluate((c) => window.harness.checkAttention(c), attentionCase);
    expect(probsError, JSON.stringify(attentionCase)).toBeLessThan(TOLERANCE);
    expect(contextError, JSON.stringify(attentionCase)).toBeLessThan(TOLERANCE);
  }
});

test('add + layer norm matches reference', async ({ page }) => {
  await openHarness(page);
  for (const normCase of [{ lengths: [1], width: 4 }, { lengths: [3, 130, 2], width: 36 }]) {
    const { maxError, paddingWritten } = await page.evaluate((c) => window.harness.checkAddLayerNorm(c), normCase);
    expect(maxError, JSON.stringify(normCase)).toBeLessThan(TOLERANCE);
    expect(paddingWritten, 'rows past the length must stay untouched').toBe(false);
  }
});

test('embeddings match reference', async ({ page }) => {
  await openHarness(page);
  for (const embeddingCase of [{ lengths: [1], hidden: 8 }, { lengths: [2, 9, 131], hidden: 20 }]) {
    const { maxError, originsCorrect } = await page.evaluate((c) => window.harness.checkEmbeddings(c), embeddingCase);
    expect(maxError, JSON.stringify(embeddingCase)).toBeLessThan(TOLERANCE);
    expect(originsCorrect).toBe(true);
  }
});

test('attention column scores match reference', async ({ page }) => {
  await openHarness(page);
  for (const scoreCase of [{ lengths: [1], numHeads: 1 }, { lengths: [2, 5, 140], numHeads: 3 }]) {
    const { maxError } = await page.evaluate((c) => window.harness.checkColumnScores(c), scoreCase);
    expect(maxError, JSON.stringify(scoreCase)).toBeLessThan(TOLERANCE);
  }
});

test('top-k, gather and clusters match reference', async ({ page }) => {
  await openHarness(page);
  const sequences = [
    { n: 1, fine: 1, clusters: 2 },
    { n: 2, fine: 1, clusters: 2 },
    { n: 2, fine: 1, clusters: 0 },
    { n: 9, fine: 4, clusters: 2 },
    { n: 9, fine: 7, clusters: 5 },
    { n: 12, fine: 3, clusters: 3 },
    { n: 12, fine: 5, clusters: 1 },
    { n: 140, fine: 40, clusters: 3 },
  ];
  for (const scores of ['random', 'ties'] as const) {
    for (const weighting of ['weighted', 'mean'] as const) {
      const result = await page.evaluate((c) => window.harness.checkReduction(c), { sequences, hidden: 12, scores, weighting });
      const label = `${scores} scores, ${weighting} clusters`;
      expect(result.selectionCorrect, label).toBe(true);
      expect(result.originsCorrect, label).toBe(true);
      expect(result.maxError, label).toBeLessThan(1e-5);
      expect(result.tokensOut, label).toEqual([1, 2, 1, 6, 9, 6, 6, 43]);
    }
  }
});

test('authors softmax masks after exp', async ({ page }) => {
  await openHarness(page);
  const cases = [
    { sequences: [{ n: 1, visible: 1 }], numHeads: 1, headSize: 4 },
    { sequences: [{ n: 9, visible: 3 }, { n: 5, visible: 5 }, { n: 12, visible: 1 }], numHeads: 2, headSize: 8 },
    { sequences: [{ n: 64, visible: 12 }, { n: 39, visible: 39 }], numHeads: 4, headSize: 8 },
  ];
  for (const attentionCase of cases) {
    const result = await page.evaluate((c) => window.harness.checkAuthorsAttention(c), attentionCase);
    const label = JSON.stringify(attentionCase);
    expect(result.probsError, label).toBeLessThan(TOLERANCE);
    expect(result.contextError, label).toBeLessThan(TOLERANCE);
    expect(result.scoresError, label).toBeLessThan(TOLERANCE);
    expect(result.maskedKeysZero, `${label}: masked keys must get exactly 0`).toBe(true);
    expect(result.maskedScoresZero, `${label}: masked rows must score exactly 0`).toBe(true);
  }

  // Masked keys with the largest logits make the visible sum small next to 1e-7,
  // so the authors' probabilities differ from a plain masked softmax here.
  const dominated = { sequences: [{ n: 16, visible: 6 }, { n: 10, visible: 2 }], numHeads: 2, headSize: 8, maskedKeyScale: 8 };
  const result = await page.evaluate((c) => window.harness.checkAuthorsAttention(c), dominated);
  expect(result.plainSoftmaxGap, 'the case must tell the authors softmax from a plain one').toBeGreaterThan(1e-2);
  expect(result.probsError).toBeLessThan(TOLERANCE);
  expect(result.maskedKeysZero).toBe(true);
});

test('authors reduction matches authorsReduce', async ({ page }) => {
  await openHarness(page);
  const sequences = [
    // Ranking 2, 4 (tie, lower row first), 6, 1, 3, 5: rows 3 and 5 score 0 like padding; T = 3, g = 2.
    { n: 7, fine: 3, clusters: 2, scores: [9, 0.5, 2, 0, 2, 0, 1] },
    // K divides T = 2: g = 2, the last cluster is all zero padding.
    { n: 5, fine: 2, clusters: 2, scores: [0, 3, 1, 1, 2] },
    // r + K = n still reduces: rank r is skipped, the tail has one row.
    { n: 5, fine: 3, clusters: 2, scores: [0, 1, 2, 3, 4] },
    // Empty tail: the only non-[CLS] row is skipped, both clusters are zero.
    { n: 3, fine: 2, clusters: 1 },
    { n: 2, fine: 1, clusters: 1 },
    { n: 12, fine: 1, clusters: 3 },
    { n: 64, fine: 34, clusters: 5, visible: 12 },
    { n: 39, fine: 28, clusters: 5, visible: 30 },
    { n: 140, fine: 40, clusters: 5, visible: 100 },
  ];
  for (const scores of ['random', 'ties'] as const) {
    const result = await page.evaluate((c) => window.harness.checkAuthorsReduction(c), { sequences, hidden: 12, scores });
    expect(result.mismatches, scores).toEqual([]);
    // Cluster rows are (1/g) times convex combinations of values in [-2, 2]; float32 sums over at most 140 rows.
    expect(result.maxError, scores).toBeLessThan(1e-6);
    expect(result.tokensOut, scores).toEqual([5, 4, 5, 3, 2, 4, 39, 33, 45]);
  }
});
