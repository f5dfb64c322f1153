// Accuracy and FLOPs summaries for `fca-webgpu eval`.

/**
 * Summarizes an evaluation. Each record contains the gold label id and the dense
 * and (when FCA options were given) FCA results `{ label_id, flops }`.
 * Without FCA results the FCA figures are the dense ones and the ratio is 1.
 * The FLOPs ratio is total FCA FLOPs over total dense FLOPs, not a mean of
 * per-example ratios.
 * @param {{ labelId: number, dense: { label_id: number, flops: number }, fca: { label_id: number, flops: number } | null }[]} records
 */
export function summarizeEval(records) {
  if (records.length === 0) throw new Error('no examples were evaluated, so there is nothing to summarize.');
  const count = records.length;
  let denseCorrect = 0;
  let denseFlops = 0;
  let fcaCorrect = 0;
  let fcaFlops = 0;
  const hasFca = records[0].fca !== null;

  for (const record of records) {
    if ((record.fca !== null) !== hasFca) throw new Error('either every record or none must have FCA results.');
    if (record.dense.label_id === record.labelId) denseCorrect++;
    denseFlops += record.dense.flops;
    const fca = record.fca ?? record.dense;
    if (fca.label_id === record.labelId) fcaCorrect++;
    fcaFlops += fca.flops;
  }

  return {
    examples: count,
    accuracy: fcaCorrect / count,
    mean_flops: fcaFlops / count,
    dense_mean_flops: denseFlops / count,
    flops_ratio: denseFlops === 0 ? 1 : fcaFlops / denseFlops,
    dense_accuracy: denseCorrect / count,
  };
}

function formatList(value) {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** Describes FCA options for a table row, such as "FCA retention 0.5, K=2". */
export function describeFca(fca) {
  if (!fca) return 'dense';
  const retention =
    fca.retention !== undefined ? `retention ${formatList(fca.retention)}` : `retention counts ${formatList(fca.retentionCounts)}`;
  return `FCA ${retention}, K=${fca.clusters}`;
}

/** Formats a FLOPs count with an SI prefix: 76.1 MFLOPs, 11.0 GFLOPs. */
export function formatFlops(flops) {
  if (flops >= 1e9) return `${(flops / 1e9).toFixed(2)} GFLOPs`;
  if (flops >= 1e6) return `${(flops / 1e6).toFixed(1)} MFLOPs`;
  return `${Math.round(flops)} FLOPs`;
}

function formatPercent(fraction) {
  return `${(fraction * 100).toFixed(2)}%`;
}

/**
 * Formats a summary from summarizeEval as a text table with a dense row and,
 * when `fca` is given, an FCA row.
 * @param {ReturnType<typeof summarizeEval>} summary
 * @param {{ task: string, fca: object | null }} context
 */
export function formatEvalTable(summary, { task, fca }) {
  const rows = [['pass', 'accuracy', 'mean FLOPs', 'FLOPs / dense']];
  rows.push(['dense', formatPercent(summary.dense_accuracy), formatFlops(summary.dense_mean_flops), '1.000']);
  if (fca) {
    rows.push([describeFca(fca), formatPercent(summary.accuracy), formatFlops(summary.mean_flops), summary.flops_ratio.toFixed(3)]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]))).join('  '));
  return [`${task} dev, ${summary.examples} examples`, ...lines].join('\n');
}
