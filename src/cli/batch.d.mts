export declare class EngineError extends Error {
  constructor(name: string, message: string);
}
export declare const FATAL_ERROR_NAMES: Set<string>;
export declare function checkRunOptions(run: (inputs: unknown[], options: object) => Promise<unknown[]>, options: object): Promise<void>;
export declare function isFatal(error: unknown): boolean;
export declare function errorText(error: unknown): string;
export declare function classifyWithFallback<I, R>(inputs: I[], classify: (inputs: I[]) => Promise<R[]>): Promise<({ result: R } | { error: string })[]>;
export declare function classifyLines(
  parsed: ({ lineNumber: number; input: unknown } | { lineNumber: number; error: string })[],
  classify: (inputs: unknown[]) => Promise<Record<string, unknown>[]>,
  format: (result: Record<string, unknown>) => Record<string, unknown>,
): Promise<{ lineNumber: number; output: Record<string, unknown>; failed: boolean }[]>;
