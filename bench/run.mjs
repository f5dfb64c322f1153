#!/usr/bin/env node
// Times fca-webgpu (dense and FCA) against ONNX Runtime Web (WebGPU and WASM
// execution providers) in one headless Chromium page, and prints the tables
// of BENCHMARKS.md. Serves this repository and ../shared with vite on
// 127.0.0.1 (cross-origin isolated, so multithreaded WASM works), opens
// bench/bench.html and drives window.fcaBench.
//
//   npm run bench -- [--quick] [--json FILE] [--markdown FILE] [--update FILE]
//                    [--budget-min M] [--box-scale X] [--max-runs N]
//                    [--contenders a,b] [--scenarios a,b] [--no-invariants]
//                    [--no-profile] [--verbose]
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serveDirectory } from '../src/cli/static-files.mjs';
import { CHROMIUM_FLAGS, chromiumInstallHint, findChromium } from '../tools/chromium.mjs';
import { startPageServer } from '../tools/page-server.mjs';
import { renderMarkdown, replaceSection } from './report.mjs';
import { median, summarize } from './stats.mjs';
import { cpuModel, loadAverage, startLoadSample } from './system-load.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sharedDir = path.resolve(repoRoot, '../shared');
const PAGE = '/bench/bench.html';
const PAGE_READY_TIMEOUT_MS = 120_000;

/** Largest |logit difference| allowed between dense contenders, and between an fca-webgpu contender and the float64 reference. */
const LOGIT_TOLERANCE = 1e-3;

/** Seconds of profiled passes to aim for per contender and scenario. */
const PROFILE_SECONDS = 20;

const CONTENDERS = ['fca-dense', 'fca-r50', 'fca-r33', 'ort-webgpu', 'ort-wasm-1t', 'ort-wasm-2t'];
const FCA_CONTENDERS = ['fca-dense', 'fca-r50', 'fca-r33'];

/**
 * Scenarios in run order, cheapest first so that each contender's time per
 * FLOP is known before the expensive ones. `boxS` is each contender's time
 * box in the scenario, warm-up included, unless `boxOverrides` gives one
 * for the contender. `maxRuns` caps the timed calls, and
 * so does --max-runs. `referenceSequences` is how many sequences of a
 * checked item the float64 reference recomputes (0: none).
 */
