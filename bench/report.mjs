// Markdown tables and target verdicts from the result object of bench/run.mjs.

/** Markers around the generated section of BENCHMARKS.md (see replaceSection). */
export const SECTION_START = '<!-- bench:results:start -->';
export const SECTION_END = '<!-- bench:results:end -->';

/** FCA token-selection kernels: scoring, top-k, destinations, gather and cluster merge (every variant). */
const FCA_KERNEL = /^(attentionColumnScores|topKSelect|assignDestinations|gatherMerge)/;
/** Other processes using more cores than this on average make a scenario's numbers noisy. */
const NOISY_CORES = 0.25;

function ms(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 100) return `${Math.round(value)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

function ratio(value, digits = 2) {
  return value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}

function table(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function find(result, scenario, contender) {
  return result.records.find((r) => r.scenario === scenario && r.contender === contender);
}

/** Formats a record's median, or the reason it has none (over the box, budget, failed). */
function timeCell(record) {
  if (!record) return 'not run';
  if (record.median_ms !== null) return ms(record.median_ms);
  if (record.status === 'over') return `over ${record.box_s} s`;
  if (record.status === 'failed') return 'failed';
  if (record.status === 'budget') return 'not run (budget)';
  return record.status;
}

function machineSection(meta) {
  const adapter = meta.adapter ? [meta.adapter.vendor, meta.adapter.architecture, meta.adapter.device, meta.adapter.description].filter(Boolean).join(' / ') : 'none';
  return [
    '### Machine and run',
    '',
    table(
      ['item', 'value'],
      [
        ['date (UTC)', meta.date],
        ['command', `\`${meta.command}\``],
        ['nproc', String(meta.nproc)],
        ['CPU', meta.cpu_model ?? 'unknown'],
        ['memory', `${meta.memory_gib} GiB`],
        ['Chromium', `${meta.chromium} (${meta.chromium_path})`],
        ['WebGPU adapter', adapter],
        ['adapter features', meta.features.join(', ')],
        ['cross-origin isolated', String(meta.crossOriginIsolated)],
        ['Node', meta.node],
        ['load average at start / end', `${meta.loadavg_start} / ${meta.loadavg_end}`],
        ['duration', `${ratio(meta.duration_min, 1)} min (budget ${meta.budget_min} min)`],
      ],
    ),
  ].join('\n');
}

function loadSection(result) {
  const rows = result.load.map((l) => [
    l.scenario,
    ratio(l.ownCores),
    ratio(l.otherCores),
    `${l.loadavg_before} / ${l.loadavg_after}`,
    l.otherCores > NOISY_CORES ? '**noisy**' : 'quiet',
  ]);
  return [
    '### CPU use during each scenario',
    '',
    `Cores busy on average (of ${result.meta.nproc}), from /proc: this benchmark's processes (Node and Chromium) and all other processes. A scenario where other processes used more than ${NOISY_CORES} cores is marked noisy: its times are slower and more spread than on an idle machine.`,
    '',
    table(['scenario', 'this benchmark', 'other processes', 'load average before / after', 'verdict'], rows),
  ].join('\n');
}

function checksSection(result) {
  const rows = result.checks.map((c) => [c.scenario, c.contender, c.against, c.maxDiff.toExponential(2), ratio(c.maxLogit, 3), String(c.sequences), c.passed ? 'pass' : '**FAIL**']);
  return [
    '### Correctness checks (before timing)',
    '',
    'Dense contenders against fca-dense on the timed inputs, and each fca-webgpu contender against the float64 CPU reference (src/reference/forward.ts) at its own retention setting. Tolerance 1e-3 on the logits.',
    '',
    table(['scenario', 'contender', 'against', 'max abs logit diff', 'max abs logit', 'sequences', 'verdict'], rows),
  ].join('\n');
}

