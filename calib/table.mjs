// Prints the results table and the command list of ACCURACY.md from
// calib/accuracy-results.json. Differences are to the dense accuracy of
// sst2-bert-mini, which every eval run of that model measures itself.
// Usage: node calib/table.mjs
import { readFileSync } from 'node:fs';

const MODEL_NAMES = {
  mini: 'sst2-bert-mini',
  distilled: 'sst2-bert-mini-fca-distilled',
  'distilled-v1': 'sst2-bert-mini-fca-distilled, earlier checkpoint',
  'shared-fca': 'sst2-bert-mini-fca',
  'k1-tuned': 'sst2-bert-mini fine-tuned at K = 1, seed 2 (runs/k1-r0.01, not shipped)',
  'k1-tuned-seed3': 'sst2-bert-mini fine-tuned at K = 1, seed 3 (runs/k1-r0.01-seed3, not shipped)',
};
const MODEL_ORDER = ['mini', 'distilled', 'distilled-v1', 'shared-fca', 'k1-tuned', 'k1-tuned-seed3'];

/** Entries whose setting came from flags but is not the model's training setting. */
const FLAG_SETTINGS = {
  'distilled-k0-r0.01': 'lowest setting (one fine token per layer), not its training setting',
  'distilled-k1-r0.01': 'lowest setting (one fine token per layer), not its training setting',
};

const results = JSON.parse(readFileSync('calib/accuracy-results.json', 'utf8'));
const describe = (entry) => {
  const clusters = entry.calibration ? entry.calibration.clusters : Number(/--clusters (\d+)/.exec(entry.eval_command)[1]);
  const retention = entry.calibration ? entry.calibration.retention : /--retention (\S+)/.exec(entry.eval_command)[1].split(',').map(Number);
  return { ...entry, clusters, retention };
};
const entries = results.map(describe).sort(
  (a, b) =>
    MODEL_ORDER.indexOf(a.model) - MODEL_ORDER.indexOf(b.model) ||
    Math.min(a.clusters, 1) - Math.min(b.clusters, 1) ||
    a.clusters - b.clusters ||
    b.eval.flops_ratio - a.eval.flops_ratio,
);

const base = results.find((r) => r.model === 'mini').eval;
const baseCorrect = Math.round(base.dense_accuracy * base.examples);
const percent = (correct, total) => `${((correct / total) * 100).toFixed(2)}% (${correct}/${total})`;
/** Formats a difference with an explicit sign, ± for zero. */
function signed(value, digits) {
  let sign = '±';
  if (value > 0) sign = '+';
  if (value < 0) sign = '-';
  return sign + Math.abs(value).toFixed(digits);
}

const rows = [
  '| # | model | method | K | retention fractions per layer | target (ratio on calibration texts) | FLOPs ratio on dev | dev accuracy | vs dense sst2-bert-mini: points (sentences) | dense accuracy of this model |',
  '|---|---|---|---|---|---|---|---|---|---|',
  `| 0 | sst2-bert-mini | dense | - | 1 | - | 1.000 | ${percent(baseCorrect, base.examples)} | 0 (0) | ${percent(baseCorrect, base.examples)} |`,
];
const commands = [];
entries.forEach((entry, index) => {
  const number = index + 1;
  const { examples, accuracy, dense_accuracy: denseAccuracy, flops_ratio: flopsRatio } = entry.eval;
  const correct = Math.round(accuracy * examples);
  const denseCorrect = Math.round(denseAccuracy * examples);
  const method = entry.clusters === 0 ? 'dropping' : 'FCA';
  const origin = originOf(entry);
  const target = entry.calibration?.calibration ? `${entry.calibration.calibration.target_flops_ratio} (${entry.calibration.flops_ratio.toFixed(3)})` : '-';
  const difference = `${signed(((correct - baseCorrect) / examples) * 100, 2)} (${signed(correct - baseCorrect, 0)})`;
  rows.push(
    `| ${number} | ${MODEL_NAMES[entry.model]} | ${method}, ${origin} | ${entry.clusters} | ${entry.retention.join(', ')} | ${target} | ` +
      `${flopsRatio.toFixed(3)} | ${percent(correct, examples)} | ${difference} | ${percent(denseCorrect, examples)} |`,
  );
  if (entry.calibration && origin === 'calibrated') {
    const calibration = entry.calibration.calibration;
    commands.push(`# ${number}: calibration agreement ${(calibration.agreement * 100).toFixed(2)}% on ${calibration.texts} texts`);
    commands.push(calibrateCommand(entry));
  } else {
    commands.push(`# ${number}`);
  }
  commands.push(entry.eval_command.replace(/^node bin\/fca-webgpu\.mjs/, 'npx fca-webgpu'));
  commands.push('');
});

/** Names where an entry's setting came from. */
function originOf(entry) {
  const file = entry.calibration_file;
  if (file === null) return FLAG_SETTINGS[entry.name] ?? 'own training setting';
  if (file.endsWith('/retention.json')) return 'own training setting (its retention.json)';
  if (file.startsWith(`calib/${entry.model}-`)) return 'calibrated';
  return `calibrated for sst2-bert-mini (${file})`;
}

/** Returns the calibrate command that wrote a calibrated entry's retention file. */
function calibrateCommand(entry) {
  if (!entry.calibrate_command) throw new Error(`entry ${entry.name} has no calibrate_command; delete ${entry.calibration_file} and rerun its cal job in calib/run-accuracy.sh.`);
  return entry.calibrate_command.replace(/^node bin\/fca-webgpu\.mjs/, 'npx fca-webgpu');
}

console.log(rows.join('\n'));
console.log('\n```sh\n' + commands.join('\n').trim() + '\n```');
