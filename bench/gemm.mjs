#!/usr/bin/env node
// Times the engine's GEMM variants in headless Chromium and prints GFLOP/s per
// variant and shape. Serves this repository with vite on 127.0.0.1, opens
// bench/gemm.html and calls window.gemmBench.run(). Run `node bench/gemm.mjs --help`.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CHROMIUM_FLAGS, chromiumInstallHint, findChromium } from '../tools/chromium.mjs';
import { startPageServer } from '../tools/page-server.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PAGE = '/bench/gemm.html';
const PAGE_READY_TIMEOUT_MS = 120_000;
const VARIANTS = ['tiled', 'texture', 'textureSubgroups'];

const USAGE = `usage: node bench/gemm.mjs [options]

Times each GEMM variant of the engine (output[M, N] = a[M, K] w[K, N] + bias)
in headless Chromium and checks its output against a float64 CPU product.

options:
  --variants LIST   comma-separated subset of ${VARIANTS.join(', ')} (default: all)
  --shapes LIST     comma-separated MxKxN shapes (default: 128x768x3072,128x768x768,
                    128x3072x768,512x768x3072,20x256x1024)
  --tiles LIST      comma-separated ROWSxVEC4S output tiles of the texture kernels, each
                    timed on its own (16x16, 8x16, 4x16); default: the tile the engine picks
  --runs N          timed runs per variant and shape, after the warm-up (default: 7)
  --warmup N        untimed runs first (default: 2)
  --min-gflop G     GFLOP per timed run: small shapes repeat the dispatch (default: 0.2)
  --json            print the raw report as JSON instead of a table
  --help            print this text`;

function parseShapes(text) {
  return text.split(',').map((item) => {
    const parts = item.trim().split('x').map(Number);
    if (parts.length !== 3 || parts.some((v) => !Number.isInteger(v) || v <= 0)) {
      throw new Error(`invalid shape ${JSON.stringify(item)}; write MxKxN with positive integers, e.g. 128x768x3072.`);
    }
    const [m, k, n] = parts;
    return { m, k, n };
  });
}

