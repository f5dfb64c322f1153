// `fca-webgpu eval`: accuracy and FLOPs of dense and FCA passes on a GLUE dev set.
import { classifyWithFallback } from './batch.mjs';
import { CHUNK_SIZE, writeText } from './classify.mjs';
import { formatEvalTable, summarizeEval } from './metrics.mjs';
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
 * Checks that accuracy is defined for this task and model, then returns the
 * gold label id of each example. Throws EvalError otherwise.
 * @param {{ task: string, file: string, examples: { label: string, lineNumber: number }[] }} devSet
 * @param {string[]} labels
 */
export function goldLabelIds(devSet, labels) {
  if (GLUE_TASKS[devSet.task].regression) {
    throw new EvalError(`${devSet.task} is a regression task (a similarity score), and eval measures classification accuracy only.`);
  }
  if (labels.length < 2) {
    throw new EvalError(`the model has ${labels.length} label(s); eval needs a classifier with at least 2 labels (id2label in config.json).`);
  }
  try {
    return devSet.examples.map((example) => resolveLabelId(example.label, labels, example.lineNumber));
  } catch (error) {
    throw new EvalError(`${devSet.file}, ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Picks the fields a summary needs from a ClassifyResult. */
function scored(result) {
  return { label_id: /** @type {number} */ (result.label_id), flops: /** @type {number} */ (result.flops) };
}

/**
 * Evaluates the dev set and prints a table, or with --json one JSON object.
 * Returns the exit status: 1 when any example failed (failures are left out
 * of the figures and listed on stderr), else 0.
 * @param {{ fca: object | null, json: boolean, limit: number | null }} args
 * @param {{ info: { labels: string[] }, classify: (inputs: unknown[], options: object) => Promise<Record<string, unknown>[]> }} session
 * @param {{ task: string, file: string, examples: { text: string, textPair: string | null, label: string, lineNumber: number }[] }} devSet
 * @param {{ stdout: NodeJS.WritableStream, log: (message: string) => void, verbose: boolean, progress: boolean }} io
 */
export async function runEval(args, session, devSet, io) {
  const examples = args.limit === null ? devSet.examples : devSet.examples.slice(0, args.limit);
  const golds = goldLabelIds({ ...devSet, examples }, session.info.labels);
  const records = [];
  let failed = 0;

  for (let start = 0; start < examples.length; start += CHUNK_SIZE) {
    const chunk = examples.slice(start, start + CHUNK_SIZE);
    const inputs = chunk.map((example) =>
      example.textPair === null ? { text: example.text } : { text: example.text, text_pair: example.textPair },
    );
    const dense = await classifyWithFallback(inputs, (items) => session.classify(items, {}));
    const fca = args.fca ? await classifyWithFallback(inputs, (items) => session.classify(items, args.fca ?? {})) : null;

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
        labelId: golds[start + i],
        dense: scored(/** @type {{ result: Record<string, unknown> }} */ (denseOutcome).result),
        fca: fcaOutcome ? scored(/** @type {{ result: Record<string, unknown> }} */ (fcaOutcome).result) : null,
      });
    });
    if (io.progress) io.log(`evaluated ${Math.min(start + CHUNK_SIZE, examples.length)} of ${examples.length} examples`);
  }

  if (records.length === 0) throw new EvalError(`all ${examples.length} examples of ${devSet.file} failed; see the errors above.`);
  const summary = summarizeEval(records);
  const text = args.json ? JSON.stringify({ task: devSet.task, ...summary }) : formatEvalTable(summary, { task: devSet.task, fca: args.fca });
  await writeText(io.stdout, text + '\n');

  if (failed > 0) {
    io.log(`${failed} of ${examples.length} examples failed and are left out of the figures above.`);
    return 1;
  }
  return 0;
}
