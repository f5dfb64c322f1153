import type { CalibrationResult } from '../fca/calibrate.js';
import type { FcaOptions } from '../fca/retention.js';

export interface CalibrationData {
  file: string;
  inputs: unknown[];
  /** 1-based line number of each input in `file`. */
  lineNumbers: number[];
}

export declare function readRetentionFileOption(
  file: string,
  command: string,
): Promise<Required<Pick<FcaOptions, 'retention' | 'clusters' | 'variant'>>>;
export declare function checkRetentionFileLayers(
  args: { command: string; retentionFile?: string; fca: { retention?: unknown } | null },
  numLayers: number,
): void;
export declare function prepareCalibrate(args: { data: string; output: string }): Promise<CalibrationData>;
export declare function readCalibrationInputs(file: string): Promise<CalibrationData>;
export declare function runCalibrate(
  args: { flopsRatio: number; clusters: number; variant: string; batchSize: number | null; maxEvaluations: number | null; output: string },
  session: {
    info: { architecture: string; regression: boolean; numLayers: number; hiddenSize: number; intermediateSize: number };
    run: (inputs: unknown[], options: object) => Promise<Record<string, unknown>[]>;
  },
  data: CalibrationData,
  io: { stdout: NodeJS.WritableStream; log: (message: string) => void; progress: boolean },
): Promise<number>;
export declare function formatCalibration(
  result: Pick<CalibrationResult, 'retention' | 'clusters' | 'variant' | 'flops_ratio' | 'target_flops_ratio' | 'texts' | 'agreement' | 'kl' | 'evaluations'>,
  output: string,
): string;
