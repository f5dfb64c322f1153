// Readers for GLUE task files (dev.tsv) as the GLUE download script writes
// them: tab-separated, no quoting, one example per line.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Layout of each GLUE task's dev.tsv. Tasks with a header name their columns;
 * CoLA has no header and is read by position. `regression` tasks have a
 * real-valued score instead of a class label.
 * @type {Record<string, { header: string[] | null, columns: number, text: string | number, textPair: string | number | null, label: string | number, regression: boolean }>}
 */
export const GLUE_TASKS = {
  'SST-2': { header: ['sentence', 'label'], columns: 2, text: 'sentence', textPair: null, label: 'label', regression: false },
  CoLA: { header: null, columns: 4, text: 3, textPair: null, label: 1, regression: false },
  MRPC: {
    header: ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'],
    columns: 5,
    text: '#1 String',
    textPair: '#2 String',
    label: 'Quality',
    regression: false,
  },
  RTE: { header: ['index', 'sentence1', 'sentence2', 'label'], columns: 4, text: 'sentence1', textPair: 'sentence2', label: 'label', regression: false },
  WNLI: { header: ['index', 'sentence1', 'sentence2', 'label'], columns: 4, text: 'sentence1', textPair: 'sentence2', label: 'label', regression: false },
  QNLI: { header: ['index', 'question', 'sentence', 'label'], columns: 4, text: 'question', textPair: 'sentence', label: 'label', regression: false },
  QQP: {
    header: ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'],
    columns: 6,
    text: 'question1',
    textPair: 'question2',
    label: 'is_duplicate',
    regression: false,
  },
  'STS-B': {
    header: ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2', 'score'],
    columns: 10,
    text: 'sentence1',
    textPair: 'sentence2',
    label: 'score',
    regression: true,
  },
};

export const GLUE_TASK_NAMES = Object.keys(GLUE_TASKS);

/** Error for a dev set that cannot be read; the message names the file, the line and the fix. */
export class DataError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'DataError';
  }
}

