// The whole model on WebGPU against the float64 reference and the PyTorch golden outputs.
import { expect, test, type Page } from '@playwright/test';

const MINI = '/shared/models/sst2-bert-mini/';
const MINI_FCA = '/shared/models/sst2-bert-mini-fca/';
// PyTorch float32 outputs vs WebGPU float32: the golden files ask for 1e-3.
const GOLDEN_TOLERANCE = 1e-3;
// float64 reference vs WebGPU float32 on a 4-layer model.
const REFERENCE_TOLERANCE = 1e-3;

const SENTENCES = [
  "it 's a charming and often affecting journey . ",
  'unflinchingly bleak and desperate ',
  'the acting , costumes , music , cinematography and sound are all astounding given the production \'s austere locales . ',
  'a',
  { text: 'the movie was fine .', text_pair: 'i did not like the ending at all , and the middle dragged .' },
  "it 's slow -- very , very slow . it 's not the ultimate depression-era gangster movie . ",
];

async function openHarness(page: Page) {
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => window.harnessReady === true);
}

test.describe.configure({ mode: 'serial' });

for (const [model, settings] of [
  [MINI, ['dense', 'r50-k2', 'r70-50-40-30-k1', 'r60-40-30-20-k3', 'r50-drop']],
  [MINI_FCA, ['dense', 'r50-k2', 'r50-drop']],
] as const) {
  test(`golden outputs of ${model}`, async ({ page }) => {
    await openHarness(page);
    for (const setting of settings) {
      const result = await page.evaluate(([url, name]) => window.harness.checkGolden(url, name), [model, setting] as const);
      expect(result.records, setting).toBe(78);
      expect(result.mismatches, setting).toEqual([]);
      expect(result.maxLogitError, setting).toBeLessThan(GOLDEN_TOLERANCE);
    }
  });
}

test('engine matches float64 reference, dense and FCA', async ({ page }) => {
  await openHarness(page);
  const optionSets = [
    {},
    { retention: 0.5, clusters: 0 },
    { retention: 0.5, clusters: 1 },
    { retention: [0.6, 0.4, 0.3, 0.2], clusters: 2 },
    { retention: 0.3, clusters: 3 },
    { retentionCounts: [6, 4, 4, 2], clusters: 2 },
    { retention: 1, clusters: 2 },
  ];
  for (const options of optionSets) {
    const result = await page.evaluate(([url, texts, o]) => window.harness.checkAgainstReference(url, texts, o), [MINI, SENTENCES, options] as const);
    expect(result.mismatches, JSON.stringify(options)).toEqual([]);
    expect(result.maxLogitError, JSON.stringify(options)).toBeLessThan(REFERENCE_TOLERANCE);
  }
});

test('bad retention and inputs give clear errors', async ({ page }) => {
  await openHarness(page);
  const cases: Array<[unknown[], object, RegExp]> = [
    [['good'], { retention: 1.5 }, /1\.5.*outside \(0, 1\]/],
    [['good'], { retention: 0 }, /outside \(0, 1\]/],
    [['good'], { retentionCounts: [4, 6, 2, 2] }, /grow/],
    [['good'], { retention: [0.5, 0.5] }, /4 layers/],
    [[{ input_ids: [101, 99999, 102] }], {}, /99999/],
    [[{ nothing: 1 }], {}, /text|input_ids/],
  ];
  for (const [inputs, options, pattern] of cases) {
    const outcome = await page.evaluate(([url, i, o]) => window.harness.classify(url, i as never, o), [MINI, inputs, options] as const);
    expect(outcome.error, JSON.stringify(options)).toMatch(pattern);
  }
  // A failed call leaves the model usable and its results unchanged.
  const again = await page.evaluate((url) => window.harness.classify(url, ["it 's a charming and often affecting journey . "]), MINI);
  expect(again.results?.[0].label).toBe('positive');
});

test('long input is truncated and says so', async ({ page }) => {
  await openHarness(page);
  const long = 'good '.repeat(600);
  const outcome = await page.evaluate(([url, text]) => window.harness.classify(url, [text], { retention: 0.5 }), [MINI, long] as const);
  expect(outcome.error).toBeUndefined();
  expect(outcome.results?.[0].truncated).toBe(true);
  expect(outcome.results?.[0].tokens.length).toBe(512);
  expect(outcome.results?.[0].tokens_per_layer).toEqual([258, 258, 258, 258]);
});
