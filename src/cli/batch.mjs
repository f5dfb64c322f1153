// Classifying a chunk of inputs so that one bad input fails only its own line.

/** Error thrown by the engine inside the page, carried back to Node by name and message. */
export class EngineError extends Error {
  /** @param {string} name engine error class, such as InputError @param {string} message */
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

/**
 * Engine errors after which no later input can succeed, so the run stops.
 * RetentionError is not among them, because the 'reference' variant raises it
 * for an input longer than its padded length. The commands check the options
 * with checkRunOptions before the first input, so an invalid option still
 * stops the run.
 */
export const FATAL_ERROR_NAMES = new Set(['DeviceError', 'ModelLoadError']);

/**
 * Validates run options in the engine without running an input: `run` with
 * no inputs resolves the FCA options and returns nothing, so an invalid
 * option throws its EngineError (a RetentionError) here.
 * @param {(inputs: unknown[], options: object) => Promise<unknown[]>} run
 * @param {object} options
 */
export async function checkRunOptions(run, options) {
  await run([], options);
}

/**
 * Returns true when an error ends the run: a fatal engine error, or anything
 * that did not come from the engine (a closed browser, a crashed page, a broken pipe).
 */
export function isFatal(error) {
  return !(error instanceof EngineError) || FATAL_ERROR_NAMES.has(error.name);
}

/** Formats an error for an output line: "InputError: ..." or, for a plain Error, the message. */
export function errorText(error) {
  if (!(error instanceof Error)) return String(error);
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
}

/**
 * Classifies `inputs` with one call to `classify`. When that call throws a
 * non-fatal error, classifies the inputs one at a time so that each failing
 * input gets its own error. Returns `{ result }` or `{ error }` per input, in
 * order. Fatal errors (see isFatal) propagate.
 * @template I, R
 * @param {I[]} inputs
 * @param {(inputs: I[]) => Promise<R[]>} classify
 * @returns {Promise<({ result: R } | { error: string })[]>}
 */
export async function classifyWithFallback(inputs, classify) {
  if (inputs.length === 0) return [];
  try {
    const results = await classify(inputs);
    checkCount(results, inputs.length);
    return results.map((result) => ({ result }));
  } catch (error) {
    if (isFatal(error)) throw error;
    if (inputs.length === 1) return [{ error: errorText(error) }];
  }

  /** @type {({ result: R } | { error: string })[]} */
  const outcomes = [];
  for (const input of inputs) {
    try {
      const results = await classify([input]);
      checkCount(results, 1);
      outcomes.push({ result: results[0] });
    } catch (error) {
      if (isFatal(error)) throw error;
      outcomes.push({ error: errorText(error) });
    }
  }
  return outcomes;
}

function checkCount(results, expected) {
  if (!Array.isArray(results) || results.length !== expected) {
    const got = Array.isArray(results) ? `${results.length} results` : String(results);
    throw new Error(`the engine returned ${got} for ${expected} inputs; expected one result per input.`);
  }
}

/**
 * Turns a chunk of parsed input lines into output lines. Lines that failed to
 * parse keep their error; the others are classified with classifyWithFallback.
 * Returns `{ lineNumber, output, failed }` per line, in order, where `output` is
 * the object to print: the picked result fields or `{ error }`.
 * @param {({ lineNumber: number, input: unknown } | { lineNumber: number, error: string })[]} parsed
 * @param {(inputs: unknown[]) => Promise<Record<string, unknown>[]>} classify
 * @param {(result: Record<string, unknown>) => Record<string, unknown>} format
 */
export async function classifyLines(parsed, classify, format) {
  const valid = parsed.filter((entry) => 'input' in entry);
  const outcomes = await classifyWithFallback(
    valid.map((entry) => /** @type {{ input: unknown }} */ (entry).input),
    classify,
  );

  let next = 0;
  return parsed.map((entry) => {
    if ('error' in entry) return { lineNumber: entry.lineNumber, output: { error: entry.error }, failed: true };
    const outcome = outcomes[next++];
    if ('error' in outcome) {
      return { lineNumber: entry.lineNumber, output: { error: `line ${entry.lineNumber}: ${outcome.error}` }, failed: true };
    }
    return { lineNumber: entry.lineNumber, output: format(outcome.result), failed: false };
  });
}
