// JSON lines in and out of `fca-webgpu classify`.
import readline from 'node:readline';

/** Fields of a ClassifyResult that an output line carries, in this order; a regression result adds `score` after `label_id`. */
export const OUTPUT_FIELDS = ['label', 'label_id', 'probabilities', 'logits', 'tokens_per_layer', 'flops', 'truncated'];

/** Fields of a MultipleChoiceResult that an output line carries, in this order. */
export const CHOICE_OUTPUT_FIELDS = ['label', 'label_id', 'probabilities', 'logits', 'tokens_per_layer', 'flops', 'truncated', 'choices'];

/** Fields of each entry of a MultipleChoiceResult's `choices` in an output line. */
export const CHOICE_FIELDS = ['tokens_per_layer', 'flops', 'truncated'];

/** Fields of an EmbedResult that an output line carries, in this order. */
export const EMBEDDING_OUTPUT_FIELDS = ['embedding', 'tokens_per_layer', 'flops', 'truncated'];

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isTokenIdList(value) {
  return Array.isArray(value) && value.every((id) => Number.isSafeInteger(id) && id >= 0);
}

/** Parses a line as JSON and checks that it is an object; returns `{ value }` or `{ error }`. */
function parseObject(line, where, expected) {
  let value;
  try {
    value = JSON.parse(line);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { error: `${where}: invalid JSON (${reason}); write one JSON object per line, such as ${expected}.` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: `${where}: expected a JSON object such as ${expected}, got ${describe(value)}.` };
  }
  return { value };
}

/**
 * Parses a multiple-choice line `{ text, choices }` into the engine's
 * MultipleChoiceInput. Returns `{ input }` or `{ error }`.
 */
function parseChoiceLine(line, lineNumber) {
  const where = `line ${lineNumber}`;
  const example = '{"text": "The sky is", "choices": ["blue", "loud"]}';
  const parsed = parseObject(line, where, example);
  if ('error' in parsed) return parsed;
  const value = parsed.value;

  if (typeof value.text !== 'string') {
    const got = 'text' in value ? `"text" is ${describe(value.text)}` : 'there is no "text"';
    return { error: `${where}: a BertForMultipleChoice model needs a "text" string, but ${got}; write lines such as ${example}.` };
  }
  if (!('choices' in value)) {
    return { error: `${where}: a BertForMultipleChoice model needs "choices", a non-empty array of strings; write lines such as ${example}.` };
  }
  const choices = value.choices;
  if (!Array.isArray(choices) || choices.length === 0 || !choices.every((choice) => typeof choice === 'string')) {
    return { error: `${where}: "choices" must be a non-empty array of strings, got ${JSON.stringify(choices).slice(0, 80)}.` };
  }
  return { input: { text: value.text, choices } };
}

/**
 * Parses one input line into an engine input. For a BertForMultipleChoice
 * model that is `{ text, choices }`; for the other architectures
 * `{ text, text_pair? }` or `{ input_ids, token_type_ids? }`. Returns
 * `{ input }` or `{ error }`, where the error message starts with the line
 * number and names the fix.
 * @param {string} line
 * @param {number} lineNumber 1-based line number in the input
 * @param {string} [architecture] the model's architecture (config.json)
 */
export function parseInputLine(line, lineNumber, architecture = 'BertForSequenceClassification') {
  if (architecture === 'BertForMultipleChoice') return parseChoiceLine(line, lineNumber);

  const where = `line ${lineNumber}`;
  const parsed = parseObject(line, where, '{"text": "a fine film"}');
  if ('error' in parsed) return parsed;
  const value = parsed.value;

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

function pick(result, fields) {
  /** @type {Record<string, unknown>} */
  const line = {};
  for (const field of fields) line[field] = result[field];
  return line;
}

/**
 * Picks the output fields of an engine result, in a fixed order that depends
 * on the architecture: a ClassifyResult (plus `score` for a regression
 * model), a MultipleChoiceResult or an EmbedResult. With `trace` the line
 * also carries the result's `trace` (each choice's, for multiple choice).
 * @param {Record<string, unknown>} result
 * @param {{ architecture?: string, trace?: boolean }} [options]
 */
export function formatResult(result, { architecture = 'BertForSequenceClassification', trace = false } = {}) {
  if (architecture === 'BertForMultipleChoice') {
    const line = pick(result, CHOICE_OUTPUT_FIELDS);
    const choices = /** @type {Record<string, unknown>[]} */ (result.choices ?? []);
    line.choices = choices.map((choice) => pick(choice, trace ? [...CHOICE_FIELDS, 'trace'] : CHOICE_FIELDS));
    return line;
  }
  if (architecture === 'BertModel') {
    const line = pick(result, EMBEDDING_OUTPUT_FIELDS);
    if (trace) line.trace = result.trace;
    return line;
  }

  const fields = result.score === undefined ? OUTPUT_FIELDS : ['label', 'label_id', 'score', ...OUTPUT_FIELDS.slice(2)];
  const line = pick(result, fields);
  if (trace) line.trace = result.trace;
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
