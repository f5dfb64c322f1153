// The fca-webgpu command line end to end: a real Node process starts its own
// vite server and headless Chromium. The bundled model's outputs are compared
// with the PyTorch golden outputs in ../shared. Random-weight models, written
// to a temporary folder through the harness page, are compared with the
// float64 reference. Each CLI run starts Chromium and loads a model, several
// seconds on SwiftShader, so the tests share runs where they can.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, runCli } from './run-cli.js';
import { expect, test, type Page } from '@playwright/test';

const MODEL_DIR = 'models/sst2-bert-mini';
const GOLDEN_FILE = path.resolve(repoRoot, '../shared/models/sst2-bert-mini/golden.jsonl');
const SST2_DEV = path.resolve(repoRoot, '../shared/data/glue/SST-2/dev.tsv');
const MRPC_DEV = path.resolve(repoRoot, '../shared/data/glue/MRPC/dev.tsv');

// sst2-bert-mini: 4 layers, hidden size 256, feed-forward width 1024.
const LAYERS = 4;
const HIDDEN = 256;
const FFN = 1024;

// The engine computes in float32 on the GPU and the golden logits come from
// PyTorch float32 on the CPU; summation order differs, so allow 1e-3.
const LOGIT_TOLERANCE = 1e-3;

interface GoldenPass {
  logits: number[];
  tokens_per_layer: number[];
  flops?: number;
}

interface GoldenRecord {
  input_ids: number[];
  token_type_ids: number[];
  text: string;
  text_pair?: string;
  dense: GoldenPass;
  'r50-k2': GoldenPass;
  /** The authors' arithmetic at padded length 64, counts 34, 28, 24, 20, K = 5; absent for inputs longer than 64 tokens. */
  'ref-L64-c34-28-24-20-k5'?: GoldenPass;
}

async function readGolden(): Promise<GoldenRecord[]> {
  const text = await readFile(GOLDEN_FILE, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as GoldenRecord);
}

/** Encoder FLOPs by the count in the FCA spec: per layer 8 n_in D^2 + 4 n_in^2 D + 4 n_out D F. */
function expectedFlops(inputLength: number, tokensPerLayer: number[]): number {
  let total = 0;
  let nIn = inputLength;
  for (const nOut of tokensPerLayer) {
    total += 8 * nIn * HIDDEN * HIDDEN + 4 * nIn * nIn * HIDDEN + 4 * nOut * HIDDEN * FFN;
    nIn = nOut;
  }
  return total;
}

/**
 * Sequence lengths after each layer for retention fraction `fraction` at every
 * layer and `clusters` clusters, written out from the rules: keep
 * r = max(1, ceil(f * n0)) fine tokens, add min(K, n - r) clusters, and reduce
 * only when that is shorter than n.
 */
function expectedLengths(n0: number, fraction: number, clusters: number): number[] {
  const lengths: number[] = [];
  let n = n0;
  for (let layer = 0; layer < LAYERS; layer++) {
    const fine = Math.min(Math.max(1, Math.ceil(fraction * n0 - 1e-6)), n);
    const merged = Math.min(clusters, n - fine);
    if (fine + merged < n) n = fine + merged;
    lengths.push(n);
  }
  return lengths;
}

