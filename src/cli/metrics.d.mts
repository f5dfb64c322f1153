import type { FcaOptions } from '../fca/retention.js';

export type MetricName = 'accuracy' | 'f1' | 'matthews' | 'pearson' | 'spearman';
export type TaskMetrics = Partial<Record<MetricName, number | null>>;

export interface ScoredPass {
  /** Predicted label id, or the predicted score for a regression task. */
  prediction: number;
  flops: number;
}
export interface EvalRecord {
  /** Gold label id, or the gold score for a regression task. */
  gold: number;
  dense: ScoredPass;
  fca: ScoredPass | null;
}
export interface EvalSummary {
  examples: number;
  accuracy: number | null;
  mean_flops: number;
  dense_mean_flops: number;
  flops_ratio: number;
  dense_accuracy: number | null;
  metrics: TaskMetrics;
  dense_metrics: TaskMetrics;
}
export declare const TASK_METRICS: Record<string, MetricName[]>;
export declare function accuracy(golds: number[], predictions: number[]): number;
export declare function matthewsCorrelation(golds: number[], predictions: number[]): number;
export declare function f1Score(golds: number[], predictions: number[], positive: number): number;
export declare function pearsonCorrelation(xs: number[], ys: number[]): number | null;
export declare function averageRanks(values: number[]): number[];
export declare function spearmanCorrelation(xs: number[], ys: number[]): number | null;
export declare function taskMetrics(task: string, golds: number[], predictions: number[], options?: { positiveLabelId?: number }): TaskMetrics;
export declare function summarizeEval(records: EvalRecord[], options?: { task?: string; positiveLabelId?: number }): EvalSummary;
export declare function describeFca(fca: FcaOptions | null): string;
export declare function formatFlops(flops: number): string;
export declare function formatMetric(name: string, value: number | null | undefined): string;
export declare function formatEvalTable(summary: EvalSummary, context: { task: string; fca: FcaOptions | null }): string;
