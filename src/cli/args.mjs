// Command-line argument parsing and help texts. Pure: no I/O.
import { GLUE_TASK_NAMES, glueTaskByName } from './tsv.mjs';

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
export const DEFAULT_PADDED_LENGTH = 128;
export const FCA_VARIANTS = ['weighted', 'mean', 'drop', 'reference'];
export const POOLING_MODES = ['mean', 'cls'];

const FCA_HELP = `FCA options (without them the pass is dense):
  --retention F1,...,FL        fraction of each input's tokens that each layer keeps as
                               fine tokens, [CLS] included: one value in (0, 1] for every
                               layer, or one per layer
  --retention-counts C1,...,CL fine tokens per layer as counts (integers >= 1, never
                               growing with depth): one value or one per layer
  --clusters K                 clusters that merge the remaining tokens at each layer
                               (default ${DEFAULT_CLUSTERS}; 0 drops them)
  --variant NAME               how the remaining tokens are merged (default weighted):
                                 weighted   each cluster is the average of its group,
                                            weighted by the softmax of the attention scores
                                 mean       each cluster is the plain mean of its group
                                 drop       no clusters: the tokens are dropped, as with
                                            --clusters 0 (PoWER-BERT)
                                 reference  the FCA authors' code's arithmetic on a fixed
                                            padded length, for checkpoints trained with it;
                                            needs --retention-counts (the authors used K=5)
  --padded-length L            with --variant reference only: the length every input is
                               padded to (default ${DEFAULT_PADDED_LENGTH}); a longer input fails its own line
  --retention-file FILE        the FCA setting of a retention file that "fca-webgpu calibrate"
                               wrote (retention, clusters, variant), in place of the
                               options above`;

const BATCH_HELP = `  --batch-size N               sequences per forward pass, an integer >= 1 (default: the
                               engine's, 8 at present); the engine splits longer lists`;

