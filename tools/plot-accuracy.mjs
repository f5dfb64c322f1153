#!/usr/bin/env node
// Draws SST-2 dev accuracy against the FLOPs ratio as a plain SVG file, from
// the results that calib/run-accuracy.sh collects.
//
// Usage: node tools/plot-accuracy.mjs [RESULTS_JSON] [OUTPUT_SVG]
//   defaults: calib/accuracy-results.json and docs/accuracy.svg
//
// RESULTS_JSON is an array of entries { name, model, calibration, eval }, where
// eval is the object that `fca-webgpu eval --json` prints (accuracy,
// dense_accuracy, flops_ratio, examples) and calibration is the retention file
// the setting came from (clusters, retention). For a setting given as flags,
// calibration is null and the cluster count comes from eval_command's
// --clusters flag.
import { readFileSync, writeFileSync } from 'node:fs';

const [resultsPath = 'calib/accuracy-results.json', outputPath = 'docs/accuracy.svg'] = process.argv.slice(2);

const WIDTH = 800;
const HEIGHT = 480;
const MARGIN = { left: 70, right: 240, top: 40, bottom: 60 };
const MODEL_LABELS = {
  mini: 'sst2-bert-mini',
  distilled: 'sst2-bert-mini-fca-distilled',
  'distilled-v1': 'sst2-bert-mini-fca-distilled v1',
  'shared-fca': 'sst2-bert-mini-fca',
  'k1-tuned': 'runs/k1-r0.01 (seed 2)',
  'k1-tuned-seed3': 'runs/k1-r0.01-seed3',
};
const FINE_TUNED_MODELS = new Set(['distilled', 'distilled-v1', 'shared-fca', 'k1-tuned', 'k1-tuned-seed3']);

/** Reads the cluster count of an entry from its retention file or its eval command. */
function clustersOf(entry) {
  if (entry.calibration) return entry.calibration.clusters;
  const match = /--clusters (\d+)/.exec(entry.eval_command ?? '');
  if (!match) throw new Error(`entry "${entry.name}" has no calibration file and no --clusters flag in eval_command, so its cluster count is unknown. Add one of them.`);
  return Number(match[1]);
}

/** Groups the entries into plotted series: per model, one for dropping (K = 0) and one for FCA (K >= 1). */
function buildSeries(results) {
  const series = new Map();
  const denseByModel = new Map();
  for (const entry of results) {
    const { accuracy, dense_accuracy: denseAccuracy, flops_ratio: flopsRatio } = entry.eval;
    if (typeof accuracy !== 'number' || typeof flopsRatio !== 'number') {
      throw new Error(`entry "${entry.name}" is missing eval.accuracy or eval.flops_ratio. Rerun its eval with --json.`);
    }
    denseByModel.set(entry.model, denseAccuracy);
    const clusters = clustersOf(entry);
    // All cluster counts K >= 1 of a model form one FCA curve, each point labelled with its K.
    const method = clusters === 0 ? 'dropping (K=0)' : 'FCA (K labelled)';
    const fineTuned = FINE_TUNED_MODELS.has(entry.model) ? 'fine-tuned, ' : '';
    const key = `${MODEL_LABELS[entry.model] ?? entry.model}, ${fineTuned}${method}`;
    if (!series.has(key)) series.set(key, { key, model: entry.model, dropping: clusters === 0, points: [] });
    series.get(key).points.push({ x: flopsRatio, y: accuracy * 100, clusters });
  }
  for (const s of series.values()) s.points.sort((a, b) => a.x - b.x);
  return { series: [...series.values()], denseByModel };
}

