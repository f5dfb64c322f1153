import type { ClassifyInput } from '../types.js';

export declare const OUTPUT_FIELDS: string[];
export declare function parseInputLine(line: string, lineNumber: number): { input: ClassifyInput } | { error: string };
export declare function formatResult(result: object): Record<string, unknown>;
export interface LineReader {
  next(): Promise<{ line: string; lineNumber: number }[] | null>;
  close(): void;
}
export declare function createLineReader(input: NodeJS.ReadableStream, options?: { maxChunk?: number; highWaterMark?: number }): LineReader;
