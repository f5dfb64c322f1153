// Command-line argument parsing and help texts. Pure: no I/O.
import { GLUE_TASK_NAMES } from './tsv.mjs';

/** Error for a command line that cannot be run; the CLI prints it with a hint to --help and exits with status 2. */
export class UsageError extends Error {
  /** @param {string} message @param {string} [command] command whose --help to point at */
  constructor(message, command) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

export const DEFAULT_CLUSTERS = 2;

const FCA_HELP = `FCA options (without them the pass is dense):
  --retention F1,...,FL        fraction of each input's tokens that each layer keeps as
                               fine tokens, [CLS] included: one value in (0, 1] for every
                               layer, or one per layer
  --retention-counts C1,...,CL fine tokens per layer as counts (integers >= 1, never
                               growing with depth): one value or one per layer
  --clusters K                 clusters that merge the remaining tokens at each layer
                               (default ${DEFAULT_CLUSTERS}; 0 drops them)`;

export const HELP = {
  main: `Usage: fca-webgpu <command> [options]

Runs a BERT sequence classifier on WebGPU in headless Chromium, densely or with
FCA token reduction.

Commands:
  classify   classify JSON lines read from stdin
  eval       measure accuracy and FLOPs on a GLUE dev.tsv

Run "fca-webgpu <command> --help" for a command's options.

Environment:
  FCA_WEBGPU_CHROMIUM   Chromium or Chrome executable to use (default: /usr/bin/chromium,
                        then chromium or chromium-browser on PATH)`,

  classify: `Usage: fca-webgpu classify --model DIR [FCA options] < inputs.jsonl

Reads one JSON object per line from stdin:
  {"text": "...", "text_pair": "..."}          text_pair is optional
  {"input_ids": [...], "token_type_ids": [...]} pre-tokenized; token_type_ids optional
input_ids wins when a line has both; other fields are ignored; blank lines are skipped.
Writes one JSON line per input, in input order, with label, label_id, probabilities,
logits, tokens_per_layer, flops (encoder FLOPs) and truncated. An input that cannot be
classified gets {"error": "..."} and the run goes on; the exit status is then 1.

Options:
  --model DIR                  Hugging Face model folder (config.json, model.safetensors,
                               tokenizer.json or vocab.txt)
  --verbose                    print progress and browser messages to stderr
  -h, --help                   show this help

${FCA_HELP}`,

  eval: `Usage: fca-webgpu eval --model DIR --data DIR [FCA options] [--json]

Classifies every example of DIR/dev.tsv (GLUE format) with a dense pass and, when FCA
options are given, with FCA, then prints accuracy, mean encoder FLOPs per example and
the FLOPs ratio (total FCA FLOPs over total dense FLOPs). Labels in dev.tsv are label
ids or label names of the model.

Options:
  --model DIR                  Hugging Face model folder
  --data DIR                   GLUE task folder containing dev.tsv, or a .tsv file
  --task NAME                  GLUE task when the folder name and header do not tell:
                               ${GLUE_TASK_NAMES.join(', ')}
  --limit N                    evaluate only the first N examples
  --json                       print one JSON object instead of a table
  --verbose                    print progress and browser messages to stderr
  -h, --help                   show this help

${FCA_HELP}`,
};

/** Flags of each command: `true` when the flag takes a value. */
const FLAGS = {
  classify: {
    '--model': true,
    '--retention': true,
    '--retention-counts': true,
    '--clusters': true,
    '--verbose': false,
    '--help': false,
  },
  eval: {
    '--model': true,
    '--data': true,
    '--task': true,
    '--limit': true,
    '--retention': true,
    '--retention-counts': true,
    '--clusters': true,
    '--json': false,
    '--verbose': false,
    '--help': false,
  },
};

const NUMBER_PATTERN = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Parses one decimal number, or throws a UsageError naming the flag and the value. */
function parseNumber(text, flag, command) {
  const trimmed = text.trim();
  if (!NUMBER_PATTERN.test(trimmed)) {
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a number.`, command);
  }
  return Number(trimmed);
}

/** Parses a comma-separated list of numbers such as "0.6,0.4,0.3,0.2". */
function parseNumberList(text, flag, command) {
  if (text.trim() === '') throw new UsageError(`${flag} needs a value, such as ${flag} 0.5.`, command);
  return text.split(',').map((part) => parseNumber(part, flag, command));
}

/**
 * Parses the FCA flags into engine options (`{ retention | retentionCounts, clusters }`),
 * or returns null for a dense pass. Range checks that need the model's layer count
 * are left to checkLayerCount and the engine.
 * @param {{ retention?: string, retentionCounts?: string, clusters?: string }} raw
 * @param {string} command
 */
export function parseFcaOptions(raw, command) {
  const { retention, retentionCounts, clusters } = raw;
  if (retention !== undefined && retentionCounts !== undefined) {
    throw new UsageError('--retention and --retention-counts were both given; choose fractions or counts, not both.', command);
  }
  if (retention === undefined && retentionCounts === undefined) {
    if (clusters !== undefined) {
      throw new UsageError('--clusters needs --retention or --retention-counts; drop --clusters for a dense pass.', command);
    }
    return null;
  }

  let clusterCount = DEFAULT_CLUSTERS;
  if (clusters !== undefined) {
    clusterCount = parseNumber(clusters, '--clusters', command);
    if (!Number.isInteger(clusterCount) || clusterCount < 0) {
      throw new UsageError(`--clusters must be an integer >= 0, got ${clusters}; use 0 to drop the merged tokens.`, command);
    }
  }

  if (retention !== undefined) {
    const values = parseNumberList(retention, '--retention', command);
    for (const value of values) {
      if (!(value > 0 && value <= 1)) {
        throw new UsageError(`--retention: fraction ${value} is outside (0, 1]; give fractions such as 0.5 or 0.6,0.4,0.3,0.2.`, command);
      }
    }
    return { retention: values.length === 1 ? values[0] : values, clusters: clusterCount };
  }

  const values = parseNumberList(retentionCounts, '--retention-counts', command);
  for (const value of values) {
    if (!Number.isInteger(value) || value < 1) {
      throw new UsageError(`--retention-counts: ${value} is not an integer >= 1 ([CLS] is always kept).`, command);
    }
  }
  return { retentionCounts: values.length === 1 ? values[0] : values, clusters: clusterCount };
}

/** Throws a UsageError when a per-layer FCA list does not have one value or `numLayers` values. */
export function checkLayerCount(fca, numLayers, command) {
  if (!fca) return;
  const [flag, value] = fca.retention !== undefined ? ['--retention', fca.retention] : ['--retention-counts', fca.retentionCounts];
  if (Array.isArray(value) && value.length !== numLayers) {
    throw new UsageError(
      `${flag} has ${value.length} values but the model has ${numLayers} layers; give one value per layer or a single value for all.`,
      command,
    );
  }
}

/**
 * Splits argv into flags and positionals for one command. Accepts `--flag value`
 * and `--flag=value`; `-h` is `--help`.
 */
function readFlags(command, argv) {
  const known = FLAGS[command];
  /** @type {Record<string, string | true>} */
  const values = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      values['--help'] = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; ${command} takes only flags.`, command);
    }
    const equals = arg.indexOf('=');
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (!(flag in known)) {
      throw new UsageError(`unknown flag ${flag} for ${command}.`, command);
    }
    if (flag in values) throw new UsageError(`${flag} was given twice.`, command);

