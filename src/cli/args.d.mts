import type { FcaOptions } from '../fca/retention.js';

export declare class UsageError extends Error {
  constructor(message: string, command?: string);
  command: string | undefined;
}
export declare const DEFAULT_CLUSTERS: number;
export declare const HELP: { main: string; classify: string; eval: string };

/** FCA options as the CLI passes them to the engine; `clusters` is always set. */
export type CliFcaOptions = Required<Pick<FcaOptions, 'clusters'>> & Pick<FcaOptions, 'retention' | 'retentionCounts'>;

export declare function parseFcaOptions(
  raw: { retention?: string; retentionCounts?: string; clusters?: string },
  command: string,
): CliFcaOptions | null;
export declare function checkLayerCount(fca: CliFcaOptions | null, numLayers: number, command: string): void;

export type ParsedArgs =
  | { command: 'help'; topic: 'main' | 'classify' | 'eval' }
  | { command: 'version' }
  | { command: 'classify'; model: string; fca: CliFcaOptions | null; verbose: boolean }
  | {
      command: 'eval';
      model: string;
      data: string;
      fca: CliFcaOptions | null;
      json: boolean;
      limit: number | null;
      task: string | null;
      verbose: boolean;
    };
export declare function parseArgs(argv: string[]): ParsedArgs;
