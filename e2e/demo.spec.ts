import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';

/**
 * Expected values were computed by the PyTorch float32 reference forward pass
 * of sst2-bert-mini (F16 weights), dense and with FCA at retention 0.5 for
 * every layer and K = 2. FLOPs follow the engine's count exactly, so they are
 * compared exactly. Logits allow 2e-3 for float32 summation order on the GPU.
 */
const LOGIT_TOLERANCE = 2e-3;
const PROBABILITY_TOLERANCE = 1e-3;

interface PassExpectation {
  label: string;
  logits: number[];
  tokensPerLayer: number[];
  flops: number;
}

interface Case {
  text: string;
  textPair?: string;
  tokenCount: number;
  /** Input positions of [SEP]. */
  separators: number[];
  dense: PassExpectation;
  fca: PassExpectation & { keptPerLayer: number; clustersPerLayer: number };
}

// 12 tokens: layer 0 keeps ceil(0.5 * 12) = 6 input tokens and merges the other 6 into 2 clusters.
// Later layers pass all 8 through, because keeping 6 and merging 2 into 2 clusters would not shorten it.
const SINGLE: Case = {
  text: "it 's a charming and often affecting journey .",
  tokenCount: 12,
  separators: [11],
  dense: { label: 'positive', logits: [-2.534604, 2.651007], tokensPerLayer: [12, 12, 12, 12], flops: 76087296 },
  fca: {
    label: 'positive',
    logits: [-2.535827, 2.652196],
    tokensPerLayer: [8, 8, 8, 8],
    flops: 52772864,
    keptPerLayer: 6,
    clustersPerLayer: 2,
  },
};

// 39 tokens as a pair: layer 0 keeps ceil(0.5 * 39) = 20 input tokens and merges the other 19 into 2 clusters.
const PAIR: Case = {
  text: '" This decision is clearly incorrect , " FTC Chairman Timothy Muris said in a written statement .',
  textPair: 'The decision is " clearly incorrect , " FTC Chairman Tim Muris said .',
  tokenCount: 39,
  separators: [21, 38],
  dense: { label: 'negative', logits: [0.923029, -0.932934], tokensPerLayer: [39, 39, 39, 39], flops: 251596800 },
  fca: {
    label: 'negative',
    logits: [1.038102, -1.069957],
    tokensPerLayer: [22, 22, 22, 22],
    flops: 150369280,
    keptPerLayer: 20,
    clustersPerLayer: 2,
  },
};

const NUM_LAYERS = 4;

/** The bundled model's folder, picked through the page's folder input in one test. */
const MODEL_FOLDER = fileURLToPath(new URL('../models/sst2-bert-mini', import.meta.url));

