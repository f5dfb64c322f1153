import type { FcaOptions, FcaVariant } from '../fca/retention.js';

export declare class UsageError extends Error {
  constructor(message: string, command?: string);
  command: string | undefined;
}
export declare const DEFAULT_CLUSTERS: number;
export declare const DEFAULT_PADDED_LENGTH: number;
export declare const FCA_VARIANTS: FcaVariant[];
export declare const POOLING_MODES: ('mean' | 'cls')[];
export declare const HELP: { main: string; classify: string; eval: string };

/** FCA options as the CLI passes them to the engine; `clusters` and `variant` are always set. */
export type CliFcaOptions = Required<Pick<FcaOptions, 'clusters' | 'variant'>> & Pick<FcaOptions, 'retention' | 'retentionCounts' | 'paddedLength'>;

export declare function parseFcaOptions(
  raw: { retention?: string; retentionCounts?: string; clusters?: string; variant?: string; paddedLength?: string },
  command: string,
): CliFcaOptions | null;
export declare function checkLayerCount(fca: FcaOptions | null, numLayers: number, command: string): void;

export declare function checkModelOptions(
  args: { command: string; fca: Pick<FcaOptions, 'retention' | 'retentionCounts' | 'paddedLength'> | null; pooling?: string | null },
  info: { architecture: string; numLayers: number; maxPositionEmbeddings: number },
): void;

export type ParsedArgs =
  | { command: 'help'; topic: 'main' | 'classify' | 'eval' }
  | { command: 'version' }
  | {
      command: 'classify';
      model: string;
      fca: CliFcaOptions | null;
      batchSize: number | null;
      trace: boolean;
      pooling: 'mean' | 'cls' | null;
      verbose: boolean;
    }
  | {
      command: 'eval';
      model: string;
      data: string;
      fca: CliFcaOptions | null;
      batchSize: number | null;
      json: boolean;
      limit: number | null;
      task: string | null;
      verbose: boolean;
    };
export declare function parseArgs(argv: string[]): ParsedArgs;
