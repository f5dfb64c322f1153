export interface GlueTaskLayout {
  header: string[] | null;
  columns: number;
  text: string | number;
  textPair: string | number | null;
  label: string | number;
  regression: boolean;
}
export interface GlueExample {
  lineNumber: number;
  text: string;
  textPair: string | null;
  label: string;
}
export declare const GLUE_TASKS: Record<string, GlueTaskLayout>;
export declare const GLUE_TASK_NAMES: string[];
export declare class DataError extends Error {}
export declare function glueTaskByName(name: string): string | null;
export declare function splitTsvLines(text: string): string[];
export declare function detectGlueTask(where: { task?: string | null; folderName: string; firstLine: string }): string;
export declare function parseGlueTsv(text: string, task: string): GlueExample[];
export declare function resolveLabelId(label: string, labels: string[], lineNumber: number): number;
export declare function readGlueDevSet(dataPath: string, task: string | null): Promise<{ task: string; file: string; examples: GlueExample[] }>;
