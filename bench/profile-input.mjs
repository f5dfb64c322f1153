#!/usr/bin/env node
// Times one input through a model folder in headless Chromium: the median
// wall time of a classify() call, and the GPU time per kernel of profiled
// passes (timestamp queries). Shows where the time of a short input goes.
// Usage: node bench/profile-input.mjs [--model DIR] [--text TEXT] [--runs N]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serveDirectory } from '../src/cli/static-files.mjs';
import { CHROMIUM_FLAGS, chromiumInstallHint, findChromium } from '../tools/chromium.mjs';
import { startPageServer } from '../tools/page-server.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PAGE = '/__profile.html';
const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>fca-webgpu input profile</title><p>bench/profile-input.mjs drives this page.</p>';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(repoRoot, '../shared/models/sst2-bert-mini') },
    text: { type: 'string', default: 'a great movie .' },
    runs: { type: 'string', default: '15' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${JSON.stringify(values.runs)}.`);
if (!existsSync(path.join(values.model, 'config.json'))) {
  throw new Error(`--model ${values.model} has no config.json; pass a Hugging Face BERT folder such as ../shared/models/sst2-bert-mini.`);
}
const chromiumPath = findChromium();
if (!chromiumPath) throw new Error(chromiumInstallHint());

const server = await startPageServer({
  label: 'the profile server',
  vite: {
    root: repoRoot,
    appType: 'custom',
    cacheDir: path.join(repoRoot, 'node_modules/.vite-profile'),
    server: { hmr: false, ws: false },
    plugins: [serveDirectory({ name: 'fca-webgpu-model', urlPrefix: '/__model/', directory: path.resolve(values.model) })],
  },
  before(req, res) {
    if (req.url !== PAGE) return false;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE_HTML);
    return true;
  },
});
const { chromium } = await import('playwright-core');
let browser = null;
try {
  browser = await chromium.launch({ executablePath: chromiumPath, args: [...CHROMIUM_FLAGS], headless: true });
  const page = await browser.newPage();
  await page.goto(`${server.origin}${PAGE}`);
  const report = await page.evaluate(
    async ({ text, runs }) => {
      const { loadModel } = await import('/src/index.ts');
      const model = await loadModel('/__model/', { profile: true });
      const [first] = await model.classify(text);
      for (let i = 0; i < 3; i++) await model.classify(text);
      const times = [];
      for (let i = 0; i < runs; i++) {
        const start = performance.now();
        await model.classify(text);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      await model.startProfiling();
      for (let i = 0; i < 5; i++) await model.classify(text);
      const profile = await model.stopProfiling();
      return { tokens: first.tokens.length, median: times[times.length >> 1], min: times[0], profile };
    },
    { text: values.text, runs },
  );
  const { passes, kernels, totalMs } = report.profile;
  console.log(`${report.tokens} tokens; classify() median ${report.median.toFixed(1)} ms, min ${report.min.toFixed(1)} ms over ${runs} calls`);
  console.log(`GPU time per pass (mean of ${passes} profiled passes, one compute pass per dispatch): ${(totalMs / passes).toFixed(2)} ms`);
  for (const kernel of kernels) {
    console.log(`  ${kernel.name.padEnd(32)} ${(kernel.totalMs / passes).toFixed(2).padStart(8)} ms  ${String(kernel.dispatches / passes).padStart(3)} dispatches`);
  }
} finally {
  await browser?.close();
  await server.close();
}
