/**
 * The retention file: a JSON record of an FCA setting and, when it came from
 * a calibration, how it was chosen. `fca-webgpu calibrate` writes it, and
 * `classify --retention-file` and `eval --retention-file` read it:
 *
 *   {
 *     "retention": [0.7, 0.5, 0.35, 0.25],
 *     "clusters": 2,
 *     "variant": "weighted",
 *     "flops_ratio": 0.4987,
 *     "calibration": {
 *       "texts": 300, "agreement": 0.99, "kl": 0.004,
 *       "objective": "...", "target_flops_ratio": 0.5
 *     }
 *   }
 *
 * `retention` (one fraction in (0, 1] per layer), `clusters` and `flops_ratio`
 * (FCA FLOPs over dense FLOPs on the calibration inputs) are required;
 * `variant` and `calibration` are optional. Whether `retention` has one value
 * per layer of a model is checked when the setting is used.
 */
import type { CalibrationResult, CalibrationVariant } from './calibrate.js';
import { RetentionError, type FcaOptions } from './retention.js';

/** Calibration record of a retention file: the inputs, the objective and the scores. */
export interface RetentionFileCalibration {
  /** Number of calibration inputs. */
  texts: number;
  /** Fraction of calibration inputs whose FCA top label equals the dense one. */
  agreement: number;
  /** Mean KL(dense || FCA) of the label probabilities on the calibration inputs, in nats. */
  kl: number;
  objective: string;
  target_flops_ratio: number;
}

export interface RetentionFile {
  retention: number[];
  clusters: number;
  variant?: CalibrationVariant;
  flops_ratio: number;
  calibration?: RetentionFileCalibration;
}

/** Error raised for a retention file that cannot be used; the message names the file, the field and the fix. */
export class RetentionFileError extends RetentionError {
  override name = 'RetentionFileError';
}

const FILE_FIELDS = ['retention', 'clusters', 'variant', 'flops_ratio', 'calibration'];
const FILE_VARIANTS: readonly CalibrationVariant[] = ['weighted', 'mean', 'drop'];

/** Builds the retention file of a calibration result. */
export function retentionFileFromCalibration(result: CalibrationResult): RetentionFile {
  // Spelled out field by field so that the JSON lists the fields in this order.
  return {
    retention: result.retention.slice(),
    clusters: result.clusters,
    ...(result.variant !== undefined ? { variant: result.variant } : {}),
    flops_ratio: result.flops_ratio,
    calibration: {
      texts: result.texts,
      agreement: result.agreement,
      kl: result.kl,
      objective: result.objective,
      target_flops_ratio: result.target_flops_ratio,
    },
  };
}

/** Formats a retention file as indented JSON with a final newline. */
export function formatRetentionFile(file: RetentionFile): string {
  return JSON.stringify(file, null, 2) + '\n';
}

/**
 * Validates a retention file, given as JSON text or as the parsed value, and
 * returns it. `source` names the file in error messages.
 * Throws RetentionFileError naming the first invalid field.
 */
export function readRetentionFile(json: unknown, source = 'the retention file'): RetentionFile {
  const fail = (message: string): never => {
    throw new RetentionFileError(`${source}: ${message}`);
  };

  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (error) {
      fail(`invalid JSON (${error instanceof Error ? error.message : String(error)}); give the file that fca-webgpu calibrate writes.`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`expected a JSON object with "retention" and "clusters", got ${describe(value)}.`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!FILE_FIELDS.includes(key)) fail(`unknown field "${key}"; a retention file has the fields ${FILE_FIELDS.join(', ')}.`);
  }

  const retention = record.retention;
  if (!Array.isArray(retention) || retention.length === 0) {
    fail(`"retention" must be a non-empty array of fractions in (0, 1], one per layer, got ${describe(retention)}.`);
  }
  (retention as unknown[]).forEach((fraction, layer) => {
    if (typeof fraction !== 'number' || !Number.isFinite(fraction) || fraction <= 0 || fraction > 1) {
      fail(`"retention" value ${JSON.stringify(fraction)} at layer ${layer} is outside (0, 1]; give fractions such as 0.5.`);
    }
  });

  const clusters = record.clusters;
  if (typeof clusters !== 'number' || !Number.isInteger(clusters) || clusters < 0) {
    fail(`"clusters" must be an integer >= 0, got ${describe(clusters)}; use 0 to drop the merged tokens.`);
  }

  const variant = record.variant;
  if (variant !== undefined && !FILE_VARIANTS.includes(variant as CalibrationVariant)) {
    fail(`"variant" must be one of ${FILE_VARIANTS.map((v) => `"${v}"`).join(', ')}, got ${describe(variant)}; remove it for "weighted".`);
  }
  if (variant === 'drop' && clusters !== 0) {
    fail(`"variant" "drop" keeps no clusters but "clusters" is ${String(clusters)}; set "clusters" to 0 or use another variant.`);
  }

  const flopsRatio = record.flops_ratio;
  if (!isPositiveNumber(flopsRatio)) {
    fail(`"flops_ratio" must be a number > 0 (FCA FLOPs over dense FLOPs), got ${describe(flopsRatio)}.`);
  }

  return {
    retention: (retention as number[]).slice(),
    clusters: clusters as number,
    ...(variant !== undefined ? { variant: variant as CalibrationVariant } : {}),
    flops_ratio: flopsRatio as number,
    ...(record.calibration !== undefined ? { calibration: readCalibration(record.calibration, fail) } : {}),
  };
}

/** Validates a retention file (JSON text or parsed value) and returns its FCA options for classify() and embed(). */
export function parseRetentionFile(json: unknown, source?: string): FcaOptions {
  const file = readRetentionFile(json, source);
  const options: FcaOptions = { retention: file.retention, clusters: file.clusters };
  if (file.variant !== undefined) options.variant = file.variant;
  return options;
}

function readCalibration(value: unknown, fail: (message: string) => never): RetentionFileCalibration {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`"calibration" must be an object, got ${describe(value)}; remove it when the setting was not calibrated.`);
  }
  const record = value as Record<string, unknown>;
  const { texts, agreement, kl, objective } = record;
  const target = record.target_flops_ratio;
  if (typeof texts !== 'number' || !Number.isInteger(texts) || texts < 1) {
    fail(`"calibration.texts" must be an integer >= 1 (the number of calibration inputs), got ${describe(texts)}.`);
  }
  if (typeof agreement !== 'number' || !(agreement >= 0 && agreement <= 1)) {
    fail(`"calibration.agreement" must be a fraction in [0, 1], got ${describe(agreement)}.`);
  }
  if (typeof kl !== 'number' || !Number.isFinite(kl) || kl < 0) {
    fail(`"calibration.kl" must be a finite number >= 0, got ${describe(kl)}.`);
  }
  if (typeof objective !== 'string') {
    fail(`"calibration.objective" must be a string, got ${describe(objective)}.`);
  }
  if (!isPositiveNumber(target)) {
    fail(`"calibration.target_flops_ratio" must be a number > 0, got ${describe(target)}.`);
  }
  return {
    texts: texts as number,
    agreement: agreement as number,
    kl: kl as number,
    objective: objective as string,
    target_flops_ratio: target as number,
  };
}

function isPositiveNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** Describes a JSON value for a message: the value itself when short, else its type. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (typeof value === 'number') return String(value);
  const text = JSON.stringify(value);
  return text.length <= 60 ? text : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
