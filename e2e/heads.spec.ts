// Task heads on random-weight models and batch invariance on the real model,
// checked against the float64 reference.
import { expect, test, type Page } from '@playwright/test';

// float32 on the GPU against float64 on the CPU, 2-layer random models with activations O(1).
const TOLERANCE = 1e-4;
// Padding and batch position must not change a sequence's arithmetic at all; 1e-5 leaves room for none.
const BATCH_TOLERANCE = 1e-5;

const TINY = { hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, vocabSize: 40 };
const TEXTS = ['w1 w2 w3', 'w4', 'w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17', 'w30 w31 w2 w2 w2 w9'];
const FCA_SETTINGS = [{}, { retention: 0.5, clusters: 2 }, { retention: [0.6, 0.3], clusters: 1, variant: 'mean' }, { retention: 0.4, variant: 'drop' }];

async function openHarness(page: Page) {
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => window.harnessReady === true);
}

test.describe.configure({ mode: 'serial' });

test('sequence pair classification head', async ({ page }) => {
  await openHarness(page);
  for (const options of FCA_SETTINGS) {
    const result = await page.evaluate(
      ([spec, texts, o]) => window.harness.checkSequenceHead({ ...spec, architecture: 'BertForSequenceClassification', numLabels: 3 }, texts, o as never),
      [TINY, TEXTS, options] as const,
    );
    expect(result.logitError, JSON.stringify(options)).toBeLessThan(TOLERANCE);
    expect(result.probabilityError, JSON.stringify(options)).toBeLessThan(TOLERANCE);
    expect(result.logits.every((l) => l.length === 3)).toBe(true);
    expect(result.scores.every((s) => s === undefined)).toBe(true);
  }
});

test('regression head returns a score', async ({ page }) => {
  await openHarness(page);
  for (const options of FCA_SETTINGS) {
    const result = await page.evaluate(
      ([spec, texts, o]) => window.harness.checkSequenceHead({ ...spec, architecture: 'BertForSequenceClassification', numLabels: 1 }, texts, o as never),
      [TINY, TEXTS, options] as const,
    );
    expect(result.logitError, JSON.stringify(options)).toBeLessThan(TOLERANCE);
    expect(result.probabilities.every((p) => p.length === 0)).toBe(true);
    result.scores.forEach((score, i) => expect(score).toBe(result.logits[i][0]));
  }
});

test('multiple choice softmax across choices', async ({ page }) => {
  await openHarness(page);
  const questions = [
    { text: 'w1 w2 w3 w4 w5', choices: ['w6', 'w7 w8', 'w9 w10 w11', 'w3'] },
    { text: 'w12', choices: ['w13 w14'] },
    { text: 'w20 w21 w22 w23 w24 w25 w26 w27', choices: ['w1', 'w2 w2'] },
  ];
  for (const options of FCA_SETTINGS) {
    const result = await page.evaluate(
      ([spec, q, o]) => window.harness.checkMultipleChoice({ ...spec, architecture: 'BertForMultipleChoice' }, q, o as never),
      [TINY, questions, options] as const,
    );
    expect(result.logitError, JSON.stringify(options)).toBeLessThan(TOLERANCE);
    expect(result.probabilityError, JSON.stringify(options)).toBeLessThan(TOLERANCE);
    expect(result.labelsCorrect).toBe(true);
    expect(result.flopsCorrect).toBe(true);
    expect(result.choices).toEqual([4, 1, 2]);
  }
});

test('feature extraction mean and cls pooling', async ({ page }) => {
  await openHarness(page);
  for (const pooling of ['mean', 'cls'] as const) {
    for (const options of FCA_SETTINGS) {
      const result = await page.evaluate(
        ([spec, texts, o]) => window.harness.checkEmbed({ ...spec, architecture: 'BertModel' }, texts, o as never),
        [TINY, TEXTS, { ...options, pooling }] as const,
      );
      expect(result.maxError, `${pooling} ${JSON.stringify(options)}`).toBeLessThan(TOLERANCE);
      expect(result.dimensions).toEqual([16, 16, 16, 16]);
    }
  }
});

test('heads reject the wrong method', async ({ page }) => {
  await openHarness(page);
  const cases = [
    ['BertModel', 'classify', ['w1'], /classify needs a BertForSequenceClassification.*embed\(\)/],
    ['BertForSequenceClassification', 'chooseAnswer', [{ text: 'w1', choices: ['w2'] }], /chooseAnswer needs a BertForMultipleChoice/],
    ['BertForMultipleChoice', 'chooseAnswer', [{ text: 'w1', choices: [] }], /at least one choice/],
    ['BertModel', 'embed', ['w1'], /pooling must be 'mean' or 'cls'/],
  ] as const;
  for (const [architecture, method, input, pattern] of cases) {
    const options = method === 'embed' ? { pooling: 'max' } : {};
    const outcome = await page.evaluate(
      ([spec, a, m, i, o]) => window.harness.headError({ ...spec, architecture: a }, m, i, o),
      [TINY, architecture, method, input, options] as const,
    );
    expect(outcome.error, `${architecture}.${method}`).toMatch(pattern);
  }
});

test('batch of mixed lengths equals each alone', async ({ page }) => {
  await openHarness(page);
  const lines = (await (await page.request.get('/shared/data/glue/SST-2/dev.tsv')).text()).trim().split('\n').slice(1);
  // 32 sentences of many lengths: every 27th dev sentence.
  const texts = Array.from({ length: 32 }, (_, i) => lines[i * 27].split('\t')[0]);
  for (const options of [{}, { retention: 0.5, clusters: 2 }, { retention: [0.6, 0.4, 0.3, 0.2], clusters: 3, variant: 'mean' }, { retention: 0.3, clusters: 0 }]) {
    const result = await page.evaluate(
      ([t, o]) => window.harness.checkBatchInvariance('/shared/models/sst2-bert-mini/', t, o as never, [3, 32]),
      [texts, options] as const,
    );
    expect(new Set(result.lengths).size, 'inputs of many lengths').toBeGreaterThan(15);
    expect(result.mismatches, JSON.stringify(options)).toEqual([]);
    expect(result.maxLogitDiff, JSON.stringify(options)).toBeLessThanOrEqual(BATCH_TOLERANCE);
  }
});
