// Node side of the browser session: a vite dev server on 127.0.0.1 that serves
// the runner page and the model folder, and headless Chromium that opens it.
// The engine runs only in the page; Node calls window.fcaRunner.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_FLAGS } from '../../tools/chromium.mjs';
import { importDependency } from '../../tools/dependency.mjs';
import { startPageServer } from '../../tools/page-server.mjs';
import { EngineError } from './batch.mjs';
import { serveDirectory } from './static-files.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** URL prefix under which the page fetches the model folder. */
export const MODEL_URL_PREFIX = '/__model/';
const RUNNER_PAGE = '/src/cli/runner.html';
const PAGE_READY_TIMEOUT_MS = 120_000;

/** Error for a failure of the browser session itself (server, Chromium, page). */
export class SessionError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'SessionError';
  }
}

/** Throws the page's error as an EngineError, or returns the value. */
function unwrap(outcome) {
  if (outcome.ok) return outcome.value;
  throw new EngineError(outcome.error.name, outcome.error.message);
}

/**
 * Starts the dev server that serves this repository's sources (for the runner
 * page) and `modelDir` under MODEL_URL_PREFIX, on a free port of 127.0.0.1.
 * This server does not read vite.config.ts, so a plugin the engine needs must
 * be added here too.
 */
async function startServer(modelDir) {
  try {
    return await startPageServer({
      label: 'the dev server',
      vite: {
        root: repoRoot,
        appType: 'mpa',
        // Its own cache, so that a dev server running on the same checkout keeps its pre-bundled dependencies.
        cacheDir: path.join(repoRoot, 'node_modules/.vite-cli'),
        // The page's vite client always opens a WebSocket. In middleware mode it would connect to the fixed port 24678,
        // where another fca-webgpu process may listen and reject it, failing the page. Sharing this server's port avoids that.
        server: (httpServer) => ({ hmr: false, ws: { server: httpServer } }),
        optimizeDeps: { entries: [RUNNER_PAGE.slice(1)] },
        plugins: [serveDirectory({ name: 'fca-webgpu-model', urlPrefix: MODEL_URL_PREFIX, directory: modelDir })],
      },
    });
  } catch (error) {
    throw new SessionError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Waits for the runner page to set window.fcaRunnerReady. Fails early when a
 * module of the page does not load (runner.html records it) or `startFailed`
 * rejects (an uncaught error in the page), and names the failed requests.
 */
async function waitForRunner(page, startFailed, failedRequests) {
  const settled = page.waitForFunction(() => window.fcaRunnerReady === true || window.fcaRunnerStartError !== undefined, null, {
    timeout: PAGE_READY_TIMEOUT_MS,
  });
  settled.catch(() => {});
  const requests = () => (failedRequests.length > 0 ? ` Failed requests:\n  ${failedRequests.join('\n  ')}` : '');
  try {
    await Promise.race([settled, startFailed]);
  } catch (error) {
    if (error instanceof SessionError) throw error;
    throw new SessionError(`the runner page ${RUNNER_PAGE} did not become ready within ${PAGE_READY_TIMEOUT_MS / 1000} s.${requests()}`);
  }
  const startError = await page.evaluate(() => window.fcaRunnerStartError);
  if (startError !== undefined) {
    throw new SessionError(`the runner page ${RUNNER_PAGE} failed to start: ${startError} (see the vite error above).${requests()}`);
  }
}

/**
 * Opens a browser session with the model at `modelDir` loaded and returns
 * `{ info, run(inputs, options), close() }`. `info` is the model's
 * architecture, labels and shape. `run` calls the engine method of that
 * architecture (see runner.ts) and resolves to its results (ClassifyResult,
 * MultipleChoiceResult or EmbedResult), or throws an EngineError carrying the
 * engine's error name.
 * @param {{ modelDir: string, chromiumPath: string, log: (message: string) => void, verbose: boolean }} options
 */
export async function openSession({ modelDir, chromiumPath, log, verbose }) {
  /** @type {(() => Promise<void>)[]} */
  const cleanups = [];
  const close = async () => {
    while (cleanups.length > 0) {
      const cleanup = cleanups.pop();
      try {
        await cleanup?.();
      } catch (error) {
        if (verbose) log(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  try {
    const server = await startServer(modelDir);
    const origin = server.origin;
    cleanups.push(() => server.close());
    if (verbose) log(`serving ${RUNNER_PAGE} and ${modelDir} at ${origin}`);

    const { chromium } = await importDependency('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath, args: [...CHROMIUM_FLAGS], headless: true });
    cleanups.push(() => browser.close());
    if (verbose) log(`launched ${chromiumPath} (Chromium ${browser.version()})`);

    const page = await browser.newPage();
    page.on('console', (message) => {
      const type = message.type();
      const text = message.text();
      // The loader probes optional files (tokenizer.json before vocab.txt), and Chromium logs each 404 as an
      // error. The engine's own errors name the missing files, so these lines show only with --verbose.
      const probe = text.startsWith('Failed to load resource') && text.includes('404');
      if (verbose || (type === 'error' && !probe)) log(`browser ${type}: ${text}`);
    });
    /** @type {string[]} */
    const failedRequests = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.url()}`);
    });
    /** @type {(error: Error) => void} */
    let rejectStart = () => {};
    const startFailed = new Promise((_, reject) => {
      rejectStart = reject;
    });
    startFailed.catch(() => {});
    page.on('pageerror', (error) => {
      log(`browser uncaught error: ${error.message}`);
      rejectStart(new SessionError(`the runner page failed to start: ${error.message}`));
    });
    page.on('crash', () => log('the browser page crashed; the run cannot go on.'));

    await page.goto(`${origin}${RUNNER_PAGE}`);
    await waitForRunner(page, startFailed, failedRequests);

    const modelUrl = `${origin}${MODEL_URL_PREFIX}`;
    if (verbose) log(`loading the model from ${modelUrl}`);
    const loaded = await page.evaluate((url) => window.fcaRunner.load(url), modelUrl);
    if (!loaded.ok) throw new SessionError(`loading the model ${modelDir} failed: ${loaded.error.name}: ${loaded.error.message}`);
    const info = loaded.value;
    cleanups.push(() => page.evaluate(() => window.fcaRunner.dispose()));

    return {
      info,
      /** @param {unknown[]} inputs @param {object} options */
      async run(inputs, options) {
        return unwrap(await page.evaluate(([items, settings]) => window.fcaRunner.run(items, settings), [inputs, options]));
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
