// A vite dev server in middleware mode on a free port of 127.0.0.1, for the
// Node programs that drive a page in headless Chromium: the command line, the
// benchmark and the GEMM benchmark. The Node HTTP server is created first so
// that vite's websocket, when a page needs one, shares its port.
import http from 'node:http';
import { importDependency } from './dependency.mjs';

/**
 * Starts the server. `vite` contains the vite options besides the fixed ones:
 * no config file, warnings only, middleware mode and no file watcher. Its
 * `server` entry may be a function of the Node HTTP server, for websocket
 * options that need it. `before(req, res)` may answer a request first and
 * return true. Rejects with "LABEL could not listen on 127.0.0.1: ..." when no
 * port is free. Returns the origin and an async close().
 * @param {{ label: string, vite: Record<string, unknown> & { server?: object | ((server: http.Server) => object) }, before?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean }} options
 */
export async function startPageServer({ label, vite: viteOptions, before }) {
  const { createServer } = await importDependency('vite');
  const server = http.createServer();
  const { server: serverOptions = {}, ...rest } = viteOptions;
  const vite = await createServer({
    configFile: false,
    logLevel: 'warn',
    clearScreen: false,
    ...rest,
    server: { middlewareMode: true, watch: null, ...(typeof serverOptions === 'function' ? serverOptions(server) : serverOptions) },
  });
  server.on('request', (req, res) => {
    if (before?.(req, res)) return;
    vite.middlewares(req, res);
  });
  const close = async () => {
    await vite.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(undefined));
    });
  } catch (error) {
    await close();
    throw new Error(`${label} could not listen on 127.0.0.1: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return { origin: `http://127.0.0.1:${port}`, close };
}
