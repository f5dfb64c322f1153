// Every WebGPU kernel against the float64 CPU reference on random inputs.
import { expect, test, type Page } from '@playwright/test';

// float32 accumulation over at most a few hundred terms of values in [-2, 2].
const TOLERANCE = 2e-4;

async function openHarness(page: Page) {
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => window.harnessReady === true);
}

test.describe.configure({ mode: 'serial' });

test('gemm matches reference, odd shapes and epilogues', async ({ page }) => {
  await openHarness(page);
  const cases = [
    { m: 1, n: 4, k: 4, activation: 'none' },
    { m: 2, n: 2, k: 8, activation: 'none' },
    { m: 7, n: 6, k: 12, activation: 'gelu' },
    { m: 33, n: 68, k: 36, activation: 'tanh' },
    { m: 130, n: 64, k: 64, activation: 'gelu' },
  ] as const;
  for (const gemmCase of cases) {
    const { maxError } = await page.evaluate((c) => window.harness.checkGemm({ ...c }), gemmCase);
    expect(maxError, JSON.stringify(gemmCase)).toBeLessThan(TOLERANCE);
  }
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