export const HELP = {
  main: `Usage: fca-webgpu <command> [options]

Runs a BERT encoder on WebGPU in headless Chromium, densely or with FCA token
reduction: sequence classification and regression, multiple choice, and sentence
embeddings, chosen by the model's architecture in config.json.

Commands:
  classify   run the model on JSON lines read from stdin
  eval       measure GLUE dev-set metrics and FLOPs of dense and FCA passes
  calibrate  choose per-layer retention fractions for a FLOPs budget on unlabeled inputs

Run "fca-webgpu <command> --help" for a command's options.

Environment:
  FCA_WEBGPU_CHROMIUM   Chromium or Chrome executable to use (default: /usr/bin/chromium,
                        then chromium or chromium-browser on PATH)`,

  classify: `Usage: fca-webgpu classify --model DIR [FCA options] [--batch-size N] [--trace]
                           [--pooling mean|cls] < inputs.jsonl

Reads one JSON object per line from stdin and writes one JSON line per input, in
input order. The lines depend on the architecture in the model's config.json:

BertForSequenceClassification
  input:  {"text": "...", "text_pair": "..."}          text_pair is optional
          {"input_ids": [...], "token_type_ids": [...]} pre-tokenized; token_type_ids optional
  output: label, label_id, probabilities, logits, tokens_per_layer, flops, truncated;
          a regression model (one output) adds score, and its probabilities is []
BertForMultipleChoice
  input:  {"text": "...", "choices": ["...", "..."]}    each choice is paired with text
  output: label (the best choice), label_id (its index), probabilities and logits over
          the choices, tokens_per_layer and flops summed over the choices, truncated,
          and choices (tokens_per_layer, flops and truncated of each choice)
BertModel
  input:  as for BertForSequenceClassification
  output: embedding, tokens_per_layer, flops, truncated

input_ids wins when a line has both; other fields are ignored; blank lines are skipped.
flops counts encoder FLOPs. An input that cannot be run gets {"error": "..."} and the
run goes on; the exit status is then 1.

Options:
  --model DIR                  Hugging Face model folder (config.json, model.safetensors,
                               tokenizer.json or vocab.txt)
${BATCH_HELP},
                               and each choice of a question is one sequence
  --trace                      add "trace" to each output line (to each choice for multiple
                               choice): per layer, positions (the input position of each
                               output token, -1 for a cluster), tokenCounts (input tokens
                               each output token stands for), scores (attention received by
                               each input token), destinations (output index of each input
                               token, -1 when dropped), fine and clusters
  --pooling mean|cls           BertModel only: mean of the final tokens, each weighted by the
                               input tokens it stands for (default), or the final [CLS] row
  --verbose                    print progress and browser messages to stderr
  -h, --help                   show this help

${FCA_HELP}`,

  eval: `Usage: fca-webgpu eval --model DIR --data DIR [FCA options] [--batch-size N] [--json]

Runs every example of DIR/dev.tsv (GLUE format) with a dense pass and, when FCA options
are given, with FCA, then prints the task's metrics, mean encoder FLOPs per example and
the FLOPs ratio (total FCA FLOPs over total dense FLOPs). The model must be a
BertForSequenceClassification trained for the task:
  SST-2, RTE, QNLI, WNLI   accuracy
  CoLA                     Matthews correlation and accuracy
  MRPC, QQP                F1 of the positive class (label 1) and accuracy
  STS-B                    Pearson and Spearman correlation; needs a regression model
                           (one output), and gold scores are 0 to 5
Labels in dev.tsv are label ids or label names of the model (id2label): RTE's
entailment and not_entailment must be names in the model's id2label.

Options:
  --model DIR                  Hugging Face model folder
  --data DIR                   GLUE task folder containing dev.tsv, or a .tsv file
  --task NAME                  GLUE task when the folder name and header do not tell:
                               ${GLUE_TASK_NAMES.join(', ')}
  --limit N                    evaluate only the first N examples
${BATCH_HELP}
  --json                       print one JSON object instead of a table: task, examples,
                               accuracy (null for STS-B), mean_flops, dense_mean_flops,
                               flops_ratio, dense_accuracy, metrics and dense_metrics
  --verbose                    print progress and browser messages to stderr
  -h, --help                   show this help

${FCA_HELP}`,

  calibrate: `Usage: fca-webgpu calibrate --model DIR --data FILE --flops-ratio R --output FILE
                            [--clusters K] [--variant NAME] [--batch-size N]
                            [--max-evaluations N]

Chooses retention fractions per layer, never growing with depth, for a FLOPs budget.
Among the schedules whose FLOPs ratio on the inputs (total FCA encoder FLOPs over total
dense FLOPs) is at most R, it keeps the one whose top labels agree with the dense pass
on the most inputs; ties go to the lower mean KL(dense || FCA) of the probabilities.
The inputs need no labels: a few hundred texts like those the model will see give a
stable estimate. Each evaluated schedule runs the model once over all inputs.
Writes a retention file (JSON) for classify and eval --retention-file, and prints the
chosen setting. The model must be a BertForSequenceClassification with labels.

FILE holds one JSON object per line, as for classify:
  {"text": "...", "text_pair": "..."}          text_pair is optional
  {"input_ids": [...], "token_type_ids": [...]} pre-tokenized; token_type_ids optional

Options:
  --model DIR                  Hugging Face model folder
  --data FILE                  calibration inputs, JSON lines
  --flops-ratio R              FLOPs budget as a ratio to the dense pass, in (0, 1], such as 0.5
  --output FILE                where to write the retention file
  --clusters K                 clusters that merge the remaining tokens at each layer
                               (default ${DEFAULT_CLUSTERS}; 0 drops them)
  --variant NAME               weighted (default), mean or drop; see classify --help
${BATCH_HELP}
  --max-evaluations N          most schedules to evaluate, an integer >= 1 (default 24)
  --verbose                    print each evaluated schedule and browser messages to stderr
  -h, --help                   show this help`,
};

const FCA_FLAGS = {
  '--retention': true,
  '--retention-counts': true,
  '--clusters': true,
  '--variant': true,
  '--padded-length': true,
  '--batch-size': true,
  '--retention-file': true,
};

