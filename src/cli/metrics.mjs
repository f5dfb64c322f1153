// GLUE metrics and FLOPs summaries for `fca-webgpu eval`. Pure: no I/O.

/**
 * Metrics reported for each GLUE task, in table order. The first one is the
 * task's headline metric (the one GLUE ranks by, or the first of its pair).
 */
export const TASK_METRICS = {
  'SST-2': ['accuracy'],
  CoLA: ['matthews', 'accuracy'],
  MRPC: ['f1', 'accuracy'],
  QQP: ['f1', 'accuracy'],
  RTE: ['accuracy'],
  WNLI: ['accuracy'],
  QNLI: ['accuracy'],
  'STS-B': ['pearson', 'spearman'],
};

/** Column titles of the eval table, by metric key. */
const METRIC_TITLES = { accuracy: 'accuracy', f1: 'F1', matthews: 'Matthews', pearson: 'Pearson', spearman: 'Spearman' };

function checkLengths(golds, predictions) {
  if (golds.length !== predictions.length) {
    throw new Error(`got ${golds.length} gold values but ${predictions.length} predictions; pass one prediction per example.`);
  }
  if (golds.length === 0) throw new Error('no examples were given, so the metric is undefined.');
}

/** Fraction of predictions equal to the gold label. */
export function accuracy(golds, predictions) {
  checkLengths(golds, predictions);
  let correct = 0;
  for (let i = 0; i < golds.length; i++) if (golds[i] === predictions[i]) correct++;
  return correct / golds.length;
}

/**
 * Matthews correlation coefficient of label ids, in the multiclass form
 * (c s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2)(s^2 - sum_k t_k^2)), with
 * s examples, c correct, and p_k, t_k the predicted and true counts of class k.
 * For two classes this is the usual (TP TN - FP FN) / sqrt(...). Returns 0 when
 * the denominator is 0 (a constant prediction or a single gold class), as
 * scikit-learn does.
 */
export function matthewsCorrelation(golds, predictions) {
  checkLengths(golds, predictions);
  const trueCounts = new Map();
  const predictedCounts = new Map();
  let correct = 0;
  for (let i = 0; i < golds.length; i++) {
    trueCounts.set(golds[i], (trueCounts.get(golds[i]) ?? 0) + 1);
    predictedCounts.set(predictions[i], (predictedCounts.get(predictions[i]) ?? 0) + 1);
    if (golds[i] === predictions[i]) correct++;
  }

  const samples = golds.length;
  let agreement = 0;
  for (const [label, count] of predictedCounts) agreement += count * (trueCounts.get(label) ?? 0);
  let predictedSquares = 0;
  for (const count of predictedCounts.values()) predictedSquares += count * count;
  let trueSquares = 0;
  for (const count of trueCounts.values()) trueSquares += count * count;

  const denominator = Math.sqrt((samples * samples - predictedSquares) * (samples * samples - trueSquares));
  if (denominator === 0) return 0;
  return (correct * samples - agreement) / denominator;
}

/**
 * F1 score of the class `positive`: 2 TP / (2 TP + FP + FN). Returns 0 when
 * that class is neither predicted nor gold (the denominator is 0), as
 * scikit-learn does by default.
 */
export function f1Score(golds, predictions, positive) {
  checkLengths(golds, predictions);
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  for (let i = 0; i < golds.length; i++) {
    const gold = golds[i] === positive;
    const predicted = predictions[i] === positive;
    if (gold && predicted) truePositives++;
    else if (predicted) falsePositives++;
    else if (gold) falseNegatives++;
  }
  const denominator = 2 * truePositives + falsePositives + falseNegatives;
  return denominator === 0 ? 0 : (2 * truePositives) / denominator;
}

/**
 * Pearson correlation of two equally long series. Returns null when it is
 * undefined: fewer than 2 values, or a series that is constant.
 */
export function pearsonCorrelation(xs, ys) {
  checkLengths(xs, ys);
  const count = xs.length;
  if (count < 2) return null;
  const meanX = xs.reduce((sum, x) => sum + x, 0) / count;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / count;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let i = 0; i < count; i++) {
    const dx = xs[i] - meanX;
    const dy = ys[i] - meanY;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  if (varianceX === 0 || varianceY === 0) return null;
  return covariance / Math.sqrt(varianceX * varianceY);
}

/**
 * Ranks values from 1 in ascending order. Tied values share the mean of the
 * ranks they span, so [10, 20, 10] ranks as [1.5, 3, 1.5].
 */
export function averageRanks(values) {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start + 1;
    while (end < order.length && order[end].value === order[start].value) end++;
    // Positions start..end-1 hold ranks start+1..end; their mean is (start + 1 + end) / 2.
    const rank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) ranks[order[i].index] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman rank correlation: the Pearson correlation of average ranks. Null when undefined (see pearsonCorrelation). */
export function spearmanCorrelation(xs, ys) {
  checkLengths(xs, ys);
  return pearsonCorrelation(averageRanks(xs), averageRanks(ys));
}

/**
 * Computes the metrics of TASK_METRICS[task] from gold values and
 * predictions: label ids for classification tasks, scores for STS-B.
 * `positiveLabelId` is the class whose F1 is reported (MRPC and QQP).
 * @param {string} task
 * @param {number[]} golds
 * @param {number[]} predictions
 * @param {{ positiveLabelId?: number }} [options]
 * @returns {Record<string, number | null>}
 */
