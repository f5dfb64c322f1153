// `fca-webgpu calibrate`: searches per-layer retention fractions for a FLOPs
// budget on unlabeled JSON lines and writes a retention file. Also reads
// retention files for `classify --retention-file` and `eval --retention-file`.
//
// The search (src/fca/calibrate.ts) and the file format
// (src/fca/retention-file.ts) are TypeScript modules shared with the engine.
// Node loads them through vite's module runner. The search runs here in Node
// and only the model passes run in the page, through session.run.
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './args.mjs';
import { EngineError } from './batch.mjs';
import { buildRunOptions, writeText } from './classify.mjs';
import { parseInputLine } from './jsonl.mjs';
import { DataError } from './tsv.mjs';
import { importDependency } from '../../tools/dependency.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Invalid input lines listed in full before the rest are only counted. */
const LISTED_LINE_ERRORS = 10;

/**
 * Imports a TypeScript module of src/fca in Node with vite's module runner
 * (vite 6 and later). The modules import only each other, so no plugin is needed.
 * @param {string} name file name inside src/fca, such as 'calibrate.ts'
 */
async function importFcaModule(name) {
  const { runnerImport } = await importDependency('vite');
  const { module } = await runnerImport(path.join(repoRoot, 'src/fca', name), {
    configFile: false,
    root: repoRoot,
    logLevel: 'error',
    cacheDir: path.join(repoRoot, 'node_modules/.vite-cli'),
  });
  return module;
}

/**
 * Reads a retention file for --retention-file and returns its FCA options as
 * the CLI passes them to the engine (`variant` always set). Throws a
 * UsageError naming the file and the invalid field.
 * @param {string} file
 * @param {string} command
 */
export async function readRetentionFileOption(file, command) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = /** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT' ? 'does not exist' : `cannot be read (${errorMessage(error)})`;
    throw new UsageError(`--retention-file ${file} ${reason}; give a file written by "fca-webgpu calibrate --output".`, command);
  }
  const { parseRetentionFile } = await importFcaModule('retention-file.ts');
  try {
    const options = parseRetentionFile(text, `--retention-file ${file}`);
    return { ...options, variant: options.variant ?? 'weighted' };
  } catch (error) {
    if (error instanceof Error && error.name === 'RetentionFileError') throw new UsageError(error.message, command);
    throw error;
  }
}

/**
 * Throws a UsageError when the retention file given with --retention-file has
 * a retention list whose length is not the model's layer count.
 * @param {{ command: string, retentionFile?: string, fca: { retention?: unknown } | null }} args
 * @param {number} numLayers
 */
export function checkRetentionFileLayers(args, numLayers) {
  if (args.retentionFile === undefined || !Array.isArray(args.fca?.retention)) return;
  const count = args.fca.retention.length;
  if (count !== numLayers) {
    throw new UsageError(
      `--retention-file ${args.retentionFile} has ${count} retention values but the model has ${numLayers} layers; calibrate a retention file for this model.`,
      args.command,
    );
  }
}

/**
 * Checks the calibrate arguments that need the file system, before the browser
 * starts: reads the input lines of --data and checks that the folder of
 * --output exists. Returns `{ file, inputs, lineNumbers }`.
 * Throws UsageError for a missing file or folder, DataError for invalid lines.
 * @param {{ data: string, output: string }} args
 */
export async function prepareCalibrate(args) {
  const outputDir = path.dirname(path.resolve(args.output));
  const isFolder = await stat(outputDir).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!isFolder) {
    throw new UsageError(`--output ${args.output}: the folder ${outputDir} does not exist; create it or write the file elsewhere.`, 'calibrate');
  }
  return readCalibrationInputs(path.resolve(args.data));
}

/**
 * Reads calibration inputs, one JSON object per line as for classify:
 * {"text", "text_pair"?} or {"input_ids", "token_type_ids"?}. Blank lines are
 * skipped. Returns `{ file, inputs, lineNumbers }`.
 * @param {string} file
 */
export async function readCalibrationInputs(file) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = /** @type {NodeJS.ErrnoException} */ (error).code === 'ENOENT' ? 'does not exist' : `cannot be read (${errorMessage(error)})`;
    throw new UsageError(`--data ${file} ${reason}; give a JSON lines file of calibration inputs, such as {"text": "a fine film"} per line.`, 'calibrate');
  }

  /** @type {unknown[]} */
  const inputs = [];
  /** @type {number[]} */
  const lineNumbers = [];
  /** @type {string[]} */
  const errors = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((line, index) => {
      if (line.trim() === '') return;
      const parsed = parseInputLine(line, index + 1);
      if ('error' in parsed) {
        errors.push(parsed.error);
        return;
      }
      inputs.push(parsed.input);
      lineNumbers.push(index + 1);
    });

  if (errors.length > 0 && inputs.length === 0 && text.split('\n', 1)[0].includes('\t')) {
    throw new DataError(
      `${file} looks like a tab-separated file, not JSON lines; calibrate reads one JSON object per line, such as {"text": "a fine film"}. ` +
        `For a GLUE dev.tsv, keep its sentence column, for example: tail -n +2 dev.tsv | cut -f1 | jq -cR '{text: .}' > texts.jsonl`,
    );
  }
  if (errors.length > 0) {
    const listed = errors.slice(0, LISTED_LINE_ERRORS).join('\n  ');
    const more = errors.length > LISTED_LINE_ERRORS ? `\n  and ${errors.length - LISTED_LINE_ERRORS} more` : '';
    throw new DataError(`${file}: ${errors.length} of ${errors.length + inputs.length} input lines are invalid; fix them and run again:\n  ${listed}${more}`);
  }
  if (inputs.length === 0) {
    throw new DataError(`${file} has no input lines; write one JSON object per line, such as {"text": "a fine film"}.`);
  }
  return { file, inputs, lineNumbers };
}

