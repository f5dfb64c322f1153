import type { GlueExample } from './tsv.mjs';

export declare class EvalError extends Error {
  constructor(message: string);
}
export interface EvalModelInfo {
  architecture: string;
  labels: string[];
  regression: boolean;
}
export declare function goldValues(
  devSet: { task: string; file: string; examples: Pick<GlueExample, 'label' | 'lineNumber'>[] },
  info: EvalModelInfo,
): { golds: number[]; positiveLabelId: number };
export declare function runEval(
  args: { fca: object | null; json: boolean; limit: number | null; batchSize: number | null },
  session: { info: EvalModelInfo; run: (inputs: unknown[], options: object) => Promise<Record<string, unknown>[]> },
  devSet: { task: string; file: string; examples: GlueExample[] },
  io: { stdout: NodeJS.WritableStream; log: (message: string) => void; verbose: boolean; progress: boolean },
): Promise<number>;