function timingSection(result) {
  const parts = ['### Steady-state times', '', 'Median of the timed calls after one warm-up call per contender, contenders alternating call by call in one page. FLOPs are encoder FLOPs per call (2 per multiply-add). "vs dense" is the contender\'s median over fca-dense\'s.', ''];
  const scenarios = [...new Set(result.records.map((r) => r.scenario))].filter((id) => !id.endsWith('sst2'));
  for (const scenario of scenarios) {
    const records = result.records.filter((r) => r.scenario === scenario);
    const dense = find(result, scenario, 'fca-dense');
    const rows = records.map((r) => [
      r.contender,
      timeCell(r),
      r.spread_ms ? `${ms(r.spread_ms[0])} - ${ms(r.spread_ms[1])}` : '-',
      r.iqr_ms ? `${ms(r.iqr_ms[0])} - ${ms(r.iqr_ms[1])}` : '-',
      String(r.runs),
      r.flops ? (r.flops / 1e9).toFixed(2) : '-',
      ratio(r.flops_ratio, 3),
      dense?.median_ms && r.median_ms ? ratio(r.median_ms / dense.median_ms) : '-',
      ms(r.first_call_ms),
      r.retention ? r.retention.retention.map((v) => v.toFixed(3)).join(', ') : '-',
      r.note || '',
    ]);
    const first = records[0];
    parts.push(`#### ${scenario}: ${first.model}, length ${first.length}, batch ${first.batch}`, '');
    parts.push(table(['contender', 'median', 'min - max', 'IQR', 'n', 'GFLOPs', 'FLOPs ratio', 'vs dense', 'first call', 'retention per layer (K = 2)', 'note'], rows), '');
  }
  return parts.join('\n');
}

function sst2Section(result) {
  const records = result.records.filter((r) => r.length === 'sst2-dev');
  if (records.length === 0) return '';
  const rows = records.map((r) => [
    r.contender,
    `${r.sentences} / ${r.sentences_total}`,
    ms(r.total_ms),
    r.extrapolated_total_ms ? `${ms(r.extrapolated_total_ms)} (extrapolated)` : '-',
    timeCell(r),
    r.spread_ms ? `${ms(r.spread_ms[0])} - ${ms(r.spread_ms[1])}` : '-',
    ratio(r.flops_ratio, 3),
    r.note || '',
  ]);
  return [
    '### SST-2 dev sentences, one at a time (mini model)',
    '',
    'Each sentence is one call; contenders alternate sentence by sentence. A contender whose time box ran out stops; its total over all sentences is extrapolated from its mean.',
    '',
    table(['contender', 'sentences', 'total', 'total over all', 'median per sentence', 'min - max', 'FLOPs ratio', 'note'], rows),
  ].join('\n');
}

function firstRunSection(result) {
  const rows = result.first_run.map((r) => [
    r.model,
    r.contender,
    ms(r.files_ms),
    ms(r.upload_ms),
    ms(r.compile_ms),
    r.onnx_ms !== undefined ? `${ms(r.onnx_ms)} (${(r.onnx_bytes / 2 ** 20).toFixed(0)} MiB)` : '-',
    ms(r.session_ms),
    r.first_inference_ms !== undefined ? `${ms(r.first_inference_ms)} (${r.first_inference_scenario})` : '-',
    r.error ? `**load failed**: ${r.error}` : '',
  ]);
  return [
    '### First-run latency',
    '',
    'Files: fetching and parsing the model folder (mini) or generating the random weights (base). Upload: weights to the GPU. Compile: every fca-webgpu pipeline (warmUp()). ONNX: fetching (mini) or building (base) the ONNX file. Session: InferenceSession.create. First inference: the first call of the first scenario, which for ONNX Runtime WebGPU includes compiling its pipelines.',
    '',
    table(['model', 'contender', 'files', 'upload', 'compile', 'ONNX', 'session', 'first inference', 'note'], rows),
  ].join('\n');
}

function memorySection(result) {
  const rows = result.memory.map((m) => [m.scenario, m.model, `${(m.gpu_bytes / 2 ** 20).toFixed(1)} MiB`]);
  return ['### GPU memory held by fca-webgpu', '', 'FcaModel.gpuBytes (weights plus the activation pool, which grows to the largest pass so far) after each scenario.', '', table(['after scenario', 'model', 'gpuBytes'], rows)].join('\n');
}

