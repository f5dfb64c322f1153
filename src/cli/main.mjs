// Entry point of the fca-webgpu command line: parses arguments, checks the
// model folder and Chromium, opens the browser session and runs a command.
// Exit status: 0 success, 1 a failed input or run, 2 a usage error.
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumInstallHint, findChromium } from '../../tools/chromium.mjs';
import { HELP, UsageError, checkModelOptions, parseArgs } from './args.mjs';
import { EngineError, errorText } from './batch.mjs';
import { checkRetentionFileLayers, prepareCalibrate, readRetentionFileOption, runCalibrate } from './calibrate.mjs';
import { runClassify, writeText } from './classify.mjs';
import { EvalError, runEval } from './eval.mjs';
import { openSession, SessionError } from './session.mjs';
import { DataError, readGlueDevSet } from './tsv.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Throws a UsageError unless `dir` is a folder with a config.json. */
async function checkModelDir(dir, command) {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new UsageError(`--model ${dir} does not exist; give a Hugging Face model folder such as models/sst2-bert-mini.`, command);
  }
  if (!info.isDirectory()) {
    throw new UsageError(`--model ${dir} is not a folder; give the folder that contains config.json, not a file in it.`, command);
  }
  try {
    await stat(path.join(dir, 'config.json'));
  } catch {
    throw new UsageError(
      `--model ${dir} has no config.json; a model folder contains config.json, model.safetensors and tokenizer.json or vocab.txt.`,
      command,
    );
  }
}

/** Throws a UsageError unless `dataPath` exists. */
async function checkDataPath(dataPath, command) {
  try {
    await stat(dataPath);
  } catch {
    throw new UsageError(`--data ${dataPath} does not exist; give a GLUE task folder that contains dev.tsv, such as ../shared/data/glue/SST-2.`, command);
  }
}

function packageVersion() {
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  return String(manifest.version);
}

/**
 * Runs the command line and returns the exit status.
 * @param {string[]} argv arguments after the script name
 * @param {{ stdin: NodeJS.ReadableStream, stdout: NodeJS.WritableStream & { isTTY?: boolean }, stderr: NodeJS.WritableStream & { isTTY?: boolean } }} io
 */
export async function main(argv, { stdin, stdout, stderr }) {
  const log = (message) => {
    stderr.write(`fca-webgpu: ${message}\n`);
  };
  // A closed stdout (`| head`) fails the pending write, which ends the run; without a listener it would crash the process.
  stdout.on('error', () => {});

  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    log(error.message);
    log(`run "fca-webgpu ${error.command ? `${error.command} ` : ''}--help" for usage.`);
    return 2;
  }
  if (args.command === 'help') {
    await writeText(stdout, HELP[args.topic] + '\n');
    return 0;
  }
  if (args.command === 'version') {
    await writeText(stdout, packageVersion() + '\n');
    return 0;
  }

  let session = null;
  try {
    const modelDir = path.resolve(args.model);
    await checkModelDir(modelDir, args.command);
    if (args.retentionFile !== undefined) args.fca = await readRetentionFileOption(args.retentionFile, args.command);
    const calibration = args.command === 'calibrate' ? await prepareCalibrate(args) : null;
    let devSet = null;
    if (args.command === 'eval') {
      const dataPath = path.resolve(args.data);
      await checkDataPath(dataPath, args.command);
      devSet = await readGlueDevSet(dataPath, args.task);
    }

    let chromiumPath;
    try {
      chromiumPath = findChromium();
    } catch (error) {
      log(error instanceof Error ? error.message : String(error));
      return 1;
    }
    if (!chromiumPath) {
      log(chromiumInstallHint());
      return 1;
    }

    session = await openSession({ modelDir, chromiumPath, log, verbose: args.verbose });
    checkRetentionFileLayers(args, session.info.numLayers);
    checkModelOptions(args, session.info);

    if (args.command === 'classify') {
      return await runClassify(args, session, { stdin, stdout, log, verbose: args.verbose });
    }
    const progress = args.verbose || stderr.isTTY === true;
    if (args.command === 'calibrate') {
      return await runCalibrate(args, session, /** @type {NonNullable<typeof calibration>} */ (calibration), { stdout, log, progress });
    }
    return await runEval(args, session, /** @type {NonNullable<typeof devSet>} */ (devSet), { stdout, log, verbose: args.verbose, progress });
  } catch (error) {
    if (error instanceof UsageError) {
      log(error.message);
      log(`run "fca-webgpu ${error.command} --help" for usage.`);
      return 2;
    }
    if (error instanceof EngineError && error.name === 'RetentionError') {
      log(`invalid FCA options: ${error.message}`);
      return 2;
    }
    if (error instanceof EngineError) {
      log(errorText(error));
      return 1;
    }
    if (error instanceof SessionError || error instanceof EvalError || error instanceof DataError) {
      log(error.message);
      return 1;
    }
    if (error instanceof Error && /** @type {NodeJS.ErrnoException} */ (error).code === 'EPIPE') {
      log('stdout was closed before all results were written.');
      return 1;
    }
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    await session?.close();
  }
}
