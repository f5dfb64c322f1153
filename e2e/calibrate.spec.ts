// Retention calibration end to end with the bundled sst2-bert-mini: the
// `calibrate` command and `classify --retention-file` as real Node processes,
// and FcaModel.calibrate() through the command line's runner page. The inputs
// are 40 SST-2 training sentences, never dev sentences, which measure accuracy.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, runCli } from './run-cli.js';
import { expect, test } from '@playwright/test';
import { BertTokenizer } from '../src/model/tokenizer.js';
import { expectedFlops, expectedLengths } from '../src/testing/fca-oracle.js';

const MODEL_DIR = 'models/sst2-bert-mini';
const SST2_TRAIN = path.resolve(repoRoot, '../shared/data/glue/SST-2/train.tsv');
const SENTENCES = 40;
const TARGET_RATIO = 0.5;
// Few evaluations keep each calibration to seconds on SwiftShader.
const MAX_EVALUATIONS = 4;

// sst2-bert-mini: 4 layers, hidden size 256, feed-forward width 1024, 2 labels.
const LAYERS = 4;
const HIDDEN = 256;
const FFN = 1024;

async function trainingSentences(): Promise<string[]> {
  const lines = (await readFile(SST2_TRAIN, 'utf8')).split('\n');
  expect(lines[0].split('\t')).toEqual(['sentence', 'label']);
  return lines.slice(1, 1 + SENTENCES).map((line) => line.split('\t')[0]);
}

/** Token counts ([CLS] and [SEP] included) of each sentence, from the model's tokenizer.json. */
async function tokenCounts(sentences: string[]): Promise<number[]> {
  const read = async (name: string) => JSON.parse(await readFile(path.join(repoRoot, MODEL_DIR, name), 'utf8')) as unknown;
  const tokenizer = BertTokenizer.fromTokenizerJson(await read('tokenizer.json'), await read('tokenizer_config.json'));
  return sentences.map((sentence) => tokenizer.encode(sentence, null, 512).inputIds.length);
}

function expectedRatio(counts: number[], fractions: number[], clusters: number): number {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const fca = sum(counts.map((n0) => expectedFlops(n0, expectedLengths(n0, fractions, clusters), HIDDEN, FFN)));
  const dense = sum(counts.map((n0) => expectedFlops(n0, new Array<number>(LAYERS).fill(n0), HIDDEN, FFN)));
  return fca / dense;
}

function expectValidRetention(retention: unknown, context: string): number[] {
  expect(Array.isArray(retention), `${context}: retention is an array`).toBe(true);
  const values = retention as number[];
  expect(values, `${context}: one fraction per layer`).toHaveLength(LAYERS);
  values.forEach((fraction, layer) => {
    expect(fraction, `${context}: fraction at layer ${layer}`).toBeGreaterThan(0);
    expect(fraction, `${context}: fraction at layer ${layer}`).toBeLessThanOrEqual(1);
    if (layer > 0) expect(fraction, `${context}: layer ${layer} keeps no more than layer ${layer - 1}`).toBeLessThanOrEqual(values[layer - 1]);
  });
  return values;
}