const escapeXml = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Returns the SVG text of the plot. */
function renderSvg(series, denseByModel) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const allY = [...series.flatMap((s) => s.points.map((p) => p.y)), ...[...denseByModel.values()].map((a) => a * 100)];
  const yMin = Math.floor(Math.min(...allY) - 0.5);
  const yMax = Math.ceil(Math.max(...allY) + 0.5);
  const xMin = 0.1;
  const xMax = 1.0;
  const sx = (x) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const sy = (y) => MARGIN.top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight;

  const lines = [];
  lines.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  lines.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  lines.push(`<text x="${MARGIN.left + plotWidth / 2}" y="22" text-anchor="middle" font-size="14">SST-2 dev accuracy (872 sentences) vs encoder FLOPs ratio, fca-webgpu eval</text>`);

  // Grid and axes.
  for (let x = 0.1; x <= xMax + 1e-9; x += 0.1) {
    lines.push(`<line x1="${sx(x)}" y1="${MARGIN.top}" x2="${sx(x)}" y2="${MARGIN.top + plotHeight}" stroke="#e5e5e5"/>`);
    lines.push(`<text x="${sx(x)}" y="${MARGIN.top + plotHeight + 18}" text-anchor="middle">${x.toFixed(1)}</text>`);
  }
  for (let y = yMin; y <= yMax; y += 1) {
    lines.push(`<line x1="${MARGIN.left}" y1="${sy(y)}" x2="${MARGIN.left + plotWidth}" y2="${sy(y)}" stroke="#e5e5e5"/>`);
    lines.push(`<text x="${MARGIN.left - 8}" y="${sy(y) + 4}" text-anchor="end">${y}%</text>`);
  }
  lines.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`);
  lines.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 18}" text-anchor="middle">FLOPs ratio on dev (FCA encoder FLOPs / dense encoder FLOPs)</text>`);
  lines.push(`<text transform="translate(18 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">dev accuracy</text>`);

  // The first model's target zone: within 1 point of its dense accuracy, at a FLOPs ratio <= 0.20.
  const [[firstModel, firstDense]] = [...denseByModel.entries()];
  const bandTop = sy(firstDense * 100);
  const bandBottom = sy(firstDense * 100 - 1);
  lines.push(`<rect x="${MARGIN.left}" y="${bandTop}" width="${plotWidth}" height="${bandBottom - bandTop}" fill="#000" fill-opacity="0.05"/>`);
  lines.push(`<line x1="${sx(0.2)}" y1="${MARGIN.top}" x2="${sx(0.2)}" y2="${MARGIN.top + plotHeight}" stroke="#999" stroke-dasharray="2 3"/>`);
  lines.push(`<text x="${sx(0.2) + 4}" y="${MARGIN.top + plotHeight - 6}" fill="#666">0.20</text>`);
  lines.push(`<text x="${MARGIN.left + plotWidth - 4}" y="${bandBottom - 4}" text-anchor="end" fill="#666">${escapeXml(MODEL_LABELS[firstModel] ?? firstModel)} dense - 1 point</text>`);

  const legend = [];
  const palette = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

  // Dense accuracy: a dashed line for the first model, hollow circles at ratio 1 for the fine-tuned ones.
  [...denseByModel.entries()].forEach(([model, accuracy], index) => {
    const y = sy(accuracy * 100);
    if (index === 0) {
      lines.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotWidth}" y2="${y}" stroke="#000" stroke-dasharray="5 4"/>`);
      lines.push(`<circle cx="${sx(1)}" cy="${y}" r="4" fill="#000"/>`);
      legend.push({ label: `${MODEL_LABELS[model] ?? model}, dense`, color: '#000', dashed: true });
    } else {
      lines.push(`<circle cx="${sx(1)}" cy="${y}" r="4" fill="none" stroke="#777" stroke-width="1.5"/>`);
    }
  });
  if (denseByModel.size > 1) legend.push({ label: 'fine-tuned models, dense (at 1.0)', color: '#777', hollow: true });

  series.forEach((s, index) => {
    const color = palette[index % palette.length];
    const path = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    if (s.points.length > 1) lines.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of s.points) {
      const marker =
        s.dropping
          ? `<rect x="${sx(p.x) - 4}" y="${sy(p.y) - 4}" width="8" height="8" fill="${color}"/>`
          : `<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="4.5" fill="${color}"/>`;
      lines.push(marker);
      if (!s.dropping) lines.push(`<text x="${sx(p.x) + 7}" y="${sy(p.y) - 6}" fill="${color}">K=${p.clusters}</text>`);
    }
    legend.push({ label: s.key, color, square: s.dropping });
  });

  // Legend to the right of the plot, wrapped at the first comma.
  let ly = MARGIN.top + 6;
  const lx = MARGIN.left + plotWidth + 14;
  for (const item of legend) {
    if (item.dashed) lines.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${item.color}" stroke-dasharray="5 4"/>`);
    else if (item.hollow) lines.push(`<circle cx="${lx + 9}" cy="${ly}" r="4" fill="none" stroke="${item.color}" stroke-width="1.5"/>`);
    else if (item.square) lines.push(`<rect x="${lx + 5}" y="${ly - 4}" width="8" height="8" fill="${item.color}"/>`);
    else lines.push(`<circle cx="${lx + 9}" cy="${ly}" r="4.5" fill="${item.color}"/>`);
    const [first, ...rest] = item.label.split(', ');
    lines.push(`<text x="${lx + 24}" y="${ly + 4}">${escapeXml(first)}</text>`);
    if (rest.length > 0) lines.push(`<text x="${lx + 24}" y="${ly + 18}">${escapeXml(rest.join(', '))}</text>`);
    ly += 38;
  }
  lines.push('</svg>');
  return lines.join('\n') + '\n';
}

const results = JSON.parse(readFileSync(resultsPath, 'utf8'));
if (!Array.isArray(results) || results.length === 0) {
  throw new Error(`${resultsPath} must contain a non-empty JSON array of results. Run calib/run-accuracy.sh first.`);
}
const { series, denseByModel } = buildSeries(results);
writeFileSync(outputPath, renderSvg(series, denseByModel));
console.log(`wrote ${outputPath}: ${series.length} series, ${results.length} points`);
