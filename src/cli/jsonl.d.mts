import type { ClassifyInput, MultipleChoiceInput } from '../types.js';

export declare const OUTPUT_FIELDS: string[];
export declare const CHOICE_OUTPUT_FIELDS: string[];
export declare const CHOICE_FIELDS: string[];
export declare const EMBEDDING_OUTPUT_FIELDS: string[];
export declare function parseInputLine(
  line: string,
  lineNumber: number,
  architecture?: string,
): { input: ClassifyInput | MultipleChoiceInput } | { error: string };
export declare function formatResult(result: object, options?: { architecture?: string; trace?: boolean }): Record<string, unknown>;
export interface LineReader {
  next(): Promise<{ line: string; lineNumber: number }[] | null>;
  close(): void;
}
export declare function createLineReader(input: NodeJS.ReadableStream, options?: { maxChunk?: number; highWaterMark?: number }): LineReader;
