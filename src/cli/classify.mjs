// `fca-webgpu classify`: JSON lines from stdin to JSON lines on stdout, for
// every architecture the engine runs.
import { checkRunOptions, classifyLines } from './batch.mjs';
import { createLineReader, formatResult, parseInputLine } from './jsonl.mjs';

/** Input lines sent to the page per classify call. */
export const CHUNK_SIZE = 64;

/** Writes text and waits until the stream accepted it, so a slow reader slows the run instead of filling memory. */
export function writeText(stream, text) {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve(undefined)));
  });
}

function listLines(lineNumbers) {
  const listed = lineNumbers.slice(0, 10).join(', ');
  return lineNumbers.length > 10 ? `${listed} and ${lineNumbers.length - 10} more` : listed;
}

/**
 * Builds the engine's run options from the parsed command line: the FCA
 * options, and `batchSize`, `trace` and `pooling` when they were given.
 * @param {{ fca: object | null, batchSize?: number | null, trace?: boolean, pooling?: string | null }} args
 * @returns {Record<string, unknown>}
 */
export function buildRunOptions({ fca, batchSize = null, trace = false, pooling = null }) {
  /** @type {Record<string, unknown>} */
  const options = { ...(fca ?? {}) };
  if (batchSize !== null) options.batchSize = batchSize;
  if (trace) options.trace = true;
  if (pooling !== null) options.pooling = pooling;
  return options;
}

/**
 * Runs the model on every line of `stdin` and writes one output line per
 * input. The model's architecture sets the fields of both lines (see
 * parseInputLine and formatResult in jsonl.mjs). Returns the exit status: 0
 * when every line succeeded, 1 otherwise. Fatal engine errors propagate (see
 * isFatal in batch.mjs).
 * @param {{ fca: object | null, batchSize: number | null, trace: boolean, pooling: string | null }} args
 * @param {{ info: { architecture: string }, run: (inputs: unknown[], options: object) => Promise<Record<string, unknown>[]> }} session
 * @param {{ stdin: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, log: (message: string) => void, verbose: boolean }} io
 */
export async function runClassify(args, session, io) {
  const options = buildRunOptions(args);
  const architecture = session.info.architecture;
  const format = (result) => formatResult(result, { architecture, trace: args.trace });
  await checkRunOptions((inputs, settings) => session.run(inputs, settings), options);
  const reader = createLineReader(io.stdin, { maxChunk: CHUNK_SIZE });
  /** @type {number[]} */
  const failedLines = [];
  let total = 0;

  for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) {
    const parsed = chunk.map(({ line, lineNumber }) => ({ lineNumber, ...parseInputLine(line, lineNumber, architecture) }));
    const lines = await classifyLines(parsed, (inputs) => session.run(inputs, options), format);
    for (const line of lines) {
      if (line.failed) failedLines.push(line.lineNumber);
    }
    total += lines.length;
    await writeText(io.stdout, lines.map((line) => JSON.stringify(line.output) + '\n').join(''));
    if (io.verbose) io.log(`ran ${total} inputs`);
  }

  if (failedLines.length > 0) {
    io.log(`${failedLines.length} of ${total} inputs failed (${failedLines.length === 1 ? 'line' : 'lines'} ${listLines(failedLines)}); their output lines hold "error".`);
    return 1;
  }
  return 0;
}