export function taskMetrics(task, golds, predictions, { positiveLabelId = 1 } = {}) {
  const names = TASK_METRICS[task];
  if (!names) throw new Error(`no metrics are defined for task ${JSON.stringify(task)}; use one of ${Object.keys(TASK_METRICS).join(', ')}.`);
  /** @type {Record<string, number | null>} */
  const metrics = {};
  for (const name of names) {
    if (name === 'accuracy') metrics.accuracy = accuracy(golds, predictions);
    else if (name === 'matthews') metrics.matthews = matthewsCorrelation(golds, predictions);
    else if (name === 'f1') metrics.f1 = f1Score(golds, predictions, positiveLabelId);
    else if (name === 'pearson') metrics.pearson = pearsonCorrelation(predictions, golds);
    else if (name === 'spearman') metrics.spearman = spearmanCorrelation(predictions, golds);
  }
  return metrics;
}

/**
 * Summarizes an evaluation. Each record contains the gold value (a label id,
 * or a score for STS-B) and the dense and (when FCA options were given) FCA
 * results `{ prediction, flops }`. Without FCA results the FCA figures are the
 * dense ones and the ratio is 1. The FLOPs ratio is total FCA FLOPs over total
 * dense FLOPs, not a mean of per-example ratios. `accuracy` and
 * `dense_accuracy` are null for a task without accuracy (STS-B).
 * @param {{ gold: number, dense: { prediction: number, flops: number }, fca: { prediction: number, flops: number } | null }[]} records
 * @param {{ task?: string, positiveLabelId?: number }} [options] task defaults to SST-2
 */
export function summarizeEval(records, { task = 'SST-2', positiveLabelId = 1 } = {}) {
  if (records.length === 0) throw new Error('no examples were evaluated, so there is nothing to summarize.');
  const count = records.length;
  const hasFca = records[0].fca !== null;
  const golds = [];
  const densePredictions = [];
  const fcaPredictions = [];
  let denseFlops = 0;
  let fcaFlops = 0;

  for (const record of records) {
    if ((record.fca !== null) !== hasFca) throw new Error('either every record or none must have FCA results.');
    const fca = record.fca ?? record.dense;
    golds.push(record.gold);
    densePredictions.push(record.dense.prediction);
    fcaPredictions.push(fca.prediction);
    denseFlops += record.dense.flops;
    fcaFlops += fca.flops;
  }

  const metrics = taskMetrics(task, golds, fcaPredictions, { positiveLabelId });
  const denseMetrics = taskMetrics(task, golds, densePredictions, { positiveLabelId });
  const hasAccuracy = TASK_METRICS[task].includes('accuracy');
  return {
    examples: count,
    accuracy: hasAccuracy ? accuracy(golds, fcaPredictions) : null,
    mean_flops: fcaFlops / count,
    dense_mean_flops: denseFlops / count,
    flops_ratio: denseFlops === 0 ? 1 : fcaFlops / denseFlops,
    dense_accuracy: hasAccuracy ? accuracy(golds, densePredictions) : null,
    metrics,
    dense_metrics: denseMetrics,
  };
}

function formatList(value) {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * Describes FCA options for a table row, such as "FCA retention 0.5, K=2" or
 * "FCA retention counts 34,28, K=5, reference, length 64".
 */
export function describeFca(fca) {
  if (!fca) return 'dense';
  const retention =
    fca.retention !== undefined ? `retention ${formatList(fca.retention)}` : `retention counts ${formatList(fca.retentionCounts)}`;
  const variant = fca.variant ?? 'weighted';
  if (variant === 'drop') return `FCA ${retention}, K=0, drop`;
  const base = `FCA ${retention}, K=${fca.clusters}`;
  if (variant === 'mean') return `${base}, mean`;
  if (variant === 'reference') return `${base}, reference, length ${fca.paddedLength}`;
  return base;
}

/** Formats a FLOPs count with an SI prefix: 76.1 MFLOPs, 11.0 GFLOPs. */
export function formatFlops(flops) {
  if (flops >= 1e9) return `${(flops / 1e9).toFixed(2)} GFLOPs`;
  if (flops >= 1e6) return `${(flops / 1e6).toFixed(1)} MFLOPs`;
  return `${Math.round(flops)} FLOPs`;
}

/** Formats one metric for the table: accuracy and F1 as percentages, correlations with 4 decimals, n/a when undefined. */
export function formatMetric(name, value) {
  if (value === null || value === undefined) return 'n/a';
  if (name === 'accuracy' || name === 'f1') return `${(value * 100).toFixed(2)}%`;
  return value.toFixed(4);
}

/**
 * Formats a summary from summarizeEval as a text table with the task's
 * metrics: a dense row and, when `fca` is given, an FCA row.
 * @param {ReturnType<typeof summarizeEval>} summary
 * @param {{ task: string, fca: object | null }} context
 */
export function formatEvalTable(summary, { task, fca }) {
  const names = Object.keys(summary.dense_metrics);
  const rows = [['pass', ...names.map((name) => METRIC_TITLES[name] ?? name), 'mean FLOPs', 'FLOPs / dense']];
  rows.push([
    'dense',
    ...names.map((name) => formatMetric(name, summary.dense_metrics[name])),
    formatFlops(summary.dense_mean_flops),
    '1.000',
  ]);
  if (fca) {
    rows.push([
      describeFca(fca),
      ...names.map((name) => formatMetric(name, summary.metrics[name])),
      formatFlops(summary.mean_flops),
      summary.flops_ratio.toFixed(3),
    ]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const lines = rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]))).join('  '));
  return [`${task} dev, ${summary.examples} examples`, ...lines].join('\n');
}
