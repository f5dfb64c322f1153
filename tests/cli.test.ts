// Node-side pieces of the command line, without a browser: argument parsing,
// JSON lines, GLUE TSV files, metrics, chunk fallback and static file serving.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELP, UsageError, checkLayerCount, checkModelOptions, parseArgs } from '../src/cli/args.mjs';
import { EngineError, checkRunOptions, classifyLines, classifyWithFallback, isFatal } from '../src/cli/batch.mjs';
import { buildRunOptions } from '../src/cli/classify.mjs';
import { EvalError, goldValues } from '../src/cli/eval.mjs';
import { createLineReader, formatResult, parseInputLine } from '../src/cli/jsonl.mjs';
import { main } from '../src/cli/main.mjs';
import {
  accuracy,
  averageRanks,
  describeFca,
  f1Score,
  formatEvalTable,
  formatFlops,
  matthewsCorrelation,
  pearsonCorrelation,
  spearmanCorrelation,
  summarizeEval,
  taskMetrics,
} from '../src/cli/metrics.mjs';
import { directoryMiddleware, resolveInside } from '../src/cli/static-files.mjs';
import { DataError, detectGlueTask, parseGlueTsv, readGlueDevSet, resolveLabelId } from '../src/cli/tsv.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const glueDir = path.resolve(repoRoot, '../shared/data/glue');

