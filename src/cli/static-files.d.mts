import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'vite';

export declare function resolveInside(directory: string, urlPath: string): string | null;
export declare function directoryMiddleware(
  directory: string,
): (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next: (error?: unknown) => void) => Promise<void>;
export declare function serveDirectory(options: { name: string; urlPrefix: string; directory: string }): Plugin;
