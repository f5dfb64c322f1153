// `fca-webgpu eval`: GLUE dev-set metrics and FLOPs of dense and FCA passes.
import { checkRunOptions, classifyWithFallback } from './batch.mjs';
import { CHUNK_SIZE, buildRunOptions, writeText } from './classify.mjs';
import { TASK_METRICS, formatEvalTable, summarizeEval } from './metrics.mjs';
import { GLUE_TASKS, resolveLabelId } from './tsv.mjs';

/** Error for a dev set that the model cannot be evaluated on; the CLI prints it and exits with status 1. */
export class EvalError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'EvalError';
  }
}

/**
 * Label id of the positive class for F1 (MRPC: paraphrase, QQP: duplicate).
 * Those dev sets write gold label ids, and resolveLabelId keeps an id as it is.
 */
const POSITIVE_LABEL_ID = 1;

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/** Parses STS-B gold scores, which must be finite numbers. */
function goldScores(devSet) {
  return devSet.examples.map((example) => {
    const score = Number(example.label);
    if (example.label === '' || !Number.isFinite(score)) {
      throw new EvalError(`${devSet.file}, line ${example.lineNumber}: gold score ${JSON.stringify(example.label)} is not a number; ${devSet.task} scores are numbers from 0 to 5.`);
    }
    return score;
  });
}

/** Maps class labels to the model's label ids, with a hint when a label name is missing from id2label. */
function goldLabelIds(devSet, labels) {
  return devSet.examples.map((example) => {
    if (!/^\d+$/.test(example.label) && !labels.includes(example.label)) {
      throw new EvalError(
        `${devSet.file}, line ${example.lineNumber}: ${devSet.task} label ${JSON.stringify(example.label)} is not one of the model's labels ` +
          `(id2label in config.json: ${labels.join(', ')}), so it cannot be mapped to a label id; ` +
          `evaluate a model trained for ${devSet.task}, whose id2label names its labels.`,
      );
    }
    try {
      return resolveLabelId(example.label, labels, example.lineNumber);
    } catch (error) {
      throw new EvalError(`${devSet.file}, ${messageOf(error)}`);
    }
  });
}

/**
 * Checks that the task's metrics are defined for this model, then returns
 * the gold value of each example (a label id, or a score for a regression
 * task) and the label id of the positive class for F1. Throws EvalError
 * otherwise.
 * @param {{ task: string, file: string, examples: { label: string, lineNumber: number }[] }} devSet
 * @param {{ architecture: string, labels: string[], regression: boolean }} info
 * @returns {{ golds: number[], positiveLabelId: number }}
 */
export function goldValues(devSet, info) {
  const { task } = devSet;
  if (!TASK_METRICS[task]) throw new EvalError(`eval has no metrics for task ${JSON.stringify(task)}; use one of ${Object.keys(TASK_METRICS).join(', ')}.`);
  if (info.architecture !== 'BertForSequenceClassification') {
    throw new EvalError(`eval needs a BertForSequenceClassification model trained for ${task}, but this model is a ${info.architecture}; run it with "fca-webgpu classify" instead.`);
  }

  if (GLUE_TASKS[task].regression) {
    if (!info.regression) {
      throw new EvalError(
        `${task} is a regression task (a similarity score from 0 to 5), but the model is a classifier with ${info.labels.length} labels; ` +
          'evaluate a regression model (num_labels 1, or problem_type "regression" in config.json).',
      );
    }
    return { golds: goldScores(devSet), positiveLabelId: 0 };
  }

  if (info.regression) {
    throw new EvalError(`${task} is a classification task, but the model is a regression model (one output); evaluate a classifier trained for ${task}.`);
  }
  if (info.labels.length < 2) {
    throw new EvalError(`the model has ${info.labels.length} label(s); eval needs a classifier with at least 2 labels (id2label in config.json).`);
  }
  return { golds: goldLabelIds(devSet, info.labels), positiveLabelId: POSITIVE_LABEL_ID };
}

/** Picks the prediction and FLOPs from a ClassifyResult: the score of a regression model, else the label id. */
function scored(result, regression) {
  return {
    prediction: /** @type {number} */ (regression ? result.score : result.label_id),
    flops: /** @type {number} */ (result.flops),
  };
}

/**
 * Evaluates the dev set and prints a table, or with --json one JSON object.
 * Returns the exit status: 1 when any example failed (failures are left out
 * of the figures and listed on stderr), else 0.
 * @param {{ fca: object | null, json: boolean, limit: number | null, batchSize: number | null }} args
 * @param {{ info: { architecture: string, labels: string[], regression: boolean }, run: (inputs: unknown[], options: object) => Promise<Record<string, unknown>[]> }} session
 * @param {{ task: string, file: string, examples: { text: string, textPair: string | null, label: string, lineNumber: number }[] }} devSet
 * @param {{ stdout: NodeJS.WritableStream, log: (message: string) => void, verbose: boolean, progress: boolean }} io
 */
export async function runEval(args, session, devSet, io) {
  const examples = args.limit === null ? devSet.examples : devSet.examples.slice(0, args.limit);
  const { golds, positiveLabelId } = goldValues({ ...devSet, examples }, session.info);
  const regression = session.info.regression;
  const denseOptions = buildRunOptions({ fca: null, batchSize: args.batchSize });
  const fcaOptions = args.fca ? buildRunOptions({ fca: args.fca, batchSize: args.batchSize }) : null;
  if (fcaOptions) await checkRunOptions((inputs, settings) => session.run(inputs, settings), fcaOptions);
  const records = [];
  let failed = 0;

  for (let start = 0; start < examples.length; start += CHUNK_SIZE) {
    const chunk = examples.slice(start, start + CHUNK_SIZE);
    const inputs = chunk.map((example) =>
      example.textPair === null ? { text: example.text } : { text: example.text, text_pair: example.textPair },
    );
    const dense = await classifyWithFallback(inputs, (items) => session.run(items, denseOptions));
    const fca = fcaOptions ? await classifyWithFallback(inputs, (items) => session.run(items, fcaOptions)) : null;

    chunk.forEach((example, i) => {
      const denseOutcome = dense[i];
      const fcaOutcome = fca ? fca[i] : null;
      let error = null;
      if ('error' in denseOutcome) error = denseOutcome.error;
      else if (fcaOutcome && 'error' in fcaOutcome) error = fcaOutcome.error;
      if (error !== null) {
        failed++;
        io.log(`${devSet.file} line ${example.lineNumber}: ${error}`);
        return;
      }
      records.push({
        gold: golds[start + i],
        dense: scored(/** @type {{ result: Record<string, unknown> }} */ (denseOutcome).result, regression),
        fca: fcaOutcome ? scored(/** @type {{ result: Record<string, unknown> }} */ (fcaOutcome).result, regression) : null,
      });
    });
    if (io.progress) io.log(`evaluated ${Math.min(start + CHUNK_SIZE, examples.length)} of ${examples.length} examples`);
  }

  if (records.length === 0) throw new EvalError(`all ${examples.length} examples of ${devSet.file} failed; see the errors above.`);
  const summary = summarizeEval(records, { task: devSet.task, positiveLabelId });
  const text = args.json ? JSON.stringify({ task: devSet.task, ...summary }) : formatEvalTable(summary, { task: devSet.task, fca: args.fca });
  await writeText(io.stdout, text + '\n');

  if (failed > 0) {
    io.log(`${failed} of ${examples.length} examples failed and are left out of the figures above.`);
    return 1;
  }
  return 0;
}