function selectionShare(result, scenario, contender) {
  const fca = result.profiles.find((p) => p.scenario === scenario && p.contender === contender);
  const dense = result.profiles.find((p) => p.scenario === scenario && p.contender === 'fca-dense');
  if (!fca || !dense || dense.totalMs <= 0) return null;
  const selection = fca.kernels.filter((k) => FCA_KERNEL.test(k.name)).reduce((sum, k) => sum + k.totalMs, 0);
  return { selectionMs: selection, denseMs: dense.totalMs, share: selection / dense.totalMs };
}

function profileSection(result) {
  if (result.profiles.length === 0) return '';
  const parts = [
    '### GPU time per kernel (timestamp queries)',
    '',
    'Profiled passes run one compute pass per dispatch, so their totals are larger than a normal pass. A kernel\'s time is summed over its dispatches in a pass; the table gives the median over the profiled passes (up to 5 per contender) of that sum, and the total is the median of the pass totals.',
    '',
  ];
  const scenarios = [...new Set(result.profiles.map((p) => p.scenario))];
  for (const scenario of scenarios) {
    const profiles = result.profiles.filter((p) => p.scenario === scenario);
    const names = [...new Set(profiles.flatMap((p) => p.kernels.map((k) => k.name)))];
    const cell = (profile, name) => {
      const kernel = profile.kernels.find((k) => k.name === name);
      if (!kernel) return '-';
      return `${ms(kernel.totalMs)} (${((100 * kernel.totalMs) / profile.totalMs).toFixed(1)}%, ${kernel.dispatches})`;
    };
    const rows = names.map((name) => [name, ...profiles.map((p) => cell(p, name))]);
    rows.push(['**total GPU**', ...profiles.map((p) => `${ms(p.totalMs)} (wall ${ms(p.wall_ms)}, ${p.passes} passes)`)]);
    parts.push(`#### ${scenario}`, '', table(['kernel', ...profiles.map((p) => `${p.contender}: time (% of pass, dispatches)`)], rows), '');
  }
  return parts.join('\n');
}

/** Formats the distance between a measured value and its limit as "N to spare" or "misses by N", in `unit`. */
function gap(measured, limit, higherIsBetter, unit = '') {
  const distance = higherIsBetter ? measured - limit : limit - measured;
  return distance >= 0 ? `${ratio(distance)}${unit} to spare` : `misses by ${ratio(-distance)}${unit}`;
}