/** Flags of each command: `true` when the flag takes a value. */
const FLAGS = {
  calibrate: {
    '--model': true,
    '--data': true,
    '--flops-ratio': true,
    '--output': true,
    '--clusters': true,
    '--variant': true,
    '--batch-size': true,
    '--max-evaluations': true,
    '--verbose': false,
    '--help': false,
  },
  classify: {
    '--model': true,
    ...FCA_FLAGS,
    '--trace': false,
    '--pooling': true,
    '--verbose': false,
    '--help': false,
  },
  eval: {
    '--model': true,
    '--data': true,
    '--task': true,
    '--limit': true,
    ...FCA_FLAGS,
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
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a number; write it in digits (see --help).`, command);
  }
  return Number(trimmed);
}

/** Parses a comma-separated list of numbers such as "0.6,0.4,0.3,0.2". */
function parseNumberList(text, flag, command) {
  if (text.trim() === '') throw new UsageError(`${flag} needs a value, such as ${flag} 0.5.`, command);
  return text.split(',').map((part) => parseNumber(part, flag, command));
}

/** Parses an integer flag value that must be at least `minimum`. */
function parseInteger(text, flag, minimum, command) {
  const value = parseNumber(text, flag, command);
  if (!Number.isInteger(value) || value < minimum) {
    throw new UsageError(`${flag} must be an integer >= ${minimum}, got ${text}.`, command);
  }
  return value;
}

/**
 * Parses the FCA flags into engine options
 * (`{ retention | retentionCounts, clusters, variant, paddedLength? }`), or
 * returns null for a dense pass. Range checks that need the model's layer
 * count are left to checkLayerCount and the engine.
 * @param {{ retention?: string, retentionCounts?: string, clusters?: string, variant?: string, paddedLength?: string }} raw
 * @param {string} command
 */
export function parseFcaOptions(raw, command) {
  const { retention, retentionCounts, clusters, variant: variantText, paddedLength: paddedText } = raw;
  if (retention !== undefined && retentionCounts !== undefined) {
    throw new UsageError('--retention and --retention-counts were both given; choose fractions or counts, not both.', command);
  }
  if (retention === undefined && retentionCounts === undefined) {
    const given = [
      ['--clusters', clusters],
      ['--variant', variantText],
      ['--padded-length', paddedText],
    ].find(([, value]) => value !== undefined);
    if (given) {
      throw new UsageError(`${given[0]} needs --retention or --retention-counts; drop ${given[0]} for a dense pass.`, command);
    }
    return null;
  }

  const variant = variantText ?? 'weighted';
  if (!FCA_VARIANTS.includes(variant)) {
    throw new UsageError(`--variant: ${JSON.stringify(variant)} is not a variant; choose one of ${FCA_VARIANTS.join(', ')}.`, command);
  }

  let clusterCount = variant === 'drop' ? 0 : DEFAULT_CLUSTERS;
  if (clusters !== undefined) {
    clusterCount = parseNumber(clusters, '--clusters', command);
    if (!Number.isInteger(clusterCount) || clusterCount < 0) {
      throw new UsageError(`--clusters must be an integer >= 0, got ${clusters}; use 0 to drop the merged tokens.`, command);
    }
    if (variant === 'drop' && clusterCount !== 0) {
      throw new UsageError(
        `--variant drop keeps no clusters, but --clusters is ${clusters}; remove --clusters, or choose --variant weighted or mean to merge into ${clusters} clusters.`,
        command,
      );
    }
  }

  /** @type {{ paddedLength?: number }} */
  const reference = {};
  if (variant === 'reference') {
    if (clusterCount < 1) {
      throw new UsageError(`--variant reference merges into at least 1 cluster, but --clusters is ${clusters}; give --clusters 5 as the FCA authors did.`, command);
    }
    if (retentionCounts === undefined) {
      throw new UsageError(
        '--variant reference takes --retention-counts, as the FCA authors\' code does, not --retention fractions; give counts such as --retention-counts 34,28,24,20.',
        command,
      );
    }
    reference.paddedLength = paddedText === undefined ? DEFAULT_PADDED_LENGTH : parseInteger(paddedText, '--padded-length', 2, command);
  } else if (paddedText !== undefined) {
    throw new UsageError(`--padded-length ${paddedText} applies only to --variant reference; remove it or add --variant reference.`, command);
  }

  if (retention !== undefined) {
    const values = parseNumberList(retention, '--retention', command);
    for (const value of values) {
      if (!(value > 0 && value <= 1)) {
        throw new UsageError(`--retention: fraction ${value} is outside (0, 1]; give fractions such as 0.5 or 0.6,0.4,0.3,0.2.`, command);
      }
    }
    return { retention: values.length === 1 ? values[0] : values, clusters: clusterCount, variant };
  }

  const values = parseNumberList(/** @type {string} */ (retentionCounts), '--retention-counts', command);
  for (const value of values) {
    if (!Number.isInteger(value) || value < 1) {
      throw new UsageError(`--retention-counts: ${value} is not an integer >= 1 ([CLS] is always kept).`, command);
    }
  }
  return { retentionCounts: values.length === 1 ? values[0] : values, clusters: clusterCount, variant, ...reference };
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
 * Throws a UsageError for options that the loaded model cannot take: an FCA
 * list of the wrong length, --pooling for a model that is not a BertModel,
 * or a --padded-length beyond the model's position embeddings.
 * @param {{ command: string, fca: { retention?: unknown, retentionCounts?: unknown, paddedLength?: number } | null, pooling?: string | null }} args
 * @param {{ architecture: string, numLayers: number, maxPositionEmbeddings: number }} info
 */
export function checkModelOptions(args, info) {
  checkLayerCount(args.fca, info.numLayers, args.command);
  if (args.command === 'classify' && args.pooling && info.architecture !== 'BertModel') {
    throw new UsageError(
      `--pooling ${args.pooling} applies only to BertModel checkpoints, but this model is a ${info.architecture}; remove --pooling.`,
      'classify',
    );
  }
  const paddedLength = args.fca?.paddedLength;
  if (paddedLength !== undefined && paddedLength > info.maxPositionEmbeddings) {
    throw new UsageError(
      `--padded-length ${paddedLength} exceeds the model's ${info.maxPositionEmbeddings} position embeddings (max_position_embeddings); give at most ${info.maxPositionEmbeddings}.`,
      args.command,
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
      const owner = Object.keys(FLAGS).find((other) => flag in FLAGS[other]);
      const hint = owner ? `; ${flag} is an option of ${owner} only` : '';
      throw new UsageError(`unknown flag ${flag} for ${command}${hint}.`, command);
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
 * Returns `{ retentionFile }` when --retention-file was given, else `{}`.
 * Throws a UsageError when it comes with a flag whose setting the file holds.
 * @param {Record<string, string | true>} values
 * @param {string} command
 */
function parseRetentionFileFlag(values, command) {
  const file = values['--retention-file'];
  if (file === undefined) return {};
  if (file === '' || file === true) throw new UsageError('--retention-file needs a file name, such as --retention-file retention.json.', command);
  const conflict = ['--retention', '--retention-counts', '--clusters', '--variant', '--padded-length'].find((flag) => values[flag] !== undefined);
  if (conflict) {
    throw new UsageError(`--retention-file and ${conflict} were both given; the retention file sets retention, clusters and variant, so drop ${conflict}.`, command);
  }
  return { retentionFile: file };
}

const CALIBRATION_VARIANTS = ['weighted', 'mean', 'drop'];

/**
 * Parses the flags of `calibrate` into
 * `{ command, model, data, output, flopsRatio, clusters, variant, batchSize, maxEvaluations, verbose }`.
 * @param {Record<string, string | true>} values
 */
function parseCalibrateArgs(values) {
  const command = 'calibrate';
  const text = (flag) => /** @type {string | undefined} */ (values[flag]);
  const model = requireValue(values, '--model', command, 'models/sst2-bert-mini');
  const data = requireValue(values, '--data', command, 'calibration.jsonl');
  const output = requireValue(values, '--output', command, 'retention.json');
  const ratioText = requireValue(values, '--flops-ratio', command, '0.5');
  const flopsRatio = parseNumber(ratioText, '--flops-ratio', command);
  if (!(flopsRatio > 0 && flopsRatio <= 1)) {
    throw new UsageError(`--flops-ratio must be in (0, 1] (FCA FLOPs over dense FLOPs), got ${ratioText}; give, for example, 0.5 for half the dense FLOPs.`, command);
  }

  const variant = text('--variant') ?? 'weighted';
  if (!CALIBRATION_VARIANTS.includes(variant)) {
    throw new UsageError(
      `--variant: calibrate searches retention fractions with ${CALIBRATION_VARIANTS.join(', ')}, got ${JSON.stringify(variant)} ('reference' takes retention counts).`,
      command,
    );
  }
  const clustersText = text('--clusters');
  let clusters = variant === 'drop' ? 0 : DEFAULT_CLUSTERS;
  if (clustersText !== undefined) clusters = parseInteger(clustersText, '--clusters', 0, command);
  if (variant === 'drop' && clusters !== 0) {
    throw new UsageError(`--variant drop keeps no clusters, but --clusters is ${clustersText}; remove --clusters, or choose --variant weighted or mean.`, command);
  }

  const batchSize = values['--batch-size'] === undefined ? null : parseInteger(text('--batch-size') ?? '', '--batch-size', 1, command);
  const maxEvaluations =
    values['--max-evaluations'] === undefined ? null : parseInteger(text('--max-evaluations') ?? '', '--max-evaluations', 1, command);
  return { command, model, data, output, flopsRatio, clusters, variant, batchSize, maxEvaluations, verbose: values['--verbose'] === true };
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
    if (topic !== 'main' && !(topic in FLAGS)) throw new UsageError(`unknown command ${JSON.stringify(topic)}; commands: classify, eval, calibrate.`);
    return { command: 'help', topic };
  }
  if (!(first in FLAGS)) {
    const problem = first.startsWith('-') ? `unknown flag ${first}` : `unknown command ${JSON.stringify(first)}`;
    throw new UsageError(`${problem}; commands: classify, eval, calibrate.`);
  }

  const command = first;
  // --help wins over every other flag, even a wrong one, so that it always shows the usage.
  if (rest.includes('--help') || rest.includes('-h')) return { command: 'help', topic: command };
  const values = readFlags(command, rest);
  if (command === 'calibrate') return parseCalibrateArgs(values);
  // main.mjs reads the file and sets `fca` from it before the model runs.
  const retentionFile = parseRetentionFileFlag(values, command);

  const model = requireValue(values, '--model', command, 'models/sst2-bert-mini');
  const text = (flag) => /** @type {string | undefined} */ (values[flag]);
  const fca = parseFcaOptions(
    {
      retention: text('--retention'),
      retentionCounts: text('--retention-counts'),
      clusters: text('--clusters'),
      variant: text('--variant'),
      paddedLength: text('--padded-length'),
    },
    command,
  );
  const batchSize = values['--batch-size'] === undefined ? null : parseInteger(text('--batch-size') ?? '', '--batch-size', 1, command);
  const verbose = values['--verbose'] === true;

  if (command === 'classify') {
    const pooling = text('--pooling') ?? null;
    if (pooling !== null && !POOLING_MODES.includes(pooling)) {
      throw new UsageError(`--pooling: ${JSON.stringify(pooling)} is not a pooling mode; choose ${POOLING_MODES.join(' or ')}.`, command);
    }
    return { command, model, fca, batchSize, trace: values['--trace'] === true, pooling, verbose, ...retentionFile };
  }

  const data = requireValue(values, '--data', command, '../shared/data/glue/SST-2');
  const limit = values['--limit'] === undefined ? null : parseInteger(text('--limit') ?? '', '--limit', 1, command);
  const task = text('--task') ?? null;
  if (task !== null && glueTaskByName(task) === null) {
    throw new UsageError(`--task ${JSON.stringify(task)} is not a GLUE task; use one of ${GLUE_TASK_NAMES.join(', ')}.`, command);
  }
  return { command, model, data, fca, batchSize, json: values['--json'] === true, limit, task, verbose, ...retentionFile };
}