function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((value) => Math.exp(value - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

function parseLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Checks one output line against a golden pass over an input of `inputLength` tokens. */
function expectMatchesGolden(line: Record<string, unknown>, golden: GoldenPass, inputLength: number, context: string): void {
  const logits = line.logits as number[];
  expect(logits, `${context}: logits`).toHaveLength(2);
  logits.forEach((value, i) => {
    expect(Math.abs(value - golden.logits[i]), `${context}: logit ${i} is ${value}, golden ${golden.logits[i]}`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
  });

  const probabilities = line.probabilities as number[];
  softmax(logits).forEach((value, i) => expect(probabilities[i], `${context}: probability ${i}`).toBeCloseTo(value, 6));
  const labelId = golden.logits[1] > golden.logits[0] ? 1 : 0;
  expect(line.label_id, `${context}: label_id`).toBe(labelId);
  expect(line.label, `${context}: label`).toBe(['negative', 'positive'][labelId]);

  expect(line.tokens_per_layer, `${context}: tokens_per_layer`).toEqual(golden.tokens_per_layer);
  expect(line.flops, `${context}: flops against the formula`).toBe(expectedFlops(inputLength, golden.tokens_per_layer));
  if (golden.flops !== undefined) expect(line.flops, `${context}: flops against the golden file`).toBe(golden.flops);
  expect(line.truncated, `${context}: truncated`).toBe(false);
}

/** Largest difference between two runs' numbers (logits, probabilities, attention scores) that still counts as the same line. */
const BATCH_TOLERANCE = 1e-5;

/** Expects two parsed output values to be equal, numbers within `tolerance`. */
function expectSameValue(actual: unknown, expected: unknown, where: string, tolerance: number): void {
  if (typeof expected === 'number') {
    expect(typeof actual, `${where}: type`).toBe('number');
    expect(Math.abs((actual as number) - expected), `${where}: ${actual} against ${expected}`).toBeLessThanOrEqual(tolerance);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${where}: array`).toBe(true);
    expect((actual as unknown[]).length, `${where}: length`).toBe(expected.length);
    expected.forEach((value, i) => expectSameValue((actual as unknown[])[i], value, `${where}[${i}]`, tolerance));
    return;
  }
  if (typeof expected === 'object' && expected !== null) {
    expect(Object.keys(actual as object), `${where}: keys`).toEqual(Object.keys(expected));
    for (const [key, value] of Object.entries(expected)) expectSameValue((actual as Record<string, unknown>)[key], value, `${where}.${key}`, tolerance);
    return;
  }
  expect(actual, where).toBe(expected);
}

interface LayerTrace {
  positions: number[];
  tokenCounts: number[];
  scores: number[];
  destinations: number[];
  fine: number;
  clusters: number;
}

/** Checks a --trace field against the rules of a layer that keeps `fine` tokens and appends at most `maxClusters` clusters. */
function expectConsistentTrace(trace: LayerTrace[], n0: number, tokensPerLayer: number[], maxClusters: number, context: string): void {
  expect(trace, `${context}: one trace entry per layer`).toHaveLength(LAYERS);
  let nIn = n0;
  let previousPositions = Array.from({ length: n0 }, (_, i) => i);
  trace.forEach((layer, l) => {
    const where = `${context}, layer ${l}`;
    const nOut = tokensPerLayer[l];
    expect(layer.scores, `${where}: a score per input token`).toHaveLength(nIn);
    expect(layer.destinations, `${where}: a destination per input token`).toHaveLength(nIn);
    expect(layer.positions, `${where}: a position per output token`).toHaveLength(nOut);
    expect(layer.tokenCounts.reduce((a, b) => a + b, 0), `${where}: output tokens stand for all input tokens`).toBe(n0);
    if (nOut < nIn) {
      expect(layer.fine + layer.clusters, `${where}: fine + clusters`).toBe(nOut);
      expect(layer.clusters, `${where}: clusters`).toBe(Math.min(maxClusters, nIn - layer.fine));
      expect(layer.positions.slice(layer.fine).every((position) => position === -1), `${where}: clusters have position -1`).toBe(true);
    } else {
      expect(layer.fine, `${where}: a layer that does not reduce keeps every token`).toBe(nIn);
      expect(layer.clusters, `${where}: no clusters`).toBe(0);
      expect(layer.destinations, `${where}: identity`).toEqual(Array.from({ length: nIn }, (_, i) => i));
    }
    expect(layer.positions[0], `${where}: [CLS] first`).toBe(0);
    expect(layer.destinations[0], `${where}: [CLS] kept first`).toBe(0);
    // Each input token lands at its destination: a fine token keeps its position, a cluster has position -1.
    const destinationsUsed = new Set<number>();
    let lastFine = -1;
    layer.destinations.forEach((destination, j) => {
      if (destination === -1) return;
      if (destination < layer.fine) {
        expect(layer.positions[destination], `${where}: input token ${j} at output ${destination}`).toBe(previousPositions[j]);
        expect(destination, `${where}: fine tokens keep their order`).toBeGreaterThan(lastFine);
        lastFine = destination;
      } else {
        expect(layer.positions[destination], `${where}: input token ${j} merged into a cluster`).toBe(-1);
      }
      destinationsUsed.add(destination);
    });
    expect(destinationsUsed.size, `${where}: every output token receives an input token`).toBe(nOut);
    previousPositions = layer.positions;
    nIn = nOut;
  });
}

// Random-weight models: float32 on the GPU against the float64 reference, with activations O(1).
const REFERENCE_TOLERANCE = 1e-4;
const TINY = { hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, vocabSize: 40 };
const TINY_TEXTS = ['w1 w2 w3', 'w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17', 'w30 w31 w2 w2 w2 w9'];

type RandomSpec = Parameters<Window['exportHarness']['exportRandomModel']>[0];
type ExportRequest = Parameters<Window['exportHarness']['exportRandomModel']>[1];
type ExportedModel = ReturnType<Window['exportHarness']['exportRandomModel']>;

/** Builds a random model in the harness page, with reference outputs for `request`. */
async function exportRandomModel(page: Page, spec: RandomSpec, request: ExportRequest): Promise<ExportedModel> {
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => window.harnessReady === true);
  return await page.evaluate(([s, r]) => window.exportHarness.exportRandomModel(s, r), [spec, request] as const);
}

/** Writes an exported model as a Hugging Face folder in a new temporary directory and returns its path. */
async function writeModelFolder(model: ExportedModel): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fca-random-model-'));
  await writeFile(path.join(dir, 'config.json'), model.configJson);
  await writeFile(path.join(dir, 'model.safetensors'), Buffer.from(model.safetensorsBase64, 'base64'));
  await writeFile(path.join(dir, 'vocab.txt'), model.vocabTxt);
  return dir;
}

function maxDifference(a: number[], b: number[]): number {
  expect(a.length, 'equal lengths').toBe(b.length);
  return Math.max(...a.map((value, i) => Math.abs(value - b[i])));
}

test.describe('fca-webgpu command line', () => {
  test('classify: dense pass, text, pair, ids and bad lines', async () => {
    const golden = await readGolden();
    const single = golden[0];
    const ids = golden[1];
    const pair = golden.find((record) => record.text_pair !== undefined);
    expect(pair, 'golden.jsonl has a sentence-pair record').toBeDefined();
    if (!pair) return;

    const stdin = [
      JSON.stringify({ text: single.text, id: 'ignored field' }),
      JSON.stringify({ text: pair.text, text_pair: pair.text_pair }),
      '{"text": "an unterminated line',
      JSON.stringify({ input_ids: ids.input_ids, token_type_ids: ids.token_type_ids }),
      // 999999 is far beyond the 30,522-entry vocabulary, so the engine must reject this input.
      JSON.stringify({ input_ids: [101, 999999, 102] }),
    ].join('\n');
    const run = await runCli(['classify', '--model', MODEL_DIR], stdin + '\n');

    expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(1);
    const lines = parseLines(run.stdout);
    expect(lines, `one output line per input; stderr:\n${run.stderr}`).toHaveLength(5);

    expectMatchesGolden(lines[0], single.dense, single.input_ids.length, 'text');
    expect(lines[0].tokens_per_layer).toHaveLength(LAYERS);
    expectMatchesGolden(lines[1], pair.dense, pair.input_ids.length, 'text pair');
    expect(lines[2].error).toMatch(/^line 3: invalid JSON/);
    expectMatchesGolden(lines[3], ids.dense, ids.input_ids.length, 'input_ids');
    expect(lines[4].error, 'an out-of-vocabulary token id fails only its own line').toMatch(/^line 5: InputError: /);
    expect(run.stderr).toContain('2 of 5 inputs failed');
  });

  test('classify: FCA pass, --trace and --batch-size 3', async () => {
    const golden = await readGolden();
    // Seven inputs of different lengths, pairs included: one batch by default, batches of 3, 3 and 1 with --batch-size 3.
    const records = [golden[0], golden[1], golden[2], golden[30], golden[74], golden[75], golden[64]];
    const stdin = records.map((record) => JSON.stringify({ text: record.text, text_pair: record.text_pair })).join('\n') + '\n';
    const fcaArgs = ['classify', '--model', MODEL_DIR, '--retention', '0.5', '--clusters', '2', '--trace'];
    const run = await runCli(fcaArgs, stdin);

    expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(0);
    const lines = parseLines(run.stdout);
    expect(lines).toHaveLength(records.length);
    records.forEach((record, i) => {
      const n0 = record.input_ids.length;
      const lengths = lines[i].tokens_per_layer as number[];
      expect(lengths, `input ${i}: lengths from the retention rule`).toEqual(expectedLengths(n0, 0.5, 2));
      expect(Math.max(...lengths), `input ${i}: shorter than the dense ${n0} tokens`).toBeLessThan(n0);
      expectMatchesGolden(lines[i], record['r50-k2'], n0, `FCA input ${i}`);
      expect(lines[i].flops as number).toBeLessThan(expectedFlops(n0, new Array(LAYERS).fill(n0)));
      expect(Object.keys(lines[i]).at(-1), `input ${i}: trace is the last field`).toBe('trace');
      expectConsistentTrace(lines[i].trace as LayerTrace[], n0, lengths, 2, `input ${i}`);
    });

    const batched = await runCli([...fcaArgs, '--batch-size', '3'], stdin);
    expect(batched.status, `exit status with --batch-size 3; stderr:\n${batched.stderr}`).toBe(0);
    const batchedLines = parseLines(batched.stdout);
    expect(batchedLines).toHaveLength(records.length);
    batchedLines.forEach((line, i) => expectSameValue(line, lines[i], `--batch-size 3, input ${i}`, BATCH_TOLERANCE));
  });

  test('classify: --variant drop with --clusters 2 is a usage error', async () => {
    const run = await runCli(['classify', '--model', MODEL_DIR, '--retention', '0.5', '--variant', 'drop', '--clusters', '2'], '{"text": "fine"}\n');
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('--variant drop keeps no clusters, but --clusters is 2');
  });

  test('classify: --variant reference matches the authors\' arithmetic', async () => {
    const golden = await readGolden();
    // 12 tokens, a 39-token pair, and a 78-token pair that does not fit the padded length 64.
    const records = [golden[0], golden[74], golden[72]];
    expect(records.map((record) => record.input_ids.length)).toEqual([12, 39, 78]);
    const stdin = records.map((record) => JSON.stringify({ text: record.text, text_pair: record.text_pair })).join('\n') + '\n';
    const run = await runCli(
      ['classify', '--model', MODEL_DIR, '--retention-counts', '34,28,24,20', '--clusters', '5', '--variant', 'reference', '--padded-length', '64'],
      stdin,
    );

    expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(1);
    const lines = parseLines(run.stdout);
    expect(lines, `one output line per input; stderr:\n${run.stderr}`).toHaveLength(3);
    records.slice(0, 2).forEach((record, i) => {
      const expected = record['ref-L64-c34-28-24-20-k5'];
      expect(expected, `golden record ${i} has the reference setting`).toBeDefined();
      const logits = lines[i].logits as number[];
      expect(maxDifference(logits, expected!.logits), `input ${i}: logits`).toBeLessThanOrEqual(LOGIT_TOLERANCE);
      // The padded sequence: 64 tokens enter, each layer keeps its count plus 5 clusters.
      expect(lines[i].tokens_per_layer, `input ${i}: tokens_per_layer`).toEqual([39, 33, 29, 25]);
      expect(lines[i].tokens_per_layer).toEqual(expected!.tokens_per_layer);
    });
    expect(lines[2].error, 'an input longer than --padded-length fails its own line').toMatch(
      /^line 3: RetentionError: .*the input has 78 tokens but paddedLength is 64/,
    );
    expect(run.stderr).toContain('1 of 3 inputs failed');
  });

  test('eval: accuracy and FLOPs on five SST-2 dev sentences', async () => {
    const golden = await readGolden();
    const rows = (await readFile(SST2_DEV, 'utf8')).split('\n').slice(1, 6);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fca-eval-'));
    try {
      await writeFile(path.join(dir, 'dev.tsv'), ['sentence\tlabel', ...rows].join('\n') + '\n');

      // Expected figures from the golden records of the same sentences.
      const expected = rows.map((row) => {
        const [sentence, label] = row.split('\t');
        const record = golden.find((candidate) => candidate.text === sentence && candidate.text_pair === undefined);
        expect(record, `golden.jsonl has the dev sentence ${JSON.stringify(sentence)}`).toBeDefined();
        const { dense, 'r50-k2': fca } = record as GoldenRecord;
        const predicted = (pass: GoldenPass) => (pass.logits[1] > pass.logits[0] ? 1 : 0);
        return { label: Number(label), dense, fca, denseCorrect: predicted(dense) === Number(label), fcaCorrect: predicted(fca) === Number(label) };
      });
      const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
      const denseTotal = sum(expected.map((entry) => entry.dense.flops as number));
      const fcaTotal = sum(expected.map((entry) => entry.fca.flops as number));

      const run = await runCli(['eval', '--model', MODEL_DIR, '--data', dir, '--retention', '0.5', '--clusters', '2', '--json']);
      expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(0);
      const summary = JSON.parse(run.stdout.trim()) as Record<string, unknown>;

      expect(summary.examples).toBe(5);
      expect(summary.accuracy).toBeCloseTo(expected.filter((entry) => entry.fcaCorrect).length / 5, 12);
      expect(summary.dense_accuracy).toBeCloseTo(expected.filter((entry) => entry.denseCorrect).length / 5, 12);
      expect(summary.dense_mean_flops).toBeCloseTo(denseTotal / 5, 6);
      expect(summary.mean_flops).toBeCloseTo(fcaTotal / 5, 6);
      expect(summary.flops_ratio).toBeCloseTo(fcaTotal / denseTotal, 12);
      expect(summary.flops_ratio as number).toBeLessThan(1);
      expect(summary.metrics).toEqual({ accuracy: summary.accuracy });
      expect(summary.dense_metrics).toEqual({ accuracy: summary.dense_accuracy });

      const dense = await runCli(['eval', '--model', MODEL_DIR, '--data', dir]);
      expect(dense.status, `exit status; stderr:\n${dense.stderr}`).toBe(0);
      expect(dense.stdout).toContain('SST-2 dev, 5 examples');
      expect(dense.stdout).toMatch(/^pass\s+accuracy\s+mean FLOPs\s+FLOPs \/ dense$/m);
      expect(dense.stdout).toMatch(/^dense\s+\d+\.\d\d%\s+[\d.]+ MFLOPs\s+1\.000$/m);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
  test('eval: MRPC sentence pairs with F1 and accuracy', async () => {
    const golden = await readGolden();
    const rows = (await readFile(MRPC_DEV, 'utf8')).replace(/^\uFEFF/, '').split('\n');
    const header = rows[0].replace(/\r$/, '');
    // The six MRPC dev pairs that golden.jsonl holds; the SST-2 model reads their labels 0 and 1 as its own ids.
    const pairs = golden.filter((record) => record.text_pair !== undefined && record.text_pair.length > 0);
    const picked = pairs.map((record) => {
      const row = rows.find((line) => {
        const fields = line.split('\t');
        return fields[3] === record.text && fields[4] === record.text_pair;
      });
      expect(row, `MRPC dev.tsv has the golden pair ${JSON.stringify(record.text.slice(0, 40))}`).toBeDefined();
      return { row: row as string, record };
    });
    expect(picked.length).toBe(6);

    const predicted = (pass: GoldenPass) => (pass.logits[1] > pass.logits[0] ? 1 : 0);
    const golds = picked.map(({ row }) => Number(row.split('\t')[0]));
    const metrics = (predictions: number[]) => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      predictions.forEach((p, i) => {
        if (p === 1 && golds[i] === 1) tp++;
        else if (p === 1) fp++;
        else if (golds[i] === 1) fn++;
      });
      return { f1: (2 * tp) / (2 * tp + fp + fn), accuracy: predictions.filter((p, i) => p === golds[i]).length / golds.length };
    };
    const dense = metrics(picked.map(({ record }) => predicted(record.dense)));
    const fca = metrics(picked.map(({ record }) => predicted(record['r50-k2'])));
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const denseFlops = sum(picked.map(({ record }) => record.dense.flops as number));
    const fcaFlops = sum(picked.map(({ record }) => record['r50-k2'].flops as number));

    const dir = await mkdtemp(path.join(os.tmpdir(), 'fca-eval-'));
    try {
      await writeFile(path.join(dir, 'dev.tsv'), [header, ...picked.map(({ row }) => row)].join('\n') + '\n');
      const run = await runCli(['eval', '--model', MODEL_DIR, '--data', dir, '--retention', '0.5', '--batch-size', '4', '--json']);
      expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(0);
      const summary = JSON.parse(run.stdout.trim()) as Record<string, unknown>;

      expect(Object.keys(summary)).toEqual([
        'task',
        'examples',
        'accuracy',
        'mean_flops',
        'dense_mean_flops',
        'flops_ratio',
        'dense_accuracy',
        'metrics',
        'dense_metrics',
      ]);
      expect(summary.task).toBe('MRPC');
      expect(summary.examples).toBe(6);
      expect(summary.metrics).toEqual({ f1: expect.closeTo(fca.f1, 12), accuracy: expect.closeTo(fca.accuracy, 12) });
      expect(summary.dense_metrics).toEqual({ f1: expect.closeTo(dense.f1, 12), accuracy: expect.closeTo(dense.accuracy, 12) });
      expect(summary.accuracy).toBeCloseTo(fca.accuracy, 12);
      expect(summary.dense_accuracy).toBeCloseTo(dense.accuracy, 12);
      expect(summary.mean_flops).toBeCloseTo(fcaFlops / 6, 6);
      expect(summary.dense_mean_flops).toBeCloseTo(denseFlops / 6, 6);
      expect(summary.flops_ratio).toBeCloseTo(fcaFlops / denseFlops, 12);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

test.describe('fca-webgpu command line on random-weight models', () => {
  test('classify: regression model prints score, with --variant mean', async ({ page }) => {
    // Seed 11 at retention 0.3 gives a score gap of about 2e-3 between mean and weighted clusters on the first text.
    const spec: RandomSpec = { ...TINY, architecture: 'BertForSequenceClassification', numLabels: 1, seed: 11 };
    const fca = { retention: 0.3, clusters: 2, variant: 'mean' as const };
    const model = await exportRandomModel(page, spec, { texts: TINY_TEXTS, fca });
    // The same model's weighted clusters, to show that the variant reaches the engine.
    const weighted = (await exportRandomModel(page, spec, { texts: TINY_TEXTS, fca: { ...fca, variant: 'weighted' } })).reference.texts;
    const dir = await writeModelFolder(model);
    try {
      const stdin = TINY_TEXTS.map((text) => JSON.stringify({ text })).join('\n') + '\n';
      const run = await runCli(['classify', '--model', dir, '--retention', '0.3', '--variant', 'mean'], stdin);
      expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(0);
      const lines = parseLines(run.stdout);
      expect(lines).toHaveLength(TINY_TEXTS.length);

      let variantGap = 0;
      lines.forEach((line, i) => {
        const expected = model.reference.texts[i];
        expect(Object.keys(line)).toEqual(['label', 'label_id', 'score', 'probabilities', 'logits', 'tokens_per_layer', 'flops', 'truncated']);
        expect(line.probabilities, `input ${i}: a regression model has no probabilities`).toEqual([]);
        expect(line.score, `input ${i}: score is the one logit`).toBe((line.logits as number[])[0]);
        expect(Math.abs((line.score as number) - expected.logits[0]), `input ${i}: score against the reference`).toBeLessThan(REFERENCE_TOLERANCE);
        expect(line.tokens_per_layer, `input ${i}: tokens_per_layer`).toEqual(expected.tokensPerLayer);
        expect(line.flops, `input ${i}: flops`).toBe(expected.flops);
        variantGap = Math.max(variantGap, Math.abs(expected.logits[0] - weighted[i].logits[0]));
      });
      expect(variantGap, 'mean and weighted clusters give different scores on these inputs').toBeGreaterThan(10 * REFERENCE_TOLERANCE);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  test('classify: multiple-choice model reads choices', async ({ page }) => {
    const questions = [
      { text: 'w1 w2 w3 w4 w5', choices: ['w6', 'w7 w8', 'w9 w10 w11', 'w3'] },
      { text: 'w12 w20 w21 w22 w23 w24 w25', choices: ['w13 w14', 'w2'] },
    ];
    const spec: RandomSpec = { ...TINY, architecture: 'BertForMultipleChoice', seed: 7 };
    const model = await exportRandomModel(page, spec, { questions, fca: { retention: 0.5, clusters: 1 } });
    const dir = await writeModelFolder(model);
    try {
      const stdin = [JSON.stringify(questions[0]), JSON.stringify({ text: 'w1 w2' }), JSON.stringify(questions[1])].join('\n') + '\n';
      const run = await runCli(['classify', '--model', dir, '--retention', '0.5', '--clusters', '1'], stdin);
      expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(1);
      const lines = parseLines(run.stdout);
      expect(lines).toHaveLength(3);
      expect(lines[1].error, 'a line without choices fails alone').toMatch(/^line 2: a BertForMultipleChoice model needs "choices"/);

      [lines[0], lines[2]].forEach((line, q) => {
        const question = questions[q];
        const expectedLogits = model.reference.questions[q];
        expect(Object.keys(line)).toEqual(['label', 'label_id', 'probabilities', 'logits', 'tokens_per_layer', 'flops', 'truncated', 'choices']);
        expect(maxDifference(line.logits as number[], expectedLogits), `question ${q}: logits`).toBeLessThan(REFERENCE_TOLERANCE);
        expect(maxDifference(line.probabilities as number[], softmax(expectedLogits)), `question ${q}: probabilities`).toBeLessThan(REFERENCE_TOLERANCE);
        const best = expectedLogits.indexOf(Math.max(...expectedLogits));
        expect(line.label_id, `question ${q}: label_id`).toBe(best);
        expect(line.label, `question ${q}: label is the best choice's text`).toBe(question.choices[best]);

        const choices = line.choices as { tokens_per_layer: number[]; flops: number; truncated: boolean }[];
        expect(choices, `question ${q}: one entry per choice`).toHaveLength(question.choices.length);
        expect(Object.keys(choices[0])).toEqual(['tokens_per_layer', 'flops', 'truncated']);
        expect(line.flops, `question ${q}: flops add up the choices`).toBe(choices.reduce((sum, choice) => sum + choice.flops, 0));
        const summed = choices[0].tokens_per_layer.map((_, l) => choices.reduce((sum, choice) => sum + choice.tokens_per_layer[l], 0));
        expect(line.tokens_per_layer, `question ${q}: tokens_per_layer add up the choices`).toEqual(summed);
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  test('classify: BertModel embedding with --pooling cls and --variant drop', async ({ page }) => {
    const spec: RandomSpec = { ...TINY, architecture: 'BertModel', seed: 9 };
    const model = await exportRandomModel(page, spec, { texts: TINY_TEXTS, fca: { retention: 0.5, variant: 'drop' } });
    const dir = await writeModelFolder(model);
    try {
      const stdin = TINY_TEXTS.map((text) => JSON.stringify({ text })).join('\n') + '\n';
      const run = await runCli(['classify', '--model', dir, '--retention', '0.5', '--variant', 'drop', '--pooling', 'cls'], stdin);
      expect(run.status, `exit status; stderr:\n${run.stderr}`).toBe(0);
      const lines = parseLines(run.stdout);
      expect(lines).toHaveLength(TINY_TEXTS.length);
      lines.forEach((line, i) => {
        const expected = model.reference.texts[i];
        expect(Object.keys(line)).toEqual(['embedding', 'tokens_per_layer', 'flops', 'truncated']);
        expect(line.embedding as number[], `input ${i}: hidden size`).toHaveLength(TINY.hiddenSize);
        expect(maxDifference(line.embedding as number[], expected.clsEmbedding), `input ${i}: the [CLS] row`).toBeLessThan(REFERENCE_TOLERANCE);
        // Mean pooling gives another vector, so the check above distinguishes the pooling modes.
        expect(maxDifference(expected.meanEmbedding, expected.clsEmbedding), `input ${i}: mean differs from cls`).toBeGreaterThan(100 * REFERENCE_TOLERANCE);
        expect(line.tokens_per_layer, `input ${i}: tokens_per_layer`).toEqual(expected.tokensPerLayer);
        expect(line.flops, `input ${i}: flops`).toBe(expected.flops);
        expect(line.truncated).toBe(false);
      });
      // Dropping keeps ceil(0.5 * 15) = 8 of the 15 tokens of the second text and adds no clusters.
      expect(lines[1].tokens_per_layer).toEqual([8, 8]);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