/** Folds a task name for comparison: "sst2", "SST-2" and "sst_2" are the same task. */
function foldName(name) {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Returns the canonical GLUE task name for a user-given name or folder name, or null. */
export function glueTaskByName(name) {
  const folded = foldName(name);
  return GLUE_TASK_NAMES.find((task) => foldName(task) === folded) ?? null;
}

/** Splits a file into lines without line ends, dropping a UTF-8 byte order mark (MRPC starts with one). */
export function splitTsvLines(text) {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

function sameHeader(fields, header) {
  return fields.length === header.length && fields.every((field, i) => field === header[i]);
}

/**
 * Returns the GLUE task of a dev.tsv: the `task` option when given, else the
 * folder name (SST-2, CoLA, ...), else the header line. Throws when none matches.
 * @param {{ task?: string | null, folderName: string, firstLine: string }} where
 */
export function detectGlueTask({ task, folderName, firstLine }) {
  if (task) {
    const named = glueTaskByName(task);
    if (!named) throw new DataError(`unknown GLUE task ${JSON.stringify(task)}; use one of ${GLUE_TASK_NAMES.join(', ')}.`);
    return named;
  }
  const fromFolder = glueTaskByName(folderName);
  if (fromFolder) return fromFolder;

  const fields = firstLine.replace(/^\uFEFF/, '').split('\t');
  const matches = GLUE_TASK_NAMES.filter((name) => {
    const header = GLUE_TASKS[name].header;
    return header !== null && sameHeader(fields, header);
  });
  // RTE and WNLI share a header and a layout, so either name reads the file the same way.
  if (matches.length > 0) return matches[0];
  // CoLA has no header: source, label (0 or 1), original acceptability mark, sentence.
  if (fields.length === 4 && (fields[1] === '0' || fields[1] === '1')) return 'CoLA';
  const jsonLines = firstLine.trimStart().startsWith('{') ? ' The file looks like JSON lines; eval reads a GLUE dev.tsv, and classify reads JSON lines.' : '';
  throw new DataError(
    `cannot tell the GLUE task of folder ${JSON.stringify(folderName)} from its name or from the file's first line ${JSON.stringify(firstLine.slice(0, 80))}; ` +
      `name the folder after the task or pass --task (${GLUE_TASK_NAMES.join(', ')}).${jsonLines}`,
  );
}

function columnIndex(spec, header) {
  return typeof spec === 'number' ? spec : header.indexOf(spec);
}

/**
 * Parses the text of a GLUE dev.tsv into examples `{ lineNumber, text, textPair, label }`
 * (textPair is null for single-sentence tasks, label is the raw label field).
 * Throws on a wrong header or a row with the wrong number of columns, naming the line.
 * @param {string} text
 * @param {string} task a key of GLUE_TASKS
 */
export function parseGlueTsv(text, task) {
  const layout = GLUE_TASKS[task];
  if (!layout) throw new DataError(`unknown GLUE task ${JSON.stringify(task)}; use one of ${GLUE_TASK_NAMES.join(', ')}.`);
  const lines = splitTsvLines(text);

  let first = 0;
  if (layout.header) {
    const fields = (lines[0] ?? '').split('\t');
    if (!sameHeader(fields, layout.header)) {
      throw new DataError(
        `line 1: expected the ${task} header ${JSON.stringify(layout.header.join('\t'))}, got ${JSON.stringify(lines[0] ?? '')}; ` +
          'check the file, or pass --task with the right task.',
      );
    }
    first = 1;
  }
  const header = layout.header ?? [];
  const textColumn = columnIndex(layout.text, header);
  const pairColumn = layout.textPair === null ? -1 : columnIndex(layout.textPair, header);
  const labelColumn = columnIndex(layout.label, header);

  const examples = [];
  for (let i = first; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    const fields = line.split('\t');
    if (fields.length !== layout.columns) {
      throw new DataError(`line ${i + 1}: expected ${layout.columns} tab-separated columns for ${task}, got ${fields.length}.`);
    }
    examples.push({
      lineNumber: i + 1,
      text: fields[textColumn],
      textPair: pairColumn === -1 ? null : fields[pairColumn],
      label: fields[labelColumn].trim(),
    });
  }
  return examples;
}

/**
 * Maps a dev.tsv label to the model's label id: a non-negative integer is an id,
 * anything else must be one of the model's label names (RTE writes "entailment").
 * Throws naming the line and the model's labels when neither matches.
 * @param {string} label
 * @param {string[]} labels the model's label names in id order
 * @param {number} lineNumber
 */
export function resolveLabelId(label, labels, lineNumber) {
  if (/^\d+$/.test(label)) {
    const id = Number(label);
    if (id < labels.length) return id;
    throw new DataError(
      `line ${lineNumber}: label id ${id} is out of range for a model with ${labels.length} labels (${labels.join(', ')}); ` +
        'check that the model was trained for this task.',
    );
  }
  const id = labels.indexOf(label);
  if (id !== -1) return id;
  throw new DataError(
    `line ${lineNumber}: label ${JSON.stringify(label)} is neither a label id nor one of the model's labels (${labels.join(', ')}); ` +
      'check that the model was trained for this task.',
  );
}

/**
 * Reads and parses the dev set at `dataPath`: a folder containing dev.tsv, or a
 * .tsv file. Returns `{ task, file, examples }`.
 * @param {string} dataPath
 * @param {string | null} task
 */
export async function readGlueDevSet(dataPath, task) {
  let info;
  try {
    info = await stat(dataPath);
  } catch {
    throw new DataError(`--data ${dataPath} does not exist; give a GLUE task folder that contains dev.tsv.`);
  }
  const file = info.isDirectory() ? path.join(dataPath, 'dev.tsv') : dataPath;
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new DataError(`${file} was not found; --data must be a GLUE task folder that contains dev.tsv, or a .tsv file.`);
  }
  const folderName = path.basename(path.dirname(path.resolve(file)));
  const firstLine = splitTsvLines(text)[0] ?? '';
  const detected = detectGlueTask({ task, folderName, firstLine });
  try {
    return { task: detected, file, examples: parseGlueTsv(text, detected) };
  } catch (error) {
    throw new DataError(`${file}, ${error instanceof Error ? error.message : String(error)}`);
  }
}