/** Met, missed or not measured, per issue target. */
function targetRows(result) {
  const rows = [];
  const verdict = (met) => (met ? 'met' : '**missed**');

  // (1) FCA time over dense time at most the FLOPs ratio + 0.10 at BERT-base shapes, and cheap selection kernels.
  for (const scenario of ['base-128-b1', 'base-128-b8', 'base-512-b1']) {
    const dense = find(result, scenario, 'fca-dense');
    for (const contender of ['fca-r50', 'fca-r33']) {
      const fca = find(result, scenario, contender);
      const label = `1. ${contender} time / dense time <= FLOPs ratio + 0.10 (${scenario})`;
      if (!dense?.median_ms || !fca?.median_ms) {
        rows.push([label, `not measured (${timeCell(fca)} vs ${timeCell(dense)})`, 'not measured']);
        continue;
      }
      const timeRatio = fca.median_ms / dense.median_ms;
      const limit = fca.flops_ratio + 0.1;
      rows.push([label, `${ratio(timeRatio)} vs limit ${ratio(limit)} (FLOPs ratio ${ratio(fca.flops_ratio, 3)}); ${gap(timeRatio, limit, false)}`, verdict(timeRatio <= limit)]);
    }
    for (const contender of ['fca-r50', 'fca-r33']) {
      const share = selectionShare(result, scenario, contender);
      const label = `1. scoring + top-k + gather + cluster kernels < 10% of a dense pass (${scenario}, ${contender})`;
      if (!share) rows.push([label, 'no profile', 'not measured']);
      else rows.push([label, `${ms(share.selectionMs)} of ${ms(share.denseMs)} = ${(100 * share.share).toFixed(1)}%; ${gap(100 * share.share, 10, false, ' points')}`, verdict(share.share < 0.1)]);
    }
  }

  // (2) dense fca-webgpu >= 5x faster than ORT WebGPU at length 128, >= 20x over the SST-2 dev set.
  for (const scenario of ['mini-128-b1', 'mini-128-b8', 'base-128-b1', 'base-128-b8']) {
    const dense = find(result, scenario, 'fca-dense');
    const ort = find(result, scenario, 'ort-webgpu');
    const label = `2. fca-dense >= 5x faster than ort-webgpu (${scenario})`;
    if (!dense?.median_ms || !ort) {
      rows.push([label, `not measured (${timeCell(dense)} vs ${timeCell(ort)})`, 'not measured']);
    } else if (ort.median_ms) {
      const speedup = ort.median_ms / dense.median_ms;
      rows.push([label, `${ratio(speedup, 1)}x (${ms(ort.median_ms)} vs ${ms(dense.median_ms)}); ${gap(speedup, 5, true, 'x')}`, verdict(speedup >= 5)]);
    } else if (ort.status === 'over') {
      // A first call includes pipeline compilation, so it bounds nothing about later calls: no verdict.
      rows.push([label, `ort-webgpu ${ort.note} (fca-dense ${ms(dense.median_ms)})`, 'not measured']);
    } else {
      rows.push([label, `ort-webgpu ${timeCell(ort)}`, 'not measured']);
    }
  }
  const denseSst = find(result, 'mini-sst2', 'fca-dense');
  const ortSst = find(result, 'mini-sst2', 'ort-webgpu');
  if (denseSst?.samples_ms?.length && ortSst?.samples_ms?.length) {
    const k = Math.min(ortSst.samples_ms.length, denseSst.samples_ms.length);
    const sum = (values) => values.slice(0, k).reduce((a, b) => a + b, 0);
    const speedup = sum(ortSst.samples_ms) / sum(denseSst.samples_ms);
    const scope = k === ortSst.sentences_total ? `all ${k} sentences` : `the first ${k} of ${ortSst.sentences_total} sentences (ort-webgpu's time box ran out)`;
    rows.push([`2. fca-dense >= 20x faster than ort-webgpu over the SST-2 dev sentences (mini-sst2)`, `${ratio(speedup, 1)}x on ${scope}; ${gap(speedup, 20, true, 'x')}`, verdict(speedup >= 20)]);
  } else {
    rows.push(['2. fca-dense >= 20x faster than ort-webgpu over the SST-2 dev sentences (mini-sst2)', 'not measured', 'not measured']);
  }

  // (3) FCA at ~0.33 no slower than ORT WASM 1 thread; dense within 3x of it.
  const scenarios = [...new Set(result.records.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const wasm = find(result, scenario, 'ort-wasm-1t');
    const r33 = find(result, scenario, 'fca-r33');
    const dense = find(result, scenario, 'fca-dense');
    if (!wasm?.median_ms) {
      rows.push([`3. fca-r33 <= ort-wasm-1t, fca-dense <= 3x ort-wasm-1t (${scenario})`, `ort-wasm-1t ${timeCell(wasm)}`, 'not measured']);
      continue;
    }
    if (r33?.median_ms) {
      const rel = r33.median_ms / wasm.median_ms;
      rows.push([`3. fca-r33 at most as slow as ort-wasm-1t (${scenario})`, `${ratio(rel)}x the WASM time (${ms(r33.median_ms)} vs ${ms(wasm.median_ms)}); ${gap(rel, 1, false, 'x')}`, verdict(rel <= 1)]);
    } else rows.push([`3. fca-r33 at most as slow as ort-wasm-1t (${scenario})`, `fca-r33 ${timeCell(r33)}`, 'not measured']);
    if (dense?.median_ms) {
      const rel = dense.median_ms / wasm.median_ms;
      rows.push([`3. fca-dense within 3x of ort-wasm-1t (${scenario})`, `${ratio(rel)}x the WASM time (${ms(dense.median_ms)} vs ${ms(wasm.median_ms)}); ${gap(rel, 3, false, 'x')}`, verdict(rel <= 3)]);
    } else rows.push([`3. fca-dense within 3x of ort-wasm-1t (${scenario})`, `fca-dense ${timeCell(dense)}`, 'not measured']);
  }

  rows.push(['4. GEMM >= 10 GFLOP/s at 128x768x3072', 'measured by `node bench/gemm.mjs` (see the GEMM section)', 'see GEMM section']);

  const inv = result.invariants;
  if (!inv) {
    rows.push(['5-7. pipelines, memory, submits', 'not run by this command (--quick or --no-invariants); e2e/perf-invariants.spec.ts checks them in npm test', 'not measured']);
  } else {
    const pipelinesOk = inv.pipelines.changedAt.length === 0 && inv.pipelines.pipelinesAfterRuns === inv.pipelines.pipelinesAfterWarmUp;
    rows.push([
      '5. no pipeline created after warm-up (lengths 1-512, tiny model)',
      `${inv.pipelines.pipelinesAfterWarmUp} pipelines after warm-up, ${inv.pipelines.pipelinesAfterRuns} after ${inv.pipelines.calls} calls`,
      verdict(pipelinesOk),
    ]);
    const [early, late] = inv.memory.snapshots;
    const memoryOk = early.gpuBytes === late.gpuBytes && early.buffersLive === late.buffersLive;
    rows.push([
      '6. GPU memory flat over 1,000 calls',
      `gpuBytes ${early.gpuBytes} after call ${early.call}, ${late.gpuBytes} after call ${late.call}; live buffers ${early.buffersLive} / ${late.buffersLive}; buffers created after call ${early.call}: ${late.buffersCreated - early.buffersCreated}`,
      verdict(memoryOk),
    ]);
    const submitsOk = inv.submits.every((c) => c.encoders === Math.ceil(c.inputs / c.batchSize) && c.submits === c.encoders);
    rows.push(['7. one command encoder and one submit per forward pass', inv.submits.map((c) => `${c.name}: ${c.encoders} encoder(s), ${c.submits} submit(s)`).join('; '), verdict(submitsOk)]);
  }
  return rows;
}

function targetsSection(result) {
  const ran = new Set(result.records.map((r) => r.scenario));
  // Rows name their scenario in parentheses; rows of scenarios outside this run are left out.
  const rows = targetRows(result).filter(([label]) => {
    const scenario = /\(([a-z0-9-]+)[,)]/.exec(label)?.[1];
    return !scenario || ran.has(scenario) || !/^(mini|base)-/.test(scenario);
  });
  return ['### Targets', '', table(['target', 'measured', 'verdict'], rows)].join('\n');
}

/** Renders the results section of BENCHMARKS.md for one run of bench/run.mjs. */
export function renderMarkdown(result) {
  const sections = [
    SECTION_START,
    `## Results of \`${result.meta.command}\` (${result.meta.date.slice(0, 10)})`,
    machineSection(result.meta),
    targetsSection(result),
    timingSection(result),
    sst2Section(result),
    firstRunSection(result),
    memorySection(result),
    profileSection(result),
    checksSection(result),
    loadSection(result),
  ];
  if (result.notes.length) sections.push(['### Notes', '', ...result.notes.map((n) => `- ${n}`)].join('\n'));
  if (result.failures.length) sections.push(['### Failures', '', ...result.failures.map((f) => `- ${f}`)].join('\n'));
  sections.push(SECTION_END);
  return sections.filter(Boolean).join('\n\n');
}

/** Replaces the text between SECTION_START and SECTION_END in `text` (markers included) with `markdown`. */
export function replaceSection(text, markdown, file) {
  const start = text.indexOf(SECTION_START);
  const end = text.indexOf(SECTION_END);
  if (start < 0 || end < start) {
    throw new Error(`${file} has no ${SECTION_START} ... ${SECTION_END} pair; add the two markers where the results go, or use --markdown FILE.`);
  }
  return text.slice(0, start) + markdown + text.slice(end + SECTION_END.length);
}
