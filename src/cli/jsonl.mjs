// JSON lines in and out of `fca-webgpu classify`.
import readline from 'node:readline';

/** Fields of ClassifyResult that an output line carries, in this order. */
export const OUTPUT_FIELDS = ['label', 'label_id', 'probabilities', 'logits', 'tokens_per_layer', 'flops', 'truncated'];

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isTokenIdList(value) {
  return Array.isArray(value) && value.every((id) => Number.isSafeInteger(id) && id >= 0);
}

/**
 * Parses one input line into an engine input: `{ text, text_pair? }` or
 * `{ input_ids, token_type_ids? }`. Returns `{ input }` or `{ error }`, where
 * the error message starts with the line number and names the fix.
 * @param {string} line
 * @param {number} lineNumber 1-based line number in the input
 */
export function parseInputLine(line, lineNumber) {
  const where = `line ${lineNumber}`;
  let value;
  try {
    value = JSON.parse(line);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { error: `${where}: invalid JSON (${reason}); write one JSON object per line, such as {"text": "a fine film"}.` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: `${where}: expected a JSON object with "text" or "input_ids", got ${describe(value)}.` };
  }

  if ('input_ids' in value) {
    const ids = value.input_ids;
    if (!isTokenIdList(ids) || ids.length === 0) {
      return { error: `${where}: "input_ids" must be a non-empty array of non-negative integer token ids, got ${JSON.stringify(ids).slice(0, 80)}.` };
    }
    const types = value.token_type_ids;
    if (types === undefined || types === null) return { input: { input_ids: ids } };
    if (!isTokenIdList(types)) {
      return { error: `${where}: "token_type_ids" must be an array of non-negative integers, got ${JSON.stringify(types).slice(0, 80)}.` };
    }
    if (types.length !== ids.length) {
      return {
        error: `${where}: "token_type_ids" has ${types.length} entries but "input_ids" has ${ids.length}; give one token type per token id.`,
      };
    }
    return { input: { input_ids: ids, token_type_ids: types } };
  }

  if (!('text' in value)) {
    return { error: `${where}: the object has neither "text" nor "input_ids"; add one, such as {"text": "a fine film"}.` };
  }
  if (typeof value.text !== 'string') {
    return { error: `${where}: "text" must be a string, got ${describe(value.text)}.` };
  }
  const pair = value.text_pair;
  if (pair === undefined || pair === null) return { input: { text: value.text } };
  if (typeof pair !== 'string') {
    return { error: `${where}: "text_pair" must be a string or null, got ${describe(pair)}.` };
  }
  return { input: { text: value.text, text_pair: pair } };
}

/** Picks the output fields of a ClassifyResult, in a fixed order. */
export function formatResult(result) {
  /** @type {Record<string, unknown>} */
  const line = {};
  for (const field of OUTPUT_FIELDS) line[field] = result[field];
  return line;
}

/**
 * Reads non-blank lines from a stream and hands them out in chunks. Each
 * `next()` returns the lines that arrived since the last call, at least one
 * and at most `maxChunk`. A slow consumer thus gets full chunks, and an
 * interactive user gets a result per line. `next()` returns null at the end
 * of the input. Reading pauses while `highWaterMark` lines are waiting.
 * @param {NodeJS.ReadableStream} input
 * @param {{ maxChunk?: number, highWaterMark?: number }} [options]
 */
export function createLineReader(input, { maxChunk = 64, highWaterMark = 1024 } = {}) {
  const lines = readline.createInterface({ input, crlfDelay: Infinity, terminal: false });
  /** @type {{ line: string, lineNumber: number }[]} */
  const queue = [];
  let lineNumber = 0;
  let closed = false;
  let paused = false;
  /** @type {unknown} */
  let failure = null;
  /** @type {(() => void) | null} */
  let wake = null;

  const notify = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  lines.on('line', (line) => {
    lineNumber++;
    const text = lineNumber === 1 ? line.replace(/^\uFEFF/, '') : line;
    if (text.trim() !== '') queue.push({ line: text, lineNumber });
    if (queue.length >= highWaterMark && !paused) {
      paused = true;
      lines.pause();
    }
    notify();
  });
  lines.on('close', () => {
    closed = true;
    notify();
  });
  input.on('error', (error) => {
    failure = error;
    closed = true;
    notify();
  });

  return {
    /** @returns {Promise<{ line: string, lineNumber: number }[] | null>} */
    async next() {
      while (queue.length === 0 && !closed) {
        await new Promise((resolve) => {
          wake = /** @type {() => void} */ (resolve);
        });
      }
      if (queue.length === 0) {
        if (failure) throw failure;
        return null;
      }
      const chunk = queue.splice(0, maxChunk);
      if (paused && queue.length < highWaterMark / 2) {
        paused = false;
        lines.resume();
      }
      return chunk;
    },
    close() {
      lines.close();
    },
  };
}