function parseCount(name, text, min) {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer of at least ${min}, got ${JSON.stringify(text)}.`);
  return value;
}

/**
 * Starts the page server. The page HTML is served as is: with appType
 * 'custom' vite injects no HMR client, which would otherwise try to open a
 * websocket that nothing serves.
 */
function startServer() {
  const page = readFileSync(path.join(repoRoot, PAGE), 'utf8');
  return startPageServer({
    label: 'the GEMM benchmark server',
    vite: {
      root: repoRoot,
      appType: 'custom',
      // Its own cache, so that a dev server running on the same checkout keeps its pre-bundled dependencies.
      cacheDir: path.join(repoRoot, 'node_modules/.vite-bench'),
      server: { hmr: false, ws: false },
      optimizeDeps: { noDiscovery: true, include: [] },
    },
    before(req, res) {
      if (req.url !== PAGE) return false;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page);
      return true;
    },
  });
}

/** Parent pid of every process, from /proc (Linux only). */
function parentPids() {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name in field 2 may contain spaces and parentheses: parse after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process exited while /proc was listed.
    }
  }
  return parents;
}

/**
 * Returns the pid of the GPU process of the Chromium that this Node process
 * launched (a descendant whose command line has --type=gpu-process), or null
 * when there is none or /proc is missing.
 */
function findGpuProcess() {
  let parents;
  try {
    parents = parentPids();
  } catch {
    return null;
  }
  const isOurs = (pid) => {
    for (let p = pid, depth = 0; p > 1 && depth < 10; p = parents.get(p) ?? 0, depth++) if (p === process.pid) return true;
    return false;
  };
  for (const pid of parents.keys()) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=gpu-process') && isOurs(pid)) return pid;
    } catch {
      // The process exited while it was inspected.
    }
  }
  return null;
}

/** CPU nanoseconds used by all threads of `pid` so far (first field of /proc/PID/task/TID/schedstat). */
function processCpuNs(pid) {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return total;
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function formatTable(report) {
  const header = ['variant', 'tile', 'M x K x N', 'GFLOP/s median', 'min', 'max', 'GFLOP/CPU-s median', 'runs', 'dispatches/run', 'max abs error'];
  const rows = [header];
  for (const r of report.results) {
    rows.push([
      r.variant,
      r.tile,
      `${r.shape.m}x${r.shape.k}x${r.shape.n}`,
      median(r.gflops).toFixed(2),
      Math.min(...r.gflops).toFixed(2),
      Math.max(...r.gflops).toFixed(2),
      r.gflopPerCpuSecond.length ? median(r.gflopPerCpuSecond).toFixed(2) : '-',
      String(r.gflops.length),
      String(r.repeats),
      r.maxError.toExponential(1),
    ]);
  }
  const widths = header.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      variants: { type: 'string', default: '' },
      shapes: { type: 'string', default: '128x768x3072,128x768x768,128x3072x768,512x768x3072,20x256x1024' },
      tiles: { type: 'string', default: '' },
      runs: { type: 'string', default: '7' },
      warmup: { type: 'string', default: '2' },
      'min-gflop': { type: 'string', default: '0.2' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const variants = values.variants ? values.variants.split(',').map((v) => v.trim()) : [];
  for (const variant of variants) {
    if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${JSON.stringify(variant)}; use one of ${VARIANTS.join(', ')}.`);
  }
  const minGflopPerRun = Number(values['min-gflop']);
  if (!(minGflopPerRun > 0)) throw new Error(`--min-gflop must be a positive number, got ${JSON.stringify(values['min-gflop'])}.`);
  const options = {
    shapes: parseShapes(values.shapes),
    variants,
    tiles: values.tiles ? values.tiles.split(',').map((item) => {
      const [rows, vec4s] = item.trim().split('x').map(Number);
      return { rows, vec4s };
    }) : [],
    runs: parseCount('runs', values.runs, 1),
    warmup: parseCount('warmup', values.warmup, 0),
    minGflopPerRun,
  };

  const chromiumPath = findChromium();
  if (!chromiumPath) throw new Error(chromiumInstallHint());
  const server = await startServer();
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: [...CHROMIUM_FLAGS], headless: true });
  try {
    const page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`browser: ${message.text()}`);
    });
    page.on('pageerror', (error) => console.error(`browser uncaught error: ${error.message}`));
    await page.goto(`${server.origin}${PAGE}`);
    await page.waitForFunction(() => window.gemmBenchReady === true || window.gemmBenchStartError !== undefined, null, { timeout: PAGE_READY_TIMEOUT_MS });
    const startError = await page.evaluate(() => window.gemmBenchStartError);
    if (startError !== undefined) throw new Error(`${PAGE} failed to start: ${startError}.`);

    // The GPU process starts with the page's first WebGPU use; look for it after that.
    await page.evaluate(() => navigator.gpu?.requestAdapter());
    const gpuPid = findGpuProcess();
    if (gpuPid !== null) await page.exposeFunction('gpuProcessCpuNs', () => processCpuNs(gpuPid));
    else console.log('note: the GPU process was not found in /proc; the GFLOP/CPU-s column stays empty.');

    const report = await page.evaluate((settings) => window.gemmBench.run(settings), options);
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
      return;
    }
    console.log(`adapter: ${report.adapter}; timer: ${report.timer}; tuning picks: ${report.chosen}`);
    console.log(`${options.runs} timed runs per variant and shape after ${options.warmup} warm-up runs, round-robin over the variants`);
    if (report.skipped.length) console.log(`skipped (the adapter lacks 'subgroups'): ${report.skipped.join(', ')}`);
    console.log(formatTable(report));
  } finally {
    await browser.close();
    await server.close();
  }
}

main().catch((error) => {
  console.error(`bench/gemm.mjs: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