    if (!known[flag]) {
      if (equals !== -1) throw new UsageError(`${flag} takes no value, got ${JSON.stringify(arg)}.`, command);
      values[flag] = true;
      continue;
    }
    if (equals !== -1) {
      values[flag] = arg.slice(equals + 1);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) throw new UsageError(`${flag} needs a value.`, command);
    values[flag] = next;
    i++;
  }
  return values;
}

function requireValue(values, flag, command, example) {
  const value = values[flag];
  if (value === undefined || value === '') {
    throw new UsageError(`${flag} is required, for example ${flag} ${example}.`, command);
  }
  return /** @type {string} */ (value);
}

/**
 * Parses the command line after `node fca-webgpu.mjs`.
 * Returns `{ command: 'help', topic }`, `{ command: 'version' }`, or the parsed
 * options of `classify` or `eval`. Throws UsageError for anything else.
 * @param {string[]} argv
 */
export function parseArgs(argv) {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { command: 'help', topic: 'main' };
  if (first === '--version') return { command: 'version' };
  if (first === 'help') {
    const topic = rest[0] ?? 'main';
    if (topic !== 'main' && !(topic in FLAGS)) throw new UsageError(`unknown command ${JSON.stringify(topic)}; commands: classify, eval.`);
    return { command: 'help', topic };
  }
  if (!(first in FLAGS)) {
    const problem = first.startsWith('-') ? `unknown flag ${first}` : `unknown command ${JSON.stringify(first)}`;
    throw new UsageError(`${problem}; commands: classify, eval.`);
  }

  const command = first;
  // --help wins over every other flag, even a wrong one, so that it always shows the usage.
  if (rest.includes('--help') || rest.includes('-h')) return { command: 'help', topic: command };
  const values = readFlags(command, rest);

  const model = requireValue(values, '--model', command, 'models/sst2-bert-mini');
  const fca = parseFcaOptions(
    {
      retention: /** @type {string | undefined} */ (values['--retention']),
      retentionCounts: /** @type {string | undefined} */ (values['--retention-counts']),
      clusters: /** @type {string | undefined} */ (values['--clusters']),
    },
    command,
  );
  const verbose = values['--verbose'] === true;
  if (command === 'classify') return { command, model, fca, verbose };

  const data = requireValue(values, '--data', command, '../shared/data/glue/SST-2');
  let limit = null;
  if (values['--limit'] !== undefined) {
    limit = parseNumber(/** @type {string} */ (values['--limit']), '--limit', command);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be an integer >= 1, got ${values['--limit']}.`, command);
  }
  const task = /** @type {string | undefined} */ (values['--task']) ?? null;
  return { command, model, data, fca, json: values['--json'] === true, limit, task, verbose };
}
