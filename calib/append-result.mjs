// Appends one eval result to calib/accuracy-results.json (a JSON array),
// replacing an earlier entry with the same name.
// Usage: node calib/append-result.mjs NAME MODEL_KEY CALIBRATION_FILE|- EVAL_JSON COMMAND SECONDS [CALIBRATE_COMMAND]
// Without CALIBRATE_COMMAND, an entry that replaces an earlier one keeps that entry's calibrate command.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const [name, model, calibrationFile, evalFile, command, seconds, calibrateCommand] = process.argv.slice(2);
const resultsFile = 'calib/accuracy-results.json';
const evaluation = JSON.parse(readFileSync(evalFile, 'utf8'));
const calibration = calibrationFile === '-' ? null : JSON.parse(readFileSync(calibrationFile, 'utf8'));
const results = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];

const index = results.findIndex((r) => r.name === name);
const entry = {
  name,
  model,
  calibration_file: calibration ? calibrationFile : null,
  calibration,
  calibrate_command: calibrateCommand || (index >= 0 ? results[index].calibrate_command : undefined),
  eval_command: command,
  eval_seconds: Number(seconds),
  eval: evaluation,
};
if (index >= 0) results[index] = entry;
else results.push(entry);
writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
console.log(`${name}: accuracy ${evaluation.accuracy}, dense ${evaluation.dense_accuracy}, flops_ratio ${evaluation.flops_ratio}`);
