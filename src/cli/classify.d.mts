export declare const CHUNK_SIZE: number;
export declare function writeText(stream: NodeJS.WritableStream, text: string): Promise<void>;
export declare function buildRunOptions(args: {
  fca: object | null;
  batchSize?: number | null;
  trace?: boolean;
  pooling?: string | null;
}): Record<string, unknown>;
export declare function runClassify(
  args: { fca: object | null; batchSize: number | null; trace: boolean; pooling: string | null },
  session: { info: { architecture: string }; run: (inputs: unknown[], options: object) => Promise<Record<string, unknown>[]> },
  io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; log: (message: string) => void; verbose: boolean },
): Promise<number>;
