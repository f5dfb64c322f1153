// The fca-webgpu command line end to end: a real Node process that starts its
// own vite server and headless Chromium, classifies with the bundled model and
// compares against the PyTorch golden outputs in ../shared.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL_DIR = 'models/sst2-bert-mini';
const GOLDEN_FILE = path.resolve(repoRoot, '../shared/models/sst2-bert-mini/golden.jsonl');
const SST2_DEV = path.resolve(repoRoot, '../shared/data/glue/SST-2/dev.tsv');
const CLI_TIMEOUT_MS = 4 * 60_000;

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
}

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/fca-webgpu.mjs'), ...args], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`fca-webgpu ${args.join(' ')} timed out after ${CLI_TIMEOUT_MS / 1000} s; stderr:\n${stderr}`));
    }, CLI_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
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

  test('classify: FCA pass shortens the sequence', async () => {
    const golden = await readGolden();
    const records = [golden[0], golden.find((record) => record.text_pair !== undefined) ?? golden[2]];
    const stdin = records.map((record) => JSON.stringify({ text: record.text, text_pair: record.text_pair })).join('\n') + '\n';
    const run = await runCli(['classify', '--model', MODEL_DIR, '--retention', '0.5', '--clusters', '2'], stdin);

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
    });
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
      const summary = JSON.parse(run.stdout.trim()) as Record<string, number>;

      expect(summary.examples).toBe(5);
      expect(summary.accuracy).toBeCloseTo(expected.filter((entry) => entry.fcaCorrect).length / 5, 12);
      expect(summary.dense_accuracy).toBeCloseTo(expected.filter((entry) => entry.denseCorrect).length / 5, 12);
      expect(summary.dense_mean_flops).toBeCloseTo(denseTotal / 5, 6);
      expect(summary.mean_flops).toBeCloseTo(fcaTotal / 5, 6);
      expect(summary.flops_ratio).toBeCloseTo(fcaTotal / denseTotal, 12);
      expect(summary.flops_ratio).toBeLessThan(1);

      const dense = await runCli(['eval', '--model', MODEL_DIR, '--data', dir]);
      expect(dense.status, `exit status; stderr:\n${dense.stderr}`).toBe(0);
      expect(dense.stdout).toContain('SST-2 dev, 5 examples');
      expect(dense.stdout).toMatch(/^dense\s+\d+\.\d\d%\s+[\d.]+ MFLOPs\s+1\.000$/m);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
