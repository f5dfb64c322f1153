// Dev server and multi-page build. The command line starts its own vite
// server without this file (src/cli/session.mjs), so a plugin that the engine
// needs must be added there too.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { serveDirectory } from './src/cli/static-files.mjs';

const repoRoot = path.dirname(fileURLToPath(import.meta.url));

/** Shared models and data, beside the checkout; served read-only under /shared/. */
const sharedDir = path.resolve(repoRoot, '../shared');

/** Pages of the build. Pages written elsewhere in the project are included once they exist. */
const pages = ['index.html', 'demo/index.html', 'src/cli/runner.html', 'e2e/harness.html'];

function buildInputs(): Record<string, string> {
  const inputs: Record<string, string> = {};
  for (const page of pages) {
    const file = path.join(repoRoot, page);
    if (!existsSync(file)) continue;
    const name = page === 'index.html' ? 'main' : page.replace(/\/index\.html$|\.html$/, '').replace(/\//g, '-');
    inputs[name] = file;
  }
  return inputs;
}

export default defineConfig({
  root: repoRoot,
  // A missing file is a 404, not the root index.html, so a wrong model URL fails loudly.
  appType: 'mpa',
  server: {
    host: '127.0.0.1',
    // The test server turns hot reload off (FCA_WEBGPU_HMR=0): an edit saved during a test
    // run would otherwise reload the page under a running test.
    hmr: process.env.FCA_WEBGPU_HMR === '0' ? false : undefined,
  },
  preview: {
    host: '127.0.0.1',
  },
  plugins: [serveDirectory({ name: 'fca-webgpu-shared', urlPrefix: '/shared/', directory: sharedDir })],
  build: {
    rolldownOptions: {
      input: buildInputs(),
    },
  },
});