/** Returns the UsageError that parseArgs throws for argv (fails the test when it does not throw). */
function usageError(argv: string[]): UsageError {
  try {
    parseArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`);
}

describe('parseArgs', () => {
  it('parses a dense classify', () => {
    expect(parseArgs(['classify', '--model', 'models/m'])).toEqual({
      command: 'classify',
      model: 'models/m',
      fca: null,
      batchSize: null,
      trace: false,
      pooling: null,
      verbose: false,
    });
  });

  it('parses one retention fraction as a number', () => {
    const args = parseArgs(['classify', '--model', 'm', '--retention', '0.5']);
    expect(args).toMatchObject({ fca: { retention: 0.5, clusters: 2, variant: 'weighted' } });
    expect(args).not.toHaveProperty('fca.paddedLength');
  });

  it('parses per-layer fractions and --flag=value', () => {
    const args = parseArgs(['classify', '--model=m', '--retention=0.6,0.4,0.3,0.2', '--clusters', '0']);
    expect(args).toMatchObject({ model: 'm', fca: { retention: [0.6, 0.4, 0.3, 0.2], clusters: 0 } });
  });

  it('parses retention counts', () => {
    const args = parseArgs(['classify', '--model', 'm', '--retention-counts', '34,28,24,20', '--clusters', '5']);
    expect(args).toMatchObject({ fca: { retentionCounts: [34, 28, 24, 20], clusters: 5 } });
    expect(args).not.toHaveProperty('fca.retention');
  });

  it('rejects both retention options', () => {
    const error = usageError(['classify', '--model', 'm', '--retention', '0.5', '--retention-counts', '3']);
    expect(error.message).toContain('--retention and --retention-counts');
    expect(error.command).toBe('classify');
  });

  it('names an unknown flag', () => {
    expect(usageError(['classify', '--model', 'm', '--retension', '0.5']).message).toContain('--retension');
    expect(usageError(['eval', '--model', 'm', '--data', 'd', '--frobnicate']).message).toContain('--frobnicate');
  });

  it('rejects unknown commands and stray arguments', () => {
    expect(usageError(['classfy']).message).toContain('"classfy"');
    expect(usageError(['classify', '--model', 'm', 'extra']).message).toContain('"extra"');
  });

  it('requires --model and --data', () => {
    expect(usageError(['classify']).message).toContain('--model is required');
    expect(usageError(['eval', '--model', 'm']).message).toContain('--data is required');
    expect(usageError(['classify', '--model']).message).toContain('--model needs a value');
    expect(usageError(['classify', '--model', '--retention', '0.5']).message).toContain('--model needs a value');
  });

  it('rejects bad retention values', () => {
    expect(usageError(['classify', '--model', 'm', '--retention', '0']).message).toContain('outside (0, 1]');
    expect(usageError(['classify', '--model', 'm', '--retention', '1.5']).message).toContain('outside (0, 1]');
    expect(usageError(['classify', '--model', 'm', '--retention', '0.5,abc']).message).toContain('"abc" is not a number');
    expect(usageError(['classify', '--model', 'm', '--retention', '0.5,,0.4']).message).toContain('"" is not a number');
    expect(usageError(['classify', '--model', 'm', '--retention-counts', '2.5']).message).toContain('not an integer >= 1');
    expect(usageError(['classify', '--model', 'm', '--retention-counts', '0']).message).toContain('not an integer >= 1');
  });

  it('rejects bad --clusters', () => {
    expect(usageError(['classify', '--model', 'm', '--clusters', '2']).message).toContain('--clusters needs --retention');
    expect(usageError(['classify', '--model', 'm', '--retention', '0.5', '--clusters', '-1']).message).toContain('integer >= 0');
    expect(usageError(['classify', '--model', 'm', '--retention', '0.5', '--clusters', '1.5']).message).toContain('integer >= 0');
  });

  it('rejects a repeated flag', () => {
    expect(usageError(['classify', '--model', 'a', '--model', 'b']).message).toContain('--model was given twice');
  });

  it('parses eval options', () => {
    const args = parseArgs(['eval', '--model', 'm', '--data', 'd', '--json', '--limit', '5', '--task', 'sst2']);
    expect(args).toEqual({ command: 'eval', model: 'm', data: 'd', fca: null, batchSize: null, json: true, limit: 5, task: 'sst2', verbose: false });
    expect(usageError(['eval', '--model', 'm', '--data', 'd', '--limit', '0']).message).toContain('--limit');
    expect(usageError(['eval', '--model', 'm', '--data', 'd', '--json=yes']).message).toContain('--json takes no value');
    expect(usageError(['eval', '--model', 'm', '--data', 'd', '--task', 'FOO']).message).toContain('--task "FOO" is not a GLUE task; use one of SST-2');
  });

  it('parses --variant, --batch-size, --trace and --pooling', () => {
    const args = parseArgs(['classify', '--model', 'm', '--retention', '0.5', '--variant', 'mean', '--batch-size', '3', '--trace', '--pooling=cls']);
    expect(args).toEqual({
      command: 'classify',
      model: 'm',
      fca: { retention: 0.5, clusters: 2, variant: 'mean' },
      batchSize: 3,
      trace: true,
      pooling: 'cls',
      verbose: false,
    });
    const evalArgs = parseArgs(['eval', '--model', 'm', '--data', 'd', '--retention-counts', '3', '--variant', 'weighted', '--batch-size', '16']);
    expect(evalArgs).toMatchObject({ fca: { retentionCounts: 3, clusters: 2, variant: 'weighted' }, batchSize: 16 });
  });

  it('makes --variant drop mean zero clusters', () => {
    expect(parseArgs(['classify', '--model', 'm', '--retention', '0.5', '--variant', 'drop'])).toMatchObject({ fca: { clusters: 0, variant: 'drop' } });
    expect(parseArgs(['classify', '--model', 'm', '--retention', '0.5', '--variant', 'drop', '--clusters', '0'])).toMatchObject({
      fca: { clusters: 0, variant: 'drop' },
    });
    const error = usageError(['classify', '--model', 'm', '--retention', '0.5', '--variant', 'drop', '--clusters', '2']);
    expect(error.message).toContain('--variant drop keeps no clusters, but --clusters is 2');
  });

  it('parses --variant reference with its padded length', () => {
    const args = parseArgs(['eval', '--model', 'm', '--data', 'd', '--retention-counts', '34,28,24,20', '--clusters', '5', '--variant', 'reference']);
    expect(args).toMatchObject({ fca: { retentionCounts: [34, 28, 24, 20], clusters: 5, variant: 'reference', paddedLength: 128 } });
    const padded = parseArgs(['classify', '--model', 'm', '--retention-counts', '20', '--variant', 'reference', '--padded-length', '64']);
    expect(padded).toMatchObject({ fca: { paddedLength: 64 } });
  });

  it('rejects bad variant options', () => {
    const base = ['classify', '--model', 'm'];
    expect(usageError([...base, '--retention', '0.5', '--variant', 'max']).message).toContain('--variant: "max" is not a variant; choose one of weighted, mean, drop, reference');
    expect(usageError([...base, '--variant', 'mean']).message).toContain('--variant needs --retention or --retention-counts');
    expect(usageError([...base, '--padded-length', '64']).message).toContain('--padded-length needs --retention');
    expect(usageError([...base, '--retention', '0.5', '--padded-length', '64']).message).toContain('--padded-length 64 applies only to --variant reference');
    expect(usageError([...base, '--retention', '0.5', '--variant', 'reference']).message).toContain('--variant reference takes --retention-counts');
    expect(usageError([...base, '--retention-counts', '9', '--variant', 'reference', '--clusters', '0']).message).toContain('at least 1 cluster, but --clusters is 0');
    expect(usageError([...base, '--retention-counts', '9', '--variant', 'reference', '--padded-length', '1']).message).toContain('--padded-length must be an integer >= 2, got 1');
    expect(usageError([...base, '--retention-counts', '9', '--variant', 'reference', '--padded-length', '64.5']).message).toContain('got 64.5');
  });

  it('rejects bad --batch-size and --pooling', () => {
    expect(usageError(['classify', '--model', 'm', '--batch-size', '0']).message).toContain('--batch-size must be an integer >= 1, got 0');
    expect(usageError(['classify', '--model', 'm', '--batch-size', '2.5']).message).toContain('got 2.5');
    expect(usageError(['classify', '--model', 'm', '--batch-size', 'many']).message).toContain('--batch-size: "many" is not a number');
    expect(usageError(['classify', '--model', 'm', '--pooling', 'max']).message).toContain('--pooling: "max" is not a pooling mode; choose mean or cls');
    expect(usageError(['eval', '--model', 'm', '--data', 'd', '--trace']).message).toBe('unknown flag --trace for eval; --trace is an option of classify only.');
    expect(usageError(['eval', '--model', 'm', '--data', 'd', '--pooling', 'cls']).message).toContain('--pooling is an option of classify only');
  });

  it('documents every new option in --help', () => {
    for (const flag of ['--batch-size N', '--variant NAME', '--padded-length L', '--trace', '--pooling mean|cls']) {
      expect(HELP.classify, flag).toContain(flag);
    }
    for (const flag of ['--batch-size N', '--variant NAME', '--padded-length L']) expect(HELP.eval, flag).toContain(flag);
    expect(HELP.eval).not.toContain('--trace');
    expect(HELP.eval).toContain('Matthews correlation');
  });

  it('returns help requests', () => {
    expect(parseArgs([])).toEqual({ command: 'help', topic: 'main' });
    expect(parseArgs(['--help'])).toEqual({ command: 'help', topic: 'main' });
    expect(parseArgs(['classify', '--help'])).toEqual({ command: 'help', topic: 'classify' });
    expect(parseArgs(['eval', '-h', '--bogus-is-not-reached'])).toEqual({ command: 'help', topic: 'eval' });
    expect(parseArgs(['help', 'eval'])).toEqual({ command: 'help', topic: 'eval' });
  });
});

describe('checkLayerCount', () => {
  it('accepts one value or one per layer', () => {
    expect(() => checkLayerCount({ retention: 0.5, clusters: 2 }, 4, 'classify')).not.toThrow();
    expect(() => checkLayerCount({ retention: [0.6, 0.4, 0.3, 0.2], clusters: 2 }, 4, 'classify')).not.toThrow();
    expect(() => checkLayerCount(null, 4, 'classify')).not.toThrow();
  });

  it('rejects a list of the wrong length', () => {
    expect(() => checkLayerCount({ retentionCounts: [3, 2], clusters: 2 }, 4, 'classify')).toThrow(/--retention-counts has 2 values but the model has 4 layers/);
  });
});

describe('checkModelOptions', () => {
  const classifier = { architecture: 'BertForSequenceClassification', numLayers: 4, maxPositionEmbeddings: 512 };

  it('accepts --pooling for a BertModel only', () => {
    expect(() => checkModelOptions({ command: 'classify', fca: null, pooling: 'cls' }, { ...classifier, architecture: 'BertModel' })).not.toThrow();
    expect(() => checkModelOptions({ command: 'classify', fca: null, pooling: 'cls' }, classifier)).toThrow(
      /--pooling cls applies only to BertModel checkpoints, but this model is a BertForSequenceClassification/,
    );
  });

  it('checks the padded length and the layer count', () => {
    const fca = { retentionCounts: 30, clusters: 5, variant: 'reference' as const, paddedLength: 600 };
    expect(() => checkModelOptions({ command: 'eval', fca }, classifier)).toThrow(/--padded-length 600 exceeds the model's 512 position embeddings/);
    expect(() => checkModelOptions({ command: 'eval', fca: { ...fca, paddedLength: 512 } }, classifier)).not.toThrow();
    expect(() => checkModelOptions({ command: 'eval', fca: { retention: [0.5, 0.4] } }, classifier)).toThrow(/--retention has 2 values but the model has 4 layers/);
  });
});

describe('buildRunOptions', () => {
  it('adds only the options that were given', () => {
    expect(buildRunOptions({ fca: null })).toEqual({});
    expect(buildRunOptions({ fca: { retention: 0.5, clusters: 2, variant: 'mean' }, batchSize: 3, trace: true, pooling: 'cls' })).toEqual({
      retention: 0.5,
      clusters: 2,
      variant: 'mean',
      batchSize: 3,
      trace: true,
      pooling: 'cls',
    });
    expect(buildRunOptions({ fca: null, batchSize: null, trace: false, pooling: null })).toEqual({});
  });
});

describe('parseInputLine', () => {
  it('parses text and text pairs', () => {
    expect(parseInputLine('{"text": "a fine film"}', 1)).toEqual({ input: { text: 'a fine film' } });
    expect(parseInputLine('{"text": "a", "text_pair": "b", "id": 7}', 1)).toEqual({ input: { text: 'a', text_pair: 'b' } });
    expect(parseInputLine('{"text": "a", "text_pair": null}', 1)).toEqual({ input: { text: 'a' } });
  });

  it('prefers input_ids over text', () => {
    expect(parseInputLine('{"text": "x", "input_ids": [101, 2204, 102]}', 1)).toEqual({ input: { input_ids: [101, 2204, 102] } });
    expect(parseInputLine('{"input_ids": [101, 102], "token_type_ids": [0, 0]}', 1)).toEqual({
      input: { input_ids: [101, 102], token_type_ids: [0, 0] },
    });
  });

  it('reports invalid lines with their line number', () => {
    const cases: [string, RegExp][] = [
      ['{"text": ', /^line 3: invalid JSON/],
      ['[1, 2]', /^line 3: expected a JSON object .* got an array/],
      ['"just a string"', /^line 3: expected a JSON object .* got a string/],
      ['null', /got null/],
      ['{"sentence": "x"}', /neither "text" nor "input_ids"/],
      ['{"text": 5}', /"text" must be a string, got a number/],
      ['{"text": "a", "text_pair": ["b"]}', /"text_pair" must be a string or null, got an array/],
      ['{"input_ids": []}', /"input_ids" must be a non-empty array/],
      ['{"input_ids": [101, -1]}', /"input_ids" must be a non-empty array of non-negative integer/],
      ['{"input_ids": [101, 1.5]}', /"input_ids" must be/],
      ['{"input_ids": "101 102"}', /"input_ids" must be/],
      ['{"input_ids": [101, 102], "token_type_ids": [0]}', /"token_type_ids" has 1 entries but "input_ids" has 2/],
      ['{"input_ids": [101, 102], "token_type_ids": [0, "a"]}', /"token_type_ids" must be an array/],
    ];
    for (const [line, pattern] of cases) {
      const parsed = parseInputLine(line, 3);
      expect(parsed, line).toHaveProperty('error');
      expect((parsed as { error: string }).error, line).toMatch(pattern);
    }
  });
});

describe('parseInputLine for multiple choice', () => {
  const parse = (line: string) => parseInputLine(line, 4, 'BertForMultipleChoice');

  it('parses text and choices', () => {
    expect(parse('{"text": "The sky is", "choices": ["blue", "loud"], "id": 1}')).toEqual({ input: { text: 'The sky is', choices: ['blue', 'loud'] } });
    expect(parse('{"text": "", "choices": ["only"]}')).toEqual({ input: { text: '', choices: ['only'] } });
  });

  it('reports lines without valid choices', () => {
    const cases: [string, RegExp][] = [
      ['{"text": "The sky is"}', /^line 4: a BertForMultipleChoice model needs "choices", a non-empty array of strings/],
      ['{"text": "a", "choices": []}', /^line 4: "choices" must be a non-empty array of strings, got \[\]/],
      ['{"text": "a", "choices": ["b", 3]}', /"choices" must be a non-empty array of strings, got \["b",3\]/],
      ['{"text": "a", "choices": "b"}', /"choices" must be a non-empty array/],
      ['{"input_ids": [101, 102], "choices": ["b"]}', /needs a "text" string, but there is no "text"/],
      ['{"text": 5, "choices": ["b"]}', /needs a "text" string, but "text" is a number/],
      ['{"text": ', /^line 4: invalid JSON/],
      ['["a"]', /^line 4: expected a JSON object .* got an array/],
    ];
    for (const [line, pattern] of cases) {
      const parsed = parse(line);
      expect(parsed, line).toHaveProperty('error');
      expect((parsed as { error: string }).error, line).toMatch(pattern);
    }
  });

  it('parses BertModel lines as text or ids', () => {
    expect(parseInputLine('{"text": "a", "text_pair": "b"}', 1, 'BertModel')).toEqual({ input: { text: 'a', text_pair: 'b' } });
    expect(parseInputLine('{"input_ids": [2, 5, 3]}', 1, 'BertModel')).toEqual({ input: { input_ids: [2, 5, 3] } });
  });
});

describe('formatResult', () => {
  it('keeps the output fields in order', () => {
    const result = {
      tokens: ['[CLS]', 'good', '[SEP]'],
      trace: [],
      truncated: false,
      flops: 10,
      tokens_per_layer: [3, 3],
      logits: [-1, 1],
      probabilities: [0.1, 0.9],
      label_id: 1,
      label: 'positive',
    };
    const line = formatResult(result);
    expect(Object.keys(line)).toEqual(['label', 'label_id', 'probabilities', 'logits', 'tokens_per_layer', 'flops', 'truncated']);
    expect(line.label).toBe('positive');
  });

  const trace = [{ positions: [0, 2, -1], tokenCounts: [1, 1, 2], scores: [0.1, 0.2, 0.3, 0.4], destinations: [0, 2, 1, 2], fine: 2, clusters: 1 }];

  it('adds score for regression and trace on request', () => {
    const result = { label: 'LABEL_0', label_id: 0, probabilities: [], logits: [3.25], score: 3.25, tokens_per_layer: [3], flops: 10, truncated: false, tokens: [], trace };
    const line = formatResult(result, { trace: true });
    expect(Object.keys(line)).toEqual(['label', 'label_id', 'score', 'probabilities', 'logits', 'tokens_per_layer', 'flops', 'truncated', 'trace']);
    expect(line.score).toBe(3.25);
    expect(line.trace).toEqual(trace);
    expect(Object.keys(formatResult(result))).not.toContain('trace');
  });

  it('formats multiple-choice results with their choices', () => {
    const choice = { tokens_per_layer: [4, 3], flops: 7, truncated: false, tokens: ['[CLS]', 'a', '[SEP]', 'b'], trace };
    const result = {
      label: 'b',
      label_id: 1,
      probabilities: [0.4, 0.6],
      logits: [0.1, 0.5],
      tokens_per_layer: [8, 6],
      flops: 14,
      truncated: false,
      choices: [choice, choice],
    };
    const line = formatResult(result, { architecture: 'BertForMultipleChoice' });
    expect(Object.keys(line)).toEqual(['label', 'label_id', 'probabilities', 'logits', 'tokens_per_layer', 'flops', 'truncated', 'choices']);
    expect(line.choices).toEqual([
      { tokens_per_layer: [4, 3], flops: 7, truncated: false },
      { tokens_per_layer: [4, 3], flops: 7, truncated: false },
    ]);
    const traced = formatResult(result, { architecture: 'BertForMultipleChoice', trace: true });
    expect((traced.choices as Record<string, unknown>[])[1]).toEqual({ tokens_per_layer: [4, 3], flops: 7, truncated: false, trace });
    expect(traced).not.toHaveProperty('trace');
  });

  it('formats embeddings', () => {
    const result = { embedding: [0.5, -0.5], tokens_per_layer: [3], flops: 9, truncated: true, tokens: ['[CLS]', 'w1', '[SEP]'], trace };
    expect(formatResult(result, { architecture: 'BertModel' })).toEqual({ embedding: [0.5, -0.5], tokens_per_layer: [3], flops: 9, truncated: true });
    expect(formatResult(result, { architecture: 'BertModel', trace: true })).toHaveProperty('trace', trace);
  });
});

describe('createLineReader', () => {
  it('chunks lines and skips blank ones', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ text: `t${i}` }));
    const text = '\uFEFF' + lines.slice(0, 3).join('\r\n') + '\n\n   \n' + lines.slice(3).join('\n') + '\n';
    const reader = createLineReader(Readable.from([text]), { maxChunk: 4 });

    const chunks: { line: string; lineNumber: number }[][] = [];
    for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) chunks.push(chunk);

    expect(chunks.every((chunk) => chunk.length >= 1 && chunk.length <= 4)).toBe(true);
    const all = chunks.flat();
    expect(all.map((entry) => entry.line)).toEqual(lines);
    expect(all.map((entry) => entry.lineNumber)).toEqual([1, 2, 3, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('hands out lines as they arrive', async () => {
    const input = new PassThrough();
    const reader = createLineReader(input, { maxChunk: 64 });
    input.write('{"text": "a"}\n');
    expect((await reader.next())?.map((entry) => entry.line)).toEqual(['{"text": "a"}']);
    input.write('{"text": "b"}\n{"text": "c"}');
    input.end();
    const rest = [];
    for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) rest.push(...chunk);
    expect(rest.map((entry) => entry.lineNumber)).toEqual([2, 3]);
  });
});

describe('GLUE TSV', () => {
  it('parses SST-2 text with a header', () => {
    const examples = parseGlueTsv('sentence\tlabel\nit \'s fine . \t1\nbad \t0\n', 'SST-2');
    expect(examples).toEqual([
      { lineNumber: 2, text: "it 's fine . ", textPair: null, label: '1' },
      { lineNumber: 3, text: 'bad ', textPair: null, label: '0' },
    ]);
  });

  it('parses CoLA without a header', () => {
    const examples = parseGlueTsv('gj04\t1\t\tThe sailors rode.\ngj04\t0\t*\tRode the.\n', 'CoLA');
    expect(examples.map((example) => [example.text, example.label])).toEqual([
      ['The sailors rode.', '1'],
      ['Rode the.', '0'],
    ]);
  });

  it('parses MRPC pairs after a byte order mark', () => {
    const text = '\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t11\t12\tHe said " yes .\tShe said no .\n';
    expect(parseGlueTsv(text, 'MRPC')).toEqual([{ lineNumber: 2, text: 'He said " yes .', textPair: 'She said no .', label: '1' }]);
  });

  it('rejects a wrong header and a short row', () => {
    expect(() => parseGlueTsv('text\tlabel\nx\t1\n', 'SST-2')).toThrow(/line 1: expected the SST-2 header/);
    expect(() => parseGlueTsv('sentence\tlabel\nx\t1\ny\n', 'SST-2')).toThrow(/line 3: expected 2 tab-separated columns for SST-2, got 1/);
    expect(() => parseGlueTsv('x\t1\n', 'SST-2')).toThrow(DataError);
  });

  it('detects the task from the folder name, header or --task', () => {
    expect(detectGlueTask({ folderName: 'SST-2', firstLine: '' })).toBe('SST-2');
    expect(detectGlueTask({ folderName: 'sts_b', firstLine: '' })).toBe('STS-B');
    expect(detectGlueTask({ folderName: 'tmp123', firstLine: 'sentence\tlabel' })).toBe('SST-2');
    expect(detectGlueTask({ folderName: 'tmp123', firstLine: '\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String' })).toBe('MRPC');
    expect(detectGlueTask({ folderName: 'tmp123', firstLine: 'gj04\t1\t\tThe sailors rode.' })).toBe('CoLA');
    expect(detectGlueTask({ task: 'rte', folderName: 'SST-2', firstLine: '' })).toBe('RTE');
    expect(() => detectGlueTask({ folderName: 'tmp123', firstLine: 'a\tb\tc' })).toThrow(/cannot tell the GLUE task/);
    expect(() => detectGlueTask({ folderName: 'calib', firstLine: '{"text": "a fine film"}' })).toThrow(/looks like JSON lines; eval reads a GLUE dev.tsv/);
    expect(() => detectGlueTask({ task: 'squad', folderName: 'x', firstLine: '' })).toThrow(/unknown GLUE task "squad"/);
  });

  it('maps labels to model label ids', () => {
    expect(resolveLabelId('1', ['negative', 'positive'], 2)).toBe(1);
    expect(resolveLabelId('entailment', ['entailment', 'not_entailment'], 2)).toBe(0);
    expect(() => resolveLabelId('2', ['negative', 'positive'], 9)).toThrow(/line 9: label id 2 is out of range/);
    expect(() => resolveLabelId('maybe', ['negative', 'positive'], 9)).toThrow(/line 9: label "maybe"/);
  });

  // Row and label counts below are the ones listed for these files in the data folder's README.
  const labelCounts = (labels: string[]) => labels.reduce<Record<string, number>>((counts, label) => ({ ...counts, [label]: (counts[label] ?? 0) + 1 }), {});

  it('reads the GLUE dev sets from the shared data folder', async () => {
    const sst2 = await readGlueDevSet(path.join(glueDir, 'SST-2'), null);
    expect(sst2.task).toBe('SST-2');
    expect(sst2.examples.length).toBe(872);
    expect(labelCounts(sst2.examples.map((example) => example.label))).toEqual({ '0': 428, '1': 444 });

    const cola = await readGlueDevSet(path.join(glueDir, 'CoLA'), null);
    expect(cola.examples.length).toBe(1043);
    expect(labelCounts(cola.examples.map((example) => example.label))).toEqual({ '0': 322, '1': 721 });

    const mrpc = await readGlueDevSet(path.join(glueDir, 'MRPC', 'dev.tsv'), null);
    expect(mrpc.task).toBe('MRPC');
    expect(mrpc.examples.length).toBe(408);
    expect(labelCounts(mrpc.examples.map((example) => example.label))).toEqual({ '0': 129, '1': 279 });
    expect(mrpc.examples.every((example) => example.textPair !== null && example.textPair.length > 0)).toBe(true);

    const rte = await readGlueDevSet(path.join(glueDir, 'RTE'), null);
    expect(rte.examples.length).toBe(277);
    expect(labelCounts(rte.examples.map((example) => example.label))).toEqual({ entailment: 146, not_entailment: 131 });

    const stsb = await readGlueDevSet(path.join(glueDir, 'STS-B'), null);
    expect(stsb.examples.length).toBe(1500);
    const meanScore = stsb.examples.reduce((sum, example) => sum + Number(example.label), 0) / stsb.examples.length;
    expect(meanScore).toBeCloseTo(2.364, 3);
  });

  it('reports a missing dev.tsv', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fca-cli-'));
    try {
      await expect(readGlueDevSet(dir, null)).rejects.toThrow(/dev\.tsv was not found/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('classification metrics', () => {
  // TP 3 (0, 1, 6), FN 1 (2), TN 3 (3, 4, 7), FP 1 (5).
  const golds = [1, 1, 1, 0, 0, 0, 1, 0];
  const predictions = [1, 1, 0, 0, 0, 1, 1, 0];

  it('computes accuracy', () => {
    expect(accuracy(golds, predictions)).toBe(0.75);
    expect(() => accuracy([1], [1, 0])).toThrow(/1 gold values but 2 predictions/);
    expect(() => accuracy([], [])).toThrow(/no examples/);
  });

  it('computes Matthews correlation by hand', () => {
    // (TP TN - FP FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (9 - 1) / sqrt(4 * 4 * 4 * 4) = 0.5.
    expect(matthewsCorrelation(golds, predictions)).toBeCloseTo(0.5, 12);
    // TP 3, FN 1, TN 1, FP 1: (3 - 1) / sqrt(4 * 4 * 2 * 2) = 0.25.
    expect(matthewsCorrelation([1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1])).toBeCloseTo(0.25, 12);
    expect(matthewsCorrelation([1, 0, 1, 0], [1, 0, 1, 0])).toBeCloseTo(1, 12);
    expect(matthewsCorrelation([1, 0, 1, 0], [0, 1, 0, 1])).toBeCloseTo(-1, 12);
    // Three classes, c = 4 of s = 6, every class 2 gold and 2 predicted: (4 * 6 - 12) / (36 - 12) = 0.5.
    expect(matthewsCorrelation([0, 1, 2, 0, 1, 2], [0, 1, 1, 0, 2, 2])).toBeCloseTo(0.5, 12);
  });

  it('gives Matthews correlation 0 for degenerate inputs', () => {
    expect(matthewsCorrelation([1, 0, 1, 0], [1, 1, 1, 1])).toBe(0);
    expect(matthewsCorrelation([1, 0, 1, 0], [0, 0, 0, 0])).toBe(0);
    expect(matthewsCorrelation([1, 1, 1], [1, 0, 1])).toBe(0);
  });

  it('computes F1 of the positive class', () => {
    // Positive 1: TP 3, FP 1, FN 1 -> 6 / 8. Positive 0: TP 1, FP 1, FN 1 -> 2 / 4.
    expect(f1Score([1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1], 1)).toBeCloseTo(0.75, 12);
    expect(f1Score([1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1], 0)).toBeCloseTo(0.5, 12);
    // Precision 1/3, recall 1: F1 = 2 / 4.
    expect(f1Score([0, 0, 1], [1, 1, 1], 1)).toBeCloseTo(0.5, 12);
    expect(f1Score([0, 0], [0, 0], 1)).toBe(0);
    expect(f1Score([1, 1], [0, 0], 1)).toBe(0);
  });
});

describe('correlation metrics', () => {
  it('computes Pearson correlation by hand', () => {
    // Deviations (-2, -1, 0, 1, 2) and (-2, 0, 1, 0, 1): 6 / sqrt(10 * 6).
    expect(pearsonCorrelation([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(6 / Math.sqrt(60), 12);
    expect(pearsonCorrelation([1, 2, 3], [6, 4, 2])).toBeCloseTo(-1, 12);
  });

  it('ranks ties by their average rank', () => {
    expect(averageRanks([10, 20, 10, 30, 20, 10])).toEqual([2, 4.5, 2, 6, 4.5, 2]);
    expect(averageRanks([3, 1, 2])).toEqual([3, 1, 2]);
    expect(averageRanks([-0.5, -0.5])).toEqual([1.5, 1.5]);
  });

  it('computes Spearman correlation with ties', () => {
    // Ranks (1, 2, 3, 4, 5) and (1, 2.5, 4.5, 2.5, 4.5): deviations of the second (-2, -0.5, 1.5, -0.5, 1.5), 7 / sqrt(10 * 9).
    expect(spearmanCorrelation([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(7 / Math.sqrt(90), 12);
    // Monotonic but not linear: Spearman 1, Pearson below 1.
    expect(spearmanCorrelation([1, 2, 3, 4], [1, 4, 9, 100])).toBeCloseTo(1, 12);
    expect(pearsonCorrelation([1, 2, 3, 4], [1, 4, 9, 100])!).toBeLessThan(0.9);
  });

  it('returns null when a correlation is undefined', () => {
    expect(pearsonCorrelation([1, 2, 3], [2, 2, 2])).toBeNull();
    expect(spearmanCorrelation([4, 4, 4], [1, 2, 3])).toBeNull();
    expect(pearsonCorrelation([1], [2])).toBeNull();
  });
});

describe('taskMetrics', () => {
  it('picks each task\'s metrics', () => {
    expect(taskMetrics('SST-2', [1, 0], [1, 1])).toEqual({ accuracy: 0.5 });
    expect(taskMetrics('RTE', [1, 0], [1, 0])).toEqual({ accuracy: 1 });
    expect(taskMetrics('CoLA', [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1])).toEqual({ matthews: expect.closeTo(0.25, 12), accuracy: expect.closeTo(4 / 6, 12) });
    expect(taskMetrics('MRPC', [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1])).toEqual({ f1: expect.closeTo(0.75, 12), accuracy: expect.closeTo(4 / 6, 12) });
    expect(taskMetrics('MRPC', [1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 1], { positiveLabelId: 0 })).toMatchObject({ f1: expect.closeTo(0.5, 12) });
    expect(taskMetrics('STS-B', [2, 4, 5, 4, 5], [1, 2, 3, 4, 5])).toEqual({
      pearson: expect.closeTo(6 / Math.sqrt(60), 12),
      spearman: expect.closeTo(7 / Math.sqrt(90), 12),
    });
    expect(() => taskMetrics('SQuAD', [1], [1])).toThrow(/no metrics are defined for task "SQuAD"/);
  });
});

describe('summarizeEval', () => {
  const pass = (prediction: number, flops: number) => ({ prediction, flops });

  it('computes accuracy, mean FLOPs and the ratio of totals', () => {
    const summary = summarizeEval([
      { gold: 1, dense: pass(1, 100), fca: pass(1, 50) },
      { gold: 0, dense: pass(1, 300), fca: pass(0, 60) },
      { gold: 0, dense: pass(0, 200), fca: pass(1, 100) },
      { gold: 1, dense: pass(1, 400), fca: pass(1, 390) },
    ]);
    expect(summary.examples).toBe(4);
    expect(summary.accuracy).toBe(0.75);
    expect(summary.dense_accuracy).toBe(0.75);
    expect(summary.mean_flops).toBe(150);
    expect(summary.dense_mean_flops).toBe(250);
    // 600 / 1000; the mean of per-example ratios would be (0.5 + 0.2 + 0.5 + 0.975) / 4 = 0.54375.
    expect(summary.flops_ratio).toBeCloseTo(0.6, 12);
    expect(summary.metrics).toEqual({ accuracy: 0.75 });
    expect(summary.dense_metrics).toEqual({ accuracy: 0.75 });
  });

  it('uses the dense pass when there is no FCA pass', () => {
    const summary = summarizeEval([
      { gold: 1, dense: pass(1, 100), fca: null },
      { gold: 1, dense: pass(0, 300), fca: null },
    ]);
    expect(summary).toEqual({
      examples: 2,
      accuracy: 0.5,
      mean_flops: 200,
      dense_mean_flops: 200,
      flops_ratio: 1,
      dense_accuracy: 0.5,
      metrics: { accuracy: 0.5 },
      dense_metrics: { accuracy: 0.5 },
    });
  });

  it('reports each task\'s metrics for both passes', () => {
    const golds = [1, 1, 1, 1, 0, 0];
    const dense = [1, 1, 1, 1, 0, 0];
    const fca = [1, 1, 1, 0, 0, 1];
    const records = golds.map((gold, i) => ({ gold, dense: pass(dense[i], 10), fca: pass(fca[i], 5) }));
    const cola = summarizeEval(records, { task: 'CoLA' });
    expect(cola.metrics).toEqual({ matthews: expect.closeTo(0.25, 12), accuracy: expect.closeTo(4 / 6, 12) });
    expect(cola.dense_metrics).toEqual({ matthews: 1, accuracy: 1 });
    const mrpc = summarizeEval(records, { task: 'MRPC', positiveLabelId: 1 });
    expect(mrpc.metrics).toEqual({ f1: expect.closeTo(0.75, 12), accuracy: expect.closeTo(4 / 6, 12) });
    expect(mrpc.accuracy).toBeCloseTo(4 / 6, 12);
  });

  it('gives STS-B correlations and no accuracy', () => {
    const golds = [2, 4, 5, 4, 5];
    const records = golds.map((gold, i) => ({ gold, dense: pass(gold, 20), fca: pass(i + 1, 10) }));
    const summary = summarizeEval(records, { task: 'STS-B' });
    expect(summary.accuracy).toBeNull();
    expect(summary.dense_accuracy).toBeNull();
    expect(summary.metrics).toEqual({ pearson: expect.closeTo(6 / Math.sqrt(60), 12), spearman: expect.closeTo(7 / Math.sqrt(90), 12) });
    expect(summary.dense_metrics).toEqual({ pearson: expect.closeTo(1, 12), spearman: expect.closeTo(1, 12) });
    expect(summary.flops_ratio).toBe(0.5);
    const table = formatEvalTable(summary, { task: 'STS-B', fca: { retention: 0.5, clusters: 2, variant: 'mean' } });
    expect(table).toMatch(/^pass\s+Pearson\s+Spearman\s+mean FLOPs\s+FLOPs \/ dense$/m);
    expect(table).toMatch(/^dense\s+1\.0000\s+1\.0000\s+20 FLOPs\s+1\.000$/m);
    expect(table).toMatch(/^FCA retention 0\.5, K=2, mean\s+0\.7746\s+0\.7379\s+10 FLOPs\s+0\.500$/m);
  });

  it('rejects an empty list', () => {
    expect(() => summarizeEval([])).toThrow(/no examples/);
  });

  it('formats a table', () => {
    const summary = summarizeEval([{ gold: 1, dense: pass(1, 76_087_296), fca: pass(1, 52_772_864) }]);
    const table = formatEvalTable(summary, { task: 'SST-2', fca: { retention: 0.5, clusters: 2 } });
    expect(table).toContain('SST-2 dev, 1 examples');
    expect(table).toMatch(/dense\s+100\.00%\s+76\.1 MFLOPs\s+1\.000/);
    expect(table).toMatch(/FCA retention 0\.5, K=2\s+100\.00%\s+52\.8 MFLOPs\s+0\.694/);
    expect(formatFlops(22.3e9)).toBe('22.30 GFLOPs');

    const cola = summarizeEval([{ gold: 1, dense: pass(1, 10), fca: pass(1, 10) }, { gold: 0, dense: pass(1, 10), fca: pass(1, 10) }], { task: 'CoLA' });
    const colaTable = formatEvalTable(cola, { task: 'CoLA', fca: null });
    expect(colaTable).toMatch(/^pass\s+Matthews\s+accuracy\s+mean FLOPs\s+FLOPs \/ dense$/m);
    expect(colaTable).toMatch(/^dense\s+0\.0000\s+50\.00%\s+10 FLOPs\s+1\.000$/m);
    expect(colaTable.split('\n')).toHaveLength(3);
  });

  it('describes each variant', () => {
    expect(describeFca(null)).toBe('dense');
    expect(describeFca({ retentionCounts: [34, 28], clusters: 5 })).toBe('FCA retention counts 34,28, K=5');
    expect(describeFca({ retention: [0.6, 0.4], clusters: 0, variant: 'drop' })).toBe('FCA retention 0.6,0.4, K=0, drop');
    expect(describeFca({ retention: 0.5, clusters: 1, variant: 'mean' })).toBe('FCA retention 0.5, K=1, mean');
    expect(describeFca({ retentionCounts: [34, 28], clusters: 5, variant: 'reference', paddedLength: 64 })).toBe(
      'FCA retention counts 34,28, K=5, reference, length 64',
    );
  });
});

describe('goldValues', () => {
  const classifier = { architecture: 'BertForSequenceClassification', labels: ['negative', 'positive'], regression: false };
  const devSet = (task: string, labels: string[]) => ({ task, file: 'dev.tsv', examples: labels.map((label, i) => ({ label, lineNumber: i + 2 })) });

  it('maps label ids and label names', () => {
    expect(goldValues(devSet('MRPC', ['1', '0', '1']), classifier)).toEqual({ golds: [1, 0, 1], positiveLabelId: 1 });
    const rteModel = { ...classifier, labels: ['entailment', 'not_entailment'] };
    expect(goldValues(devSet('RTE', ['not_entailment', 'entailment']), rteModel).golds).toEqual([1, 0]);
  });

  it('explains RTE labels that the model cannot map', () => {
    expect(() => goldValues(devSet('RTE', ['entailment']), classifier)).toThrow(EvalError);
    expect(() => goldValues(devSet('RTE', ['entailment']), classifier)).toThrow(
      /dev\.tsv, line 2: RTE label "entailment" is not one of the model's labels \(id2label in config\.json: negative, positive\)/,
    );
    expect(() => goldValues(devSet('SST-2', ['2']), classifier)).toThrow(/line 2: label id 2 is out of range/);
  });

  it('reads STS-B scores for a regression model only', () => {
    const regression = { ...classifier, labels: ['LABEL_0'], regression: true };
    expect(goldValues(devSet('STS-B', ['4.5', '0.000', '3.2']), regression).golds).toEqual([4.5, 0, 3.2]);
    expect(() => goldValues(devSet('STS-B', ['4.5', 'high']), regression)).toThrow(/line 3: gold score "high" is not a number/);
    expect(() => goldValues(devSet('STS-B', ['4.5']), classifier)).toThrow(/STS-B is a regression task .* a classifier with 2 labels/);
    expect(() => goldValues(devSet('SST-2', ['1']), regression)).toThrow(/SST-2 is a classification task, but the model is a regression model/);
  });

  it('rejects models that are not sequence classifiers', () => {
    expect(() => goldValues(devSet('SST-2', ['1']), { ...classifier, architecture: 'BertModel', labels: [] })).toThrow(
      /eval needs a BertForSequenceClassification model trained for SST-2, but this model is a BertModel/,
    );
  });
});

describe('classifyWithFallback', () => {
  const fakeClassify = (calls: string[][]) => async (inputs: string[]) => {
    calls.push(inputs);
    for (const input of inputs) {
      if (input === 'bad') throw new EngineError('InputError', `cannot classify ${input}`);
      if (input === 'gpu') throw new EngineError('DeviceError', 'device lost');
    }
    return inputs.map((input) => ({ label: input.toUpperCase() }));
  };

  it('classifies a clean chunk in one call', async () => {
    const calls: string[][] = [];
    const outcomes = await classifyWithFallback(['a', 'b'], fakeClassify(calls));
    expect(outcomes).toEqual([{ result: { label: 'A' } }, { result: { label: 'B' } }]);
    expect(calls).toEqual([['a', 'b']]);
  });

  it('retries one by one so only the bad input fails', async () => {
    const calls: string[][] = [];
    const outcomes = await classifyWithFallback(['a', 'bad', 'c'], fakeClassify(calls));
    expect(outcomes).toEqual([{ result: { label: 'A' } }, { error: 'InputError: cannot classify bad' }, { result: { label: 'C' } }]);
    expect(calls).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('stops on fatal errors', async () => {
    await expect(classifyWithFallback(['a', 'gpu'], fakeClassify([]))).rejects.toThrow('device lost');
    await expect(classifyWithFallback(['a'], async () => [])).rejects.toThrow(/returned 0 results for 1 inputs/);
    expect(isFatal(new Error('Target page, context or browser has been closed'))).toBe(true);
    expect(isFatal(new EngineError('DeviceError', 'x'))).toBe(true);
    // The 'reference' variant rejects an input longer than its padded length with a RetentionError: that fails one line.
    expect(isFatal(new EngineError('RetentionError', 'x'))).toBe(false);
    expect(isFatal(new EngineError('Error', 'not implemented yet'))).toBe(false);
  });

  it('merges parse errors and results in line order', async () => {
    const parsed = [
      { lineNumber: 1, input: 'a' },
      { lineNumber: 2, error: 'line 2: invalid JSON' },
      { lineNumber: 4, input: 'bad' },
    ];
    const lines = await classifyLines(parsed, fakeClassify([]) as (inputs: unknown[]) => Promise<Record<string, unknown>[]>, (result) => result);
    expect(lines).toEqual([
      { lineNumber: 1, output: { label: 'A' }, failed: false },
      { lineNumber: 2, output: { error: 'line 2: invalid JSON' }, failed: true },
      { lineNumber: 4, output: { error: 'line 4: InputError: cannot classify bad' }, failed: true },
    ]);
  });
});

describe('checkRunOptions', () => {
  it('runs no inputs and passes the engine\'s error on', async () => {
    const calls: [unknown[], object][] = [];
    await checkRunOptions(async (inputs, options) => {
      calls.push([inputs, options]);
      return [];
    }, { retention: 0.5 });
    expect(calls).toEqual([[[], { retention: 0.5 }]]);
    const reject = async () => {
      throw new EngineError('RetentionError', "variant 'reference' takes retention counts");
    };
    await expect(checkRunOptions(reject, {})).rejects.toThrow(/takes retention counts/);
  });
});

describe('static file serving', () => {
  let dir: string;
  let server: http.Server;
  let origin: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fca-static-'));
    await mkdir(path.join(dir, 'model'));
    await writeFile(path.join(dir, 'model', 'config.json'), '{"hidden_size": 256}');
    await writeFile(path.join(dir, 'secret.txt'), 'outside');
    const middleware = directoryMiddleware(path.join(dir, 'model'));
    server = http.createServer((req, res) => {
      middleware(req, res, () => {
        res.statusCode = 500;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true });
  });

  it('serves files and 404s the rest', async () => {
    const found = await fetch(`${origin}/config.json`);
    expect(found.status).toBe(200);
    expect(found.headers.get('content-type')).toBe('application/json');
    expect(await found.text()).toBe('{"hidden_size": 256}');
    expect((await fetch(`${origin}/missing.json`)).status).toBe(404);
    expect((await fetch(`${origin}/`)).status).toBe(404);
    expect((await fetch(`${origin}/..%2fsecret.txt`)).status).toBe(404);
    expect((await fetch(`${origin}/config.json`, { method: 'POST' })).status).toBe(405);
  });

  it('keeps paths inside the folder', () => {
    expect(resolveInside('/srv/model', '/config.json?x=1')).toBe(path.resolve('/srv/model/config.json'));
    expect(resolveInside('/srv/model', '/../secret.txt')).toBe(path.resolve('/srv/model/secret.txt'));
    expect(resolveInside('/srv/model', '/%E0%A4%A')).toBeNull();
  });
});

describe('main', () => {
  async function runMain(argv: string[]) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk) => (out += chunk));
    stderr.on('data', (chunk) => (err += chunk));
    const status = await main(argv, { stdin: Readable.from([]), stdout, stderr });
    return { status, out, err };
  }

  it('prints help', async () => {
    const { status, out } = await runMain(['classify', '--help']);
    expect(status).toBe(0);
    expect(out).toContain('Usage: fca-webgpu classify --model DIR');
  });

  it('exits with status 2 on usage errors', async () => {
    const unknown = await runMain(['classify', '--model', 'models/sst2-bert-mini', '--bogus']);
    expect(unknown.status).toBe(2);
    expect(unknown.err).toContain('unknown flag --bogus');
    expect(unknown.out).toBe('');

    const both = await runMain(['classify', '--model', 'models/sst2-bert-mini', '--retention', '0.5', '--retention-counts', '3']);
    expect(both.status).toBe(2);
    expect(both.err).toContain('--retention and --retention-counts were both given');

    const drop = await runMain(['classify', '--model', 'models/sst2-bert-mini', '--retention', '0.5', '--variant', 'drop', '--clusters', '2']);
    expect(drop.status).toBe(2);
    expect(drop.err).toContain('--variant drop keeps no clusters, but --clusters is 2');
    expect(drop.err).toContain('run "fca-webgpu classify --help" for usage.');
  });

  it('reports a model folder without config.json', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fca-model-'));
    try {
      const { status, err } = await runMain(['classify', '--model', dir]);
      expect(status).toBe(2);
      expect(err).toContain('has no config.json');
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