/**
 * Runs the calibration and writes the retention file to --output. Returns the
 * exit status, 0. A budget below the lowest reachable FLOPs ratio is a
 * UsageError; engine errors propagate, with an input's line number added.
 * @param {{ flopsRatio: number, clusters: number, variant: string, batchSize: number | null, maxEvaluations: number | null, output: string }} args
 * @param {{ info: { architecture: string, regression: boolean, numLayers: number, hiddenSize: number, intermediateSize: number }, run: (inputs: unknown[], options: object) => Promise<Record<string, unknown>[]> }} session
 * @param {{ file: string, inputs: unknown[], lineNumbers: number[] }} data
 * @param {{ stdout: NodeJS.WritableStream, log: (message: string) => void, progress: boolean }} io
 */
export async function runCalibrate(args, session, data, io) {
  const { info } = session;
  if (info.architecture !== 'BertForSequenceClassification' || info.regression) {
    const kind = info.regression ? 'a regression model (one output)' : `a ${info.architecture}`;
    throw new UsageError(`calibrate compares label predictions, so it needs a BertForSequenceClassification with labels, but this model is ${kind}.`, 'calibrate');
  }
  const { calibrateClassifier } = await importFcaModule('calibrate.ts');
  const { formatRetentionFile, retentionFileFromCalibration } = await importFcaModule('retention-file.ts');

  /** @param {object | null} fca */
  const classify = async (fca) => {
    try {
      return await session.run(data.inputs, buildRunOptions({ fca, batchSize: args.batchSize }));
    } catch (error) {
      throw withLineNumber(error, data);
    }
  };

  if (io.progress) io.log(`dense pass over ${data.inputs.length} inputs`);
  const dense = await classify(null);
  const inputLengths = dense.map((result) => /** @type {string[]} */ (result.tokens).length);

  let result;
  try {
    result = await calibrateClassifier({
      numLayers: info.numLayers,
      inputLengths,
      flopsShape: { hiddenSize: info.hiddenSize, intermediateSize: info.intermediateSize },
      targetRatio: args.flopsRatio,
      clusters: args.clusters,
      variant: args.variant,
      maxEvaluations: args.maxEvaluations ?? undefined,
      dense,
      classify,
      onProgress: io.progress ? (step) => io.log(formatStep(step)) : undefined,
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'CalibrationError') {
      throw new UsageError(`--flops-ratio ${args.flopsRatio}: ${error.message}`, 'calibrate');
    }
    throw error;
  }

  await writeFile(args.output, formatRetentionFile(retentionFileFromCalibration(result)));
  await writeText(io.stdout, formatCalibration(result, args.output) + '\n');
  return 0;
}

/** Describes one evaluated schedule for a progress line. */
function formatStep(step) {
  const best = step.best ? ' (best so far)' : '';
  return (
    `evaluation ${step.evaluation} (${step.stage}): retention ${step.retention.join(',')}, FLOPs ratio ${step.flops_ratio.toFixed(4)}, ` +
    `agreement ${formatPercent(step.agreement)}, KL ${step.kl.toPrecision(3)}${best}`
  );
}

/**
 * Formats a calibration result for stdout: the setting, as flags too, and how
 * it scored.
 * @param {{ retention: number[], clusters: number, variant?: string, flops_ratio: number, target_flops_ratio: number, texts: number, agreement: number, kl: number, evaluations: number }} result
 * @param {string} output
 */
export function formatCalibration(result, output) {
  const retention = result.retention.join(',');
  const variant = result.variant ?? 'weighted';
  const variantFlag = variant === 'weighted' ? '' : ` --variant ${variant}`;
  return [
    `retention ${retention}, K=${result.clusters}, variant ${variant}`,
    `FLOPs ratio ${result.flops_ratio.toFixed(4)} (target ${result.target_flops_ratio}) on ${result.texts} inputs`,
    `agreement with the dense labels ${formatPercent(result.agreement)}, mean KL(dense || FCA) ${result.kl.toPrecision(3)}`,
    `${result.evaluations} schedules evaluated; wrote ${output}`,
    `same as: --retention ${retention} --clusters ${result.clusters}${variantFlag}, or --retention-file ${output}`,
  ].join('\n');
}

function formatPercent(fraction) {
  return `${(fraction * 100).toFixed(2)}%`;
}

function errorMessage(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Adds the input file's line number to an engine error about one input: the
 * engine names it by its index ("input 3: ..."), counting only non-blank lines.
 * @param {unknown} error
 * @param {{ file: string, lineNumbers: number[] }} data
 */
function withLineNumber(error, data) {
  if (!(error instanceof EngineError)) return error;
  const match = /^input (\d+): /.exec(error.message);
  const lineNumber = match ? data.lineNumbers[Number(match[1])] : undefined;
  if (lineNumber === undefined) return error;
  return new EngineError(error.name, `${data.file} line ${lineNumber}: ${error.message.slice(match[0].length)}`);
}