function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((logit) => Math.exp(logit - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Waits until the page finished loading its model and fails with the page's own error text otherwise. */
async function openReadyDemo(page: Page): Promise<void> {
  await page.goto('/demo/');
  await page.waitForFunction(() => document.body.dataset.state !== undefined && document.body.dataset.state !== 'busy');
  const state = await page.evaluate(() => document.body.dataset.state);
  const loadError = (await page.getByTestId('load-error').textContent()) ?? '';
  expect(state, `the demo page failed to load its model: ${loadError}`).toBe('ready');
  expect(await page.evaluate(() => window.demoReady)).toBe(true);
}

/** Presses Enter in the text box and waits until that classify request has finished. */
async function classifyWithEnter(page: Page): Promise<void> {
  const runsBefore = await page.evaluate(() => Number(document.body.dataset.runs ?? '0'));
  await page.getByLabel('Text', { exact: true }).press('Enter');
  await page.waitForFunction(
    (before) => Number(document.body.dataset.runs ?? '0') > before && document.body.dataset.state !== 'busy',
    runsBefore,
  );
}

async function dataValue(page: Page, testId: string): Promise<string> {
  const value = await page.getByTestId(testId).getAttribute('data-value');
  expect(value, `${testId} has no data-value`).not.toBeNull();
  return value as string;
}

async function expectPass(page: Page, prefix: 'dense' | 'fca', expected: PassExpectation): Promise<void> {
  await expect(page.getByTestId(`${prefix}-label`)).toHaveText(expected.label);

  const logits = JSON.parse(await dataValue(page, `${prefix}-logits`)) as number[];
  expect(logits).toHaveLength(expected.logits.length);
  logits.forEach((logit, i) => {
    expect(Math.abs(logit - expected.logits[i]), `${prefix} logit ${i}: ${logit} vs ${expected.logits[i]}`).toBeLessThan(
      LOGIT_TOLERANCE,
    );
  });

  const probabilities = softmax(expected.logits);
  for (const [labelId, probability] of probabilities.entries()) {
    const shown = Number(await dataValue(page, `${prefix}-prob-${labelId}`));
    expect(Math.abs(shown - probability), `${prefix} probability ${labelId}: ${shown} vs ${probability}`).toBeLessThan(
      PROBABILITY_TOLERANCE,
    );
  }

  expect(Number(await dataValue(page, `${prefix}-flops`))).toBe(expected.flops);
  expect(JSON.parse(await dataValue(page, `${prefix}-tokens-per-layer`))).toEqual(expected.tokensPerLayer);
}

async function expectLayers(page: Page, expected: Case): Promise<void> {
  await expect(page.getByTestId('fca-layers').locator('> li')).toHaveCount(NUM_LAYERS);

  let keptBefore: Set<string> | null = null;
  for (let layer = 0; layer < NUM_LAYERS; layer++) {
    const row = page.getByTestId(`fca-layer-${layer}`);
    const chips = row.locator('.chip[data-position]');
    const keptChips = row.locator('.chip[data-kept="true"]');
    const clusterChips = row.locator('.chip[data-cluster="true"]');

    await expect(row).toHaveAttribute('data-tokens', String(expected.fca.tokensPerLayer[layer]));
    await expect(row.locator('.layer-title')).toContainText(`${expected.fca.tokensPerLayer[layer]} tokens`);
    await expect(chips).toHaveCount(expected.tokenCount);
    await expect(keptChips).toHaveCount(expected.fca.keptPerLayer);
    await expect(clusterChips).toHaveCount(expected.fca.clustersPerLayer);

    const cls = row.locator('.chip[data-position="0"]');
    await expect(cls).toHaveText('[CLS]');
    await expect(cls, `[CLS] dropped at layer ${layer}`).toHaveAttribute('data-kept', 'true');

    // A token removed by one layer cannot reappear in a later layer.
    const kept = new Set(await keptChips.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-position') ?? '')));
    if (keptBefore) {
      for (const position of kept) expect(keptBefore.has(position), `position ${position} reappears at layer ${layer}`).toBe(true);
    }
    keptBefore = kept;
  }

  const firstRow = page.getByTestId('fca-layer-0');
  for (const position of expected.separators) {
    await expect(firstRow.locator(`.chip[data-position="${position}"]`)).toHaveText('[SEP]');
  }
}

test.describe('demo page', () => {
  test('single sentence dense and FCA', async ({ page }) => {
    await openReadyDemo(page);
    await page.getByLabel('Text', { exact: true }).fill(SINGLE.text);
    await page.getByLabel('Second text (optional, for sentence-pair tasks)').fill('');
    await page.getByLabel('Retention fractions').fill('0.5');
    await page.getByLabel('Clusters K').fill('2');
    await classifyWithEnter(page);

    expect(await page.evaluate(() => document.body.dataset.state)).toBe('ready');
    await expect(page.getByTestId('truncated')).toHaveAttribute('data-value', 'false');
    await expectPass(page, 'dense', SINGLE.dense);
    await expectPass(page, 'fca', SINGLE.fca);

    const ratio = Number(await dataValue(page, 'fca-flops-ratio'));
    expect(Math.abs(ratio - SINGLE.fca.flops / SINGLE.dense.flops)).toBeLessThan(1e-9);
    await expectLayers(page, SINGLE);
  });

  test('sentence pair with Classify button', async ({ page }) => {
    await openReadyDemo(page);
    await page.getByLabel('Text', { exact: true }).fill(PAIR.text);
    await page.getByLabel('Second text (optional, for sentence-pair tasks)').fill(PAIR.textPair ?? '');

    const runsBefore = await page.evaluate(() => Number(document.body.dataset.runs ?? '0'));
    await page.getByRole('button', { name: 'Classify' }).click();
    await page.waitForFunction(
      (before) => Number(document.body.dataset.runs ?? '0') > before && document.body.dataset.state !== 'busy',
      runsBefore,
    );

    expect(await page.evaluate(() => document.body.dataset.state)).toBe('ready');
    await expectPass(page, 'dense', PAIR.dense);
    await expectPass(page, 'fca', PAIR.fca);
    await expectLayers(page, PAIR);
  });

  test('invalid retention shows engine error', async ({ page }) => {
    await openReadyDemo(page);
    await page.getByLabel('Text', { exact: true }).fill(SINGLE.text);

    // A valid run first, so the check below also covers clearing old results.
    await classifyWithEnter(page);
    await expect(page.getByTestId('dense-label')).toHaveText(SINGLE.dense.label);

    await page.getByLabel('Retention fractions').fill('1.5');
    await classifyWithEnter(page);

    expect(await page.evaluate(() => document.body.dataset.state)).toBe('error');
    await expect(page.getByTestId('settings-error')).toBeVisible();
    await expect(page.getByTestId('settings-error')).toContainText('1.5');
    await expect(page.getByTestId('results')).toBeHidden();
    await expect(page.getByTestId('dense-label')).toHaveCount(0);
    expect(await page.evaluate(() => window.demoReady)).toBe(true);
  });

  test('non-numeric clusters named in error', async ({ page }) => {
    await openReadyDemo(page);
    await page.getByLabel('Clusters K').fill('two');
    await classifyWithEnter(page);

    await expect(page.getByTestId('settings-error')).toContainText('"two"');
    await expect(page.getByTestId('results')).toBeHidden();
  });

  test('model folder picked by user', async ({ page }) => {
    await openReadyDemo(page);
    await page.getByLabel(/Load another Hugging Face BERT folder/).setInputFiles(MODEL_FOLDER);
    await page.waitForFunction(() => document.body.dataset.state !== 'busy');

    expect(await page.evaluate(() => document.body.dataset.state)).toBe('ready');
    await expect(page.getByTestId('model-name')).toHaveText('sst2-bert-mini');
    await expect(page.getByTestId('adapter')).not.toHaveText('none yet');

    await page.getByLabel('Text', { exact: true }).fill(SINGLE.text);
    await classifyWithEnter(page);
    await expectPass(page, 'dense', SINGLE.dense);
  });

  test('folder without config.json', async ({ page }) => {
    const folder = mkdtempSync(path.join(tmpdir(), 'fca-demo-not-a-model-'));
    writeFileSync(path.join(folder, 'notes.txt'), 'not a model\n');

    await openReadyDemo(page);
    try {
      await page.getByLabel(/Load another Hugging Face BERT folder/).setInputFiles(folder);
      await page.waitForFunction(() => document.body.dataset.state !== 'busy');
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }

    expect(await page.evaluate(() => document.body.dataset.state)).toBe('error');
    await expect(page.getByTestId('load-error')).toContainText('config.json');
    await expect(page.getByTestId('load-error')).toContainText('is still loaded');
    await expect(page.getByTestId('model-name')).toHaveText('sst2-bert-mini (bundled)');
    expect(await page.evaluate(() => window.demoReady)).toBe(true);
  });
});

test('fine-tuned model loads with its retention setting', async ({ page }) => {
  await page.goto('/demo/');
  await page.waitForFunction(() => window.demoReady === true);
  await page.getByTestId('load-distilled').click();
  await page.waitForFunction(() => window.demoReady === true && document.body.dataset.state === 'ready');
  await expect(page.getByTestId('model-name')).toContainText('sst2-bert-mini-fca-distilled');
  await expect(page.getByTestId('retention')).toHaveValue('0.05, 0.05, 0.05, 0.05');
  await expect(page.getByTestId('clusters')).toHaveValue('0');
});