test.describe('retention calibration', () => {
  test('calibrate writes a file that classify reads', async () => {
    const sentences = await trainingSentences();
    const counts = await tokenCounts(sentences);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fca-calibrate-'));
    try {
      const data = path.join(dir, 'train.jsonl');
      const output = path.join(dir, 'retention.json');
      const stdin = sentences.map((text) => JSON.stringify({ text })).join('\n') + '\n';
      await writeFile(data, stdin);

      const calibrate = await runCli([
        'calibrate',
        '--model',
        MODEL_DIR,
        '--data',
        data,
        '--flops-ratio',
        String(TARGET_RATIO),
        '--clusters',
        '2',
        '--max-evaluations',
        String(MAX_EVALUATIONS),
        '--output',
        output,
      ]);
      expect(calibrate.status, `calibrate exit status; stderr:\n${calibrate.stderr}`).toBe(0);

      const file = JSON.parse(await readFile(output, 'utf8')) as Record<string, unknown>;
      expect(Object.keys(file)).toEqual(['retention', 'clusters', 'variant', 'flops_ratio', 'calibration']);
      const retention = expectValidRetention(file.retention, 'retention file');
      expect(file.clusters).toBe(2);
      expect(file.variant).toBe('weighted');
      const flopsRatio = file.flops_ratio as number;
      expect(flopsRatio).toBeLessThanOrEqual(TARGET_RATIO);
      expect(flopsRatio, 'flops_ratio against the FLOPs count of the 40 sentences').toBeCloseTo(expectedRatio(counts, retention, 2), 12);

      const calibration = file.calibration as Record<string, unknown>;
      expect(calibration.texts).toBe(SENTENCES);
      expect(calibration.target_flops_ratio).toBe(TARGET_RATIO);
      expect(calibration.agreement as number).toBeGreaterThanOrEqual(0);
      expect(calibration.agreement as number).toBeLessThanOrEqual(1);
      expect(calibration.kl as number).toBeGreaterThanOrEqual(0);
      expect(calibration.objective).toMatch(/agreement/);
      expect(calibrate.stdout).toContain(`retention ${retention.join(',')}, K=2, variant weighted`);
      expect(calibrate.stdout).toContain(`wrote ${output}`);

      const classify = await runCli(['classify', '--model', MODEL_DIR, '--retention-file', output], stdin);
      expect(classify.status, `classify exit status; stderr:\n${classify.stderr}`).toBe(0);
      const lines = classify.stdout
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { tokens_per_layer: number[]; flops: number; error?: string });
      expect(lines).toHaveLength(SENTENCES);
      lines.forEach((line, i) => {
        const lengths = expectedLengths(counts[i], retention, 2);
        expect(line.error, `sentence ${i}`).toBeUndefined();
        expect(line.tokens_per_layer, `sentence ${i}: lengths from the file's retention`).toEqual(lengths);
        expect(line.flops, `sentence ${i}: flops`).toBe(expectedFlops(counts[i], lengths, HIDDEN, FFN));
      });

      const conflict = await runCli(['classify', '--model', MODEL_DIR, '--retention-file', output, '--clusters', '1'], stdin);
      expect(conflict.status).toBe(2);
      expect(conflict.stderr).toContain('--retention-file and --clusters were both given');
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  test('FcaModel.calibrate through the runner page', async ({ page }) => {
    const sentences = await trainingSentences();
    await page.goto('/src/cli/runner.html');
    await page.waitForFunction(() => window.fcaRunnerReady === true);
    const loaded = await page.evaluate((url) => window.fcaRunner.load(url), `/${MODEL_DIR}/`);
    expect(loaded.ok, JSON.stringify(loaded)).toBe(true);

    const outcome = await page.evaluate(
      ([texts, maxEvaluations, flopsRatio]) => window.fcaRunner.calibrate(texts, { flopsRatio, clusters: 2, maxEvaluations }),
      [sentences, MAX_EVALUATIONS, TARGET_RATIO] as const,
    );
    if (!outcome.ok) throw new Error(`calibrate failed: ${outcome.error.name}: ${outcome.error.message}`);
    const result = outcome.value;
    const retention = expectValidRetention(result.retention, 'calibrate()');
    expect(result.evaluations).toBeLessThanOrEqual(MAX_EVALUATIONS);
    expect(result.log).toHaveLength(result.evaluations);
    expect(result.flops_ratio).toBeLessThanOrEqual(TARGET_RATIO);
    expect(result.texts).toBe(SENTENCES);

    // Rerun the dense pass and the chosen setting: the engine's own results must give the reported figures.
    const runs = await page.evaluate(
      async ([texts, options]) => [await window.fcaRunner.run(texts, {}), await window.fcaRunner.run(texts, options)],
      [sentences, { retention, clusters: 2 }] as const,
    );
    const [dense, fca] = runs.map((run) => {
      if (!run.ok) throw new Error(`run failed: ${run.error.name}: ${run.error.message}`);
      return run.value as { label_id: number; probabilities: number[]; flops: number }[];
    });
    const agreeing = dense.filter((d, i) => d.label_id === fca[i].label_id).length;
    expect(result.agreement).toBeCloseTo(agreeing / SENTENCES, 12);
    const kl = dense.map((d, i) => d.probabilities.reduce((sum, p, label) => sum + p * Math.log(p / fca[i].probabilities[label]), 0));
    // The passes are deterministic on one device, so the rerun reproduces the KL up to summation order.
    expect(result.kl).toBeCloseTo(kl.reduce((a, b) => a + b, 0) / SENTENCES, 9);
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    expect(result.flops_ratio).toBeCloseTo(sum(fca.map((r) => r.flops)) / sum(dense.map((r) => r.flops)), 12);

    const impossible = await page.evaluate((texts) => window.fcaRunner.calibrate(texts, { flopsRatio: 0.05, clusters: 2 }), sentences);
    expect(impossible.ok).toBe(false);
    if (!impossible.ok) {
      expect(impossible.error.name).toBe('CalibrationError');
      expect(impossible.error.message).toMatch(/below the minimum reachable ratio 0\.\d{4}/);
    }
  });
});
