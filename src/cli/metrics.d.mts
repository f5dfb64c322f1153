import type { CliFcaOptions } from './args.mjs';

export interface ScoredPass {
  label_id: number;
  flops: number;
}
export interface EvalRecord {
  labelId: number;
  dense: ScoredPass;
  fca: ScoredPass | null;
}
export interface EvalSummary {
  examples: number;
  accuracy: number;
  mean_flops: number;
  dense_mean_flops: number;
  flops_ratio: number;
  dense_accuracy: number;
}
export declare function summarizeEval(records: EvalRecord[]): EvalSummary;
export declare function describeFca(fca: CliFcaOptions | null): string;
export declare function formatFlops(flops: number): string;
export declare function formatEvalTable(summary: EvalSummary, context: { task: string; fca: CliFcaOptions | null }): string;