const PLAN = [
  { id: 'mini-128-b1', model: 'mini', kind: 'synthetic', length: 128, batch: 1, boxS: 60, maxRuns: 15, referenceSequences: 1, quick: true },
  { id: 'mini-128-b8', model: 'mini', kind: 'synthetic', length: 128, batch: 8, boxS: 90, maxRuns: 15, referenceSequences: 2 },
  { id: 'mini-sst2', model: 'mini', kind: 'sst2', boxS: 240, referenceItems: 16 },
  // ort-webgpu's first BERT-base call compiles its pipelines and took 60 to 100 s here: its box leaves room for timed calls after it.
  { id: 'base-128-b1', model: 'base', kind: 'synthetic', length: 128, batch: 1, boxS: 200, boxOverrides: { 'ort-webgpu': 360 }, maxRuns: 7, referenceSequences: 1 },
  { id: 'base-128-b8', model: 'base', kind: 'synthetic', length: 128, batch: 8, boxS: 240, maxRuns: 7, referenceSequences: 1 },
  // The float64 reference at 512 tokens of BERT-base takes minutes per setting: the 128-token checks cover these weights.
  { id: 'base-512-b1', model: 'base', kind: 'synthetic', length: 512, batch: 1, boxS: 200, maxRuns: 7, referenceSequences: 0, exclude: ['ort-webgpu'] },
];

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      markdown: { type: 'string' },
      update: { type: 'string' },
      render: { type: 'string' },
      'budget-min': { type: 'string' },
      'box-scale': { type: 'string', default: '1' },
      'max-runs': { type: 'string', default: '15' },
      contenders: { type: 'string' },
      scenarios: { type: 'string' },
      'no-invariants': { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: npm run bench -- [options]
  --quick            mini model at length 128, batch 1 only (a few minutes); skips the invariant checks
  --json FILE        write every measurement as JSON to FILE
  --markdown FILE    write the results section of BENCHMARKS.md to FILE
  --update FILE      replace the text between the bench markers of FILE (BENCHMARKS.md) with the results
  --render JSON      measure nothing: print (and --markdown/--update) the results of an earlier --json file
  --budget-min M     stop starting new calls after M minutes (default 55, or 15 with --quick)
  --box-scale X      multiply every contender's time box by X (default 1)
  --max-runs N       timed calls per contender and scenario, at most (default 15; 7 for BERT-base)
  --contenders LIST  comma-separated subset of ${CONTENDERS.join(', ')}
  --scenarios LIST   comma-separated subset of ${PLAN.map((s) => s.id).join(', ')}
  --no-invariants    skip the pipeline, memory and submit checks
  --no-profile       skip the per-kernel timestamp profiles
  --verbose          log every call`);
    process.exit(0);
  }
  const positive = (name, text) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got ${JSON.stringify(text)}.`);
    return value;
  };
  const subset = (name, text, allowed) => {
    if (text === undefined) return allowed;
    const items = text.split(',').map((item) => item.trim()).filter(Boolean);
    const unknown = items.filter((item) => !allowed.includes(item));
    if (unknown.length > 0) throw new Error(`--${name}: unknown ${unknown.join(', ')}; choose from ${allowed.join(', ')}.`);
    return items;
  };
  const scenarioIds = subset('scenarios', values.scenarios, PLAN.map((s) => s.id));
  if (values.update) {
    // Fail now rather than after an hour of measuring.
    replaceSection(readFileSync(values.update, 'utf8'), '', values.update);
  }
  return {
    quick: values.quick,
    json: values.json,
    markdown: values.markdown,
    update: values.update,
    render: values.render,
    budgetMs: positive('budget-min', values['budget-min'] ?? (values.quick ? '15' : '55')) * 60_000,
    boxScale: positive('box-scale', values['box-scale']),
    maxRuns: Math.round(positive('max-runs', values['max-runs'])),
    contenders: subset('contenders', values.contenders, CONTENDERS),
    plan: PLAN.filter((s) => (values.quick ? s.quick : true) && scenarioIds.includes(s.id)),
    invariants: !values.quick && !values['no-invariants'],
    profile: !values['no-profile'],
    verbose: values.verbose,
  };
}

/** Sends COOP and COEP headers on every response, so the page is cross-origin isolated (SharedArrayBuffer for WASM threads). */
function crossOriginIsolation() {
  return {
    name: 'fca-webgpu-bench-isolation',
    configureServer(server) {
      server.middlewares.use((_req, res, next) => {
        res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
        res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
        next();
      });
    },
  };
}

/** Starts vite in middleware mode on a free port of 127.0.0.1, serving the repository and ../shared under /shared/. */
function startServer() {
  return startPageServer({
    label: 'the benchmark server',
    vite: {
      root: repoRoot,
      appType: 'mpa',
      // Its own cache, so that a dev server running on the same checkout keeps its pre-bundled dependencies.
      cacheDir: path.join(repoRoot, 'node_modules/.vite-bench-run'),
      // The page's vite client (also injected into workers) needs its websocket, so it runs on this server.
      // With no file watcher, files that others edit during a run never reload the page.
      server: (server) => ({ hmr: { server } }),
      // onnxruntime-web finds its .wasm files next to its own module: serve it from node_modules unbundled.
      optimizeDeps: { entries: [PAGE.slice(1)], exclude: ['onnxruntime-web'], include: ['onnx-proto'] },
      plugins: [crossOriginIsolation(), serveDirectory({ name: 'fca-webgpu-shared', urlPrefix: '/shared/', directory: sharedDir })],
    },
  });
}

function formatMs(ms) {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

function maxAbsValue(rows) {
  return Math.max(...rows.flat().map(Math.abs));
}

function maxAbsDiff(a, b) {
  let worst = 0;
  a.forEach((row, s) => row.forEach((value, i) => (worst = Math.max(worst, Math.abs(value - b[s][i])))));
  return worst;
}

/** Runs the plan in one page and collects every measurement. */
class BenchRun {
  constructor(page, options, log) {
    this.page = page;
    this.options = options;
    this.log = log;
    this.startedAt = Date.now();
    this.deadline = this.startedAt + options.budgetMs;
    this.records = [];
    this.firstRun = [];
    this.checks = [];
    this.profiles = [];
    this.memory = [];
    this.load = [];
    this.notes = [];
    this.failures = [];
    /** Milliseconds per encoder FLOP of each contender's latest call, by model. */
    this.msPerFlop = new Map();
    /** Contenders loaded per model, and whether each has made its first call. */
    this.loaded = new Map();
  }

  evaluate(method, ...args) {
    return this.page.evaluate(([name, params]) => window.fcaBench[name](...params), [method, args]);
  }

  remainingMs() {
    return this.deadline - Date.now();
  }

  /** Estimated milliseconds of one call of `contender` on `flops`, from its latest call on the same model; null when unknown. */
  estimate(contender, model, flops) {
    const rate = this.msPerFlop.get(`${contender}/${model}`);
    return rate === undefined ? null : rate * flops;
  }

  async loadModel(model, contenders) {
    this.log(`loading ${model} for ${contenders.join(', ')}`);
    const records = await this.evaluate('loadModel', model, contenders);
    const usable = new Set(contenders.filter((c) => FCA_CONTENDERS.includes(c)));
    for (const record of records) {
      this.firstRun.push(record);
      if (record.error) {
        this.failures.push(`${record.contender} on ${model} could not be loaded: ${record.error}`);
        this.log(`  ${record.contender}: FAILED to load: ${record.error}`);
      } else {
        if (record.contender !== 'fca-webgpu') usable.add(record.contender);
        const stages = ['files_ms', 'upload_ms', 'compile_ms', 'onnx_ms', 'session_ms'].filter((key) => record[key] !== undefined);
        this.log(`  ${record.contender}: ${stages.map((key) => `${key.replace('_ms', '')} ${formatMs(record[key])}`).join(', ')}`);
      }
    }
    this.loaded.set(model, { contenders: usable, firstCallDone: new Set() });
  }

  async call(scenario, contender, index) {
    const result = await this.evaluate('runCall', scenario.id, contender, index);
    this.msPerFlop.set(`${contender}/${scenario.model}`, result.ms / result.flops);
    const loaded = this.loaded.get(scenario.model);
    if (!loaded.firstCallDone.has(contender)) {
      loaded.firstCallDone.add(contender);
      const owner = contender.startsWith('fca-') ? 'fca-webgpu' : contender;
      const record = this.firstRun.find((r) => r.model === scenario.model && r.contender === owner);
      if (record && record.first_inference_ms === undefined) {
        record.first_inference_ms = result.ms;
        record.first_inference_contender = contender;
        record.first_inference_scenario = scenario.id;
      }
    }
    if (this.options.verbose) this.log(`    ${contender} item ${index}: ${formatMs(result.ms)}`);
    return result;
  }

  addCheck(check) {
    this.checks.push(check);
    const verdict = check.passed ? 'ok' : 'FAILED';
    this.log(`  check ${check.kind} ${check.contender}${check.against ? ` vs ${check.against}` : ''}: max |diff| ${check.maxDiff.toExponential(2)} (max |logit| ${check.maxLogit.toFixed(3)}) over ${check.sequences} sequence(s): ${verdict}`);
    if (!check.passed) this.failures.push(`${check.scenario}: ${check.contender} differs from ${check.against ?? 'the float64 reference'} by ${check.maxDiff} (> ${LOGIT_TOLERANCE})`);
  }

  async referenceChecks(scenario, spec, state, items, sequences) {
    for (const contender of FCA_CONTENDERS) {
      if (!state.has(contender) || state.get(contender).status === 'failed') continue;
      let worst = 0;
      let maxLogit = 0;
      let checked = 0;
      for (const index of items) {
        const result = await this.evaluate('referenceCheck', scenario.id, contender, index, sequences);
        worst = Math.max(worst, result.maxDiff);
        maxLogit = Math.max(maxLogit, result.maxLogit);
        checked += result.sequences;
      }
      this.addCheck({ scenario: scenario.id, kind: 'reference', contender, against: 'float64 reference', maxDiff: worst, maxLogit, sequences: checked, passed: worst <= LOGIT_TOLERANCE });
    }
  }

  /** Runs one scenario: warm-up call per contender, correctness checks, then alternating timed calls within each time box. */
  async runScenario(spec) {
    const model = spec.model;
    const loaded = this.loaded.get(model);
    const contenders = this.options.contenders.filter((c) => loaded.contenders.has(c) && !(spec.exclude ?? []).includes(c));
    const boxFor = (contender) => (spec.boxOverrides?.[contender] ?? spec.boxS) * 1000 * this.options.boxScale;
    const scenario = { id: spec.id, model };
    if (this.remainingMs() <= 0) {
      this.notes.push(`${spec.id}: not run, the run budget of ${this.options.budgetMs / 60000} min was used up.`);
      this.log(`${spec.id}: skipped (run budget used up)`);
      return;
    }
    const loadSample = startLoadSample();
    const loadBefore = loadAverage();
    const info = await this.evaluate('prepareScenario', { id: spec.id, model, kind: spec.kind, length: spec.length, batch: spec.batch });
    this.log(
      `${spec.id}: ${info.sequences} sequence(s) of ${info.minLength === info.maxLength ? info.minLength : `${info.minLength}-${info.maxLength}`} tokens; ` +
        `fca-r50 ratio ${info.fca['fca-r50'].ratio.toFixed(3)}, fca-r33 ratio ${info.fca['fca-r33'].ratio.toFixed(3)}; box ${formatMs(boxFor(contenders[0]))} per contender`,
    );

    // flops starts as the item's FLOPs count, so that the first call can be predicted from earlier scenarios.
    const state = new Map(contenders.map((c) => [c, { samples: [], spent: 0, box: boxFor(c), status: 'running', first: null, flops: info.flops[c], note: '', logits: null }]));
    if (spec.kind === 'sst2') await this.runSequential(scenario, spec, info, state);
    else await this.runRepeated(scenario, spec, state);

    const load = loadSample();
    this.load.push({ scenario: spec.id, loadavg_before: loadBefore, loadavg_after: loadAverage(), ...(load ?? {}) });
    if (load) this.log(`  CPU: this benchmark ${load.ownCores.toFixed(2)} cores, other processes ${load.otherCores.toFixed(2)} cores (of ${os.cpus().length})`);
    this.memory.push({ scenario: spec.id, model, gpu_bytes: await this.evaluate('gpuBytes', model) });

    for (const [contender, s] of state) {
      const stats = summarize(s.samples);
      const record = {
        scenario: spec.id,
        contender,
        model,
        length: spec.kind === 'sst2' ? 'sst2-dev' : spec.length,
        batch: spec.kind === 'sst2' ? 1 : spec.batch,
        median_ms: s.samples.length ? stats.median : null,
        spread_ms: s.samples.length ? [stats.min, stats.max] : null,
        iqr_ms: s.samples.length ? [stats.q1, stats.q3] : null,
        runs: s.samples.length,
        flops: spec.kind === 'sst2' ? s.totalFlops ?? null : s.flops,
        flops_ratio: contender === 'fca-r50' || contender === 'fca-r33' ? info.fca[contender].ratio : 1,
        retention: contender === 'fca-r50' || contender === 'fca-r33' ? info.fca[contender].options : null,
        first_call_ms: s.first,
        box_s: s.box / 1000,
        status: s.status === 'running' ? 'done' : s.status,
        note: s.note,
      };
      if (spec.kind === 'sst2') {
        record.sentences = s.samples.length;
        record.sentences_total = info.items;
        record.total_ms = stats.total;
        // Per-sentence times in dev-set order, so that contenders can be compared on the sentences both ran.
        record.samples_ms = s.samples.map((ms) => Math.round(ms * 1000) / 1000);
        if (s.samples.length < info.items && s.samples.length > 0) record.extrapolated_total_ms = (stats.total / s.samples.length) * info.items;
      }
      this.records.push(record);
      const spread = record.spread_ms ? ` (${formatMs(record.spread_ms[0])} - ${formatMs(record.spread_ms[1])}, n=${record.runs})` : '';
      const total = spec.kind === 'sst2' ? `, total ${formatMs(record.total_ms)} over ${record.sentences} sentences` : '';
      this.log(`  ${contender}: median ${formatMs(record.median_ms ?? NaN)}${spread}${total} [${record.status}${record.note ? `: ${record.note}` : ''}]`);
    }

    if (this.options.profile && spec.kind !== 'sst2') await this.profileScenario(scenario, state);
  }

  /** Decides whether `contender` may start a call predicted to take `predicted` ms; records why not. */
  mayStart(s, predicted) {
    const box = s.box;
    if (s.status !== 'running') return false;
    if (predicted !== null && s.spent + predicted > box) {
      s.status = s.samples.length > 0 ? 'box' : 'over';
      s.note = s.samples.length > 0 ? `time box of ${formatMs(box)} reached` : `over ${formatMs(box)}: ${s.first !== null ? `first call took ${formatMs(s.first)}` : `estimated ${formatMs(predicted)} a call`}`;
      return false;
    }
    if (predicted !== null && predicted > this.remainingMs()) {
      s.status = 'budget';
      s.note = 'run budget used up';
      return false;
    }
    return true;
  }

  async warmUp(scenario, state, index) {
    for (const [contender, s] of state) {
      // Predict the first call from this contender's time per FLOP on this model, to skip a call that cannot fit the box.
      if (!this.mayStart(s, this.estimate(contender, scenario.model, s.flops))) continue;
      try {
        const result = await this.call(scenario, contender, index);
        s.first = result.ms;
        s.spent += result.ms;
        s.flops = result.flops;
        s.logits = result.logits;
      } catch (error) {
        s.status = 'failed';
        s.note = error instanceof Error ? error.message.split('\n')[0] : String(error);
        this.failures.push(`${scenario.id}: ${contender} failed: ${s.note}`);
        this.log(`  ${contender}: FAILED: ${s.note}`);
      }
    }
  }

  /** Dense ONNX Runtime logits against fca-dense on the same inputs. */
  denseAgreement(scenario, state, sequences) {
    const reference = state.get('fca-dense');
    if (!reference?.logits) return;
    for (const [contender, s] of state) {
      if (!contender.startsWith('ort-') || !s.logits) continue;
      const maxDiff = maxAbsDiff(s.logits, reference.logits);
      this.addCheck({ scenario: scenario.id, kind: 'dense agreement', contender, against: 'fca-dense', maxDiff, maxLogit: maxAbsValue(reference.logits), sequences, passed: maxDiff <= LOGIT_TOLERANCE });
    }
  }

  async runRepeated(scenario, spec, state) {
    await this.warmUp(scenario, state, 0);
    this.denseAgreement(scenario, state, spec.batch);
    if (spec.referenceSequences > 0) await this.referenceChecks(scenario, spec, state, [0], Math.min(spec.referenceSequences, spec.batch));
    else this.notes.push(`${spec.id}: the FCA contenders were not checked against the float64 reference at this length (too slow on the CPU); the ${spec.model} checks at length 128 cover the same weights.`);

    const maxRuns = Math.min(spec.maxRuns ?? Infinity, this.options.maxRuns);
    for (let round = 0; round < maxRuns; round++) {
      const order = [...state.keys()];
      const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
      let ran = false;
      for (const contender of rotated) {
        const s = state.get(contender);
        if (s.samples.length >= maxRuns) continue;
        const predicted = s.samples.length ? s.samples[s.samples.length - 1] : s.first;
        if (!this.mayStart(s, predicted)) continue;
        const result = await this.call(scenario, contender, 0);
        s.samples.push(result.ms);
        s.spent += result.ms;
        ran = true;
      }
      if (!ran) break;
    }
  }

  async runSequential(scenario, spec, info, state) {
    await this.warmUp(scenario, state, 0);
    // Reference checks on the first sentences, before timing.
    const checkItems = Array.from({ length: Math.min(spec.referenceItems, info.items) }, (_, i) => i);
    for (const index of checkItems.slice(1)) {
      for (const contender of FCA_CONTENDERS) if (state.get(contender)?.status === 'running') await this.call(scenario, contender, index);
    }
    await this.referenceChecks(scenario, spec, state, checkItems, 1);

    const worstDense = new Map();
    for (let index = 0; index < info.items; index++) {
      const order = [...state.keys()];
      const rotated = [...order.slice(index % order.length), ...order.slice(0, index % order.length)];
      const logits = new Map();
      for (const contender of rotated) {
        const s = state.get(contender);
        // A few recent calls predict the next one; sentence lengths vary.
        const predicted = s.samples.length ? median(s.samples.slice(-8)) : s.first;
        if (!this.mayStart(s, predicted)) continue;
        const result = await this.call(scenario, contender, index);
        s.samples.push(result.ms);
        s.spent += result.ms;
        s.totalFlops = (s.totalFlops ?? 0) + result.flops;
        logits.set(contender, result.logits);
      }
      const dense = logits.get('fca-dense');
      if (dense) {
        for (const [contender, values] of logits) {
          if (!contender.startsWith('ort-')) continue;
          const entry = worstDense.get(contender) ?? { maxDiff: 0, maxLogit: 0, sequences: 0 };
          entry.maxDiff = Math.max(entry.maxDiff, maxAbsDiff(values, dense));
          entry.maxLogit = Math.max(entry.maxLogit, maxAbsValue(dense));
          entry.sequences++;
          worstDense.set(contender, entry);
        }
      }
      if ((index + 1) % 100 === 0) this.log(`  ${index + 1} of ${info.items} sentences`);
    }
    for (const [contender, entry] of worstDense) {
      this.addCheck({ scenario: scenario.id, kind: 'dense agreement', contender, against: 'fca-dense', maxDiff: entry.maxDiff, maxLogit: entry.maxLogit, sequences: entry.sequences, passed: entry.maxDiff <= LOGIT_TOLERANCE });
    }
  }

  /** Profiles each fca-webgpu contender (up to 5 passes): GPU time per kernel from timestamp queries. */
  async profileScenario(scenario, state) {
    for (const contender of FCA_CONTENDERS) {
      const s = state.get(contender);
      if (!s || s.status === 'failed' || (s.samples.length === 0 && s.first === null)) continue;
      // A profiled pass runs one compute pass per dispatch; allow it twice the normal time. Up to 5 passes within about 20 s.
      const perPass = 2 * (s.samples.length ? median(s.samples) : s.first);
      const passes = Math.max(1, Math.min(5, Math.floor(PROFILE_SECONDS * 1000 / perPass)));
      if (passes * perPass > this.remainingMs()) {
        this.notes.push(`${scenario.id}: no kernel profile for ${contender}, the run budget was used up.`);
        continue;
      }
      const { profile, wallMs } = await this.evaluate('profileCall', scenario.id, contender, 0, passes);
      this.profiles.push({ scenario: scenario.id, contender, wall_ms: wallMs, ...profile });
      const top = profile.kernels.slice(0, 4).map((k) => `${k.name} ${formatMs(k.totalMs)}`).join(', ');
      this.log(`  profile ${contender} (median of ${passes} passes): GPU ${formatMs(profile.totalMs)} in ${profile.kernels.reduce((a, k) => a + k.dispatches, 0)} dispatches (${top}, ...)`);
    }
  }
}

function chromiumVersion(browser) {
  return browser.version();
}

/** Prints the markdown of `result` and writes the --json, --markdown and --update files asked for. */
function writeOutputs(result, options) {
  const markdown = renderMarkdown(result);
  console.log(markdown);
  if (options.json && !options.render) writeFileSync(options.json, JSON.stringify(result, null, 2) + '\n');
  if (options.markdown) writeFileSync(options.markdown, markdown + '\n');
  if (options.update) writeFileSync(options.update, replaceSection(readFileSync(options.update, 'utf8'), markdown, options.update));
}

async function main() {
  const options = parseOptions();
  if (options.render) {
    writeOutputs(JSON.parse(readFileSync(options.render, 'utf8')), options);
    return 0;
  }
  const log = (message) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
  const chromiumPath = findChromium();
  if (!chromiumPath) throw new Error(chromiumInstallHint());

  const server = await startServer();
  const { chromium } = await import('playwright-core');
  // Developer features give full-precision timestamp queries (Chromium rounds them to 100 us otherwise).
  const browser = await chromium.launch({ executablePath: chromiumPath, args: [...CHROMIUM_FLAGS, '--enable-webgpu-developer-features'], headless: true });
  let run;
  let exitCode = 0;
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    page.on('console', (message) => {
      if (message.type() === 'error' || options.verbose) log(`browser ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => log(`browser uncaught error: ${error.message}`));
    page.on('crash', () => log('the browser page crashed; the results so far are written below.'));
    await page.goto(`${server.origin}${PAGE}`);
    await page.waitForFunction(() => window.fcaBenchReady === true || window.fcaBenchStartError !== undefined, null, { timeout: PAGE_READY_TIMEOUT_MS });
    const startError = await page.evaluate(() => window.fcaBenchStartError);
    if (startError !== undefined) throw new Error(`${PAGE} failed to start: ${startError}.`);

    run = new BenchRun(page, options, log);
    const environment = await run.evaluate('environment');
    run.meta = {
      date: new Date().toISOString(),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      quick: options.quick,
      nproc: os.availableParallelism?.() ?? os.cpus().length,
      cpu_model: cpuModel(),
      memory_gib: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      chromium: chromiumVersion(browser),
      chromium_path: chromiumPath,
      loadavg_start: loadAverage(),
      budget_min: options.budgetMs / 60000,
      ...environment,
    };
    log(`Chromium ${run.meta.chromium}; adapter ${JSON.stringify(environment.adapter)}; cross-origin isolated: ${environment.crossOriginIsolated}; load average ${run.meta.loadavg_start}`);

    if (options.invariants) {
      log('invariant checks on a tiny random model (pipelines, memory over 1,000 calls, submits)');
      run.invariants = await run.evaluate('invariants');
    }

    const models = [...new Set(options.plan.map((s) => s.model))];
    for (const model of models) {
      const scenarios = options.plan.filter((s) => s.model === model);
      const needed = options.contenders.filter((c) => scenarios.some((s) => !(s.exclude ?? []).includes(c)));
      if (run.remainingMs() <= 0) {
        run.notes.push(`${model}: not loaded, the run budget was used up.`);
        continue;
      }
      await run.loadModel(model, needed);
      for (const spec of scenarios) await run.runScenario(spec);
      await run.evaluate('disposeModel', model);
    }
  } catch (error) {
    exitCode = 1;
    log(`error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    run?.failures.push(`the run stopped early: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await browser.close().catch(() => {});
    await server.close().catch(() => {});
  }

  if (!run) return 1;
  run.meta.duration_min = (Date.now() - run.startedAt) / 60000;
  run.meta.loadavg_end = loadAverage();
  const result = {
    meta: run.meta,
    records: run.records,
    first_run: run.firstRun,
    checks: run.checks,
    profiles: run.profiles,
    memory: run.memory,
    load: run.load,
    invariants: run.invariants ?? null,
    notes: run.notes,
    failures: run.failures,
  };
  writeOutputs(result, options);
  if (run.failures.length > 0) {
    log(`${run.failures.length} failure(s):\n  ${run.failures.join('\n  ')}`);
    exitCode = 1;
  }
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`bench/run.mjs: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
