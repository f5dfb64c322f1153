/**
 * Demo page: loads a BERT classifier with fca-webgpu, runs a dense pass and an
 * FCA pass on the typed text, and shows both results next to the tokens each
 * FCA layer kept.
 *
 * Hooks for tests: `window.demoReady` is true while a loaded model can
 * classify. `document.body.dataset.state` is 'busy' while a model loads or a
 * classification runs, 'ready' after the last operation succeeded and 'error'
 * after it failed. `document.body.dataset.runs` counts finished Classify
 * requests, failed ones included.
 */
import { DeviceError, InputError, RetentionError, loadModel, parseRetentionFile } from '../src/index.js';
import type { ClassifyInput, ClassifyOptions, ClassifyResult, FcaModel } from '../src/index.js';

declare global {
  interface Window {
    /** True while a loaded model can classify; set by the demo page for tests. */
    demoReady?: boolean;
  }
}

type PageState = 'ready' | 'busy' | 'error';

/** Served by the dev server from the repository's models/ folder. */
const DEFAULT_MODEL_URL = '/models/sst2-bert-mini/';
const DEFAULT_MODEL_NAME = 'sst2-bert-mini (bundled)';
/** The second bundled model, fine-tuned with FCA in place; its retention.json contains the setting it was trained for. */
const DISTILLED_MODEL_URL = '/models/sst2-bert-mini-fca-distilled/';
const DISTILLED_MODEL_NAME = 'sst2-bert-mini-fca-distilled (bundled, FCA fine-tuned)';

const WEBGPU_HINT =
  'This page needs WebGPU. Use Chrome or Edge 113 or later on Windows, macOS or ChromeOS. ' +
  'On Linux, start Chrome or Chromium with --enable-unsafe-webgpu, and add --enable-unsafe-swiftshader ' +
  'on a machine without a GPU (a slow CPU fallback). Browsers expose WebGPU only in secure contexts: ' +
  'open the page over https or from http://localhost or http://127.0.0.1.';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`demo/index.html has no element with id "${id}". Restore the element.`);
  return found as T;
}

const ui = {
  modelName: element<HTMLElement>('model-name'),
  modelDetails: element<HTMLElement>('model-details'),
  adapter: element<HTMLElement>('adapter'),
  status: element<HTMLElement>('status'),
  loadError: element<HTMLElement>('load-error'),
  modelFolder: element<HTMLInputElement>('model-folder'),
  loadDefault: element<HTMLButtonElement>('load-default'),
  loadDistilled: element<HTMLButtonElement>('load-distilled'),
  form: element<HTMLFormElement>('classify-form'),
  text: element<HTMLInputElement>('text'),
  textError: element<HTMLElement>('text-error'),
  textPair: element<HTMLInputElement>('text-pair'),
  retention: element<HTMLInputElement>('retention'),
  clusters: element<HTMLInputElement>('clusters'),
  settingsError: element<HTMLElement>('settings-error'),
  classify: element<HTMLButtonElement>('classify'),
  classifyError: element<HTMLElement>('classify-error'),
  results: element<HTMLElement>('results'),
  inputSummary: element<HTMLElement>('input-summary'),
  truncated: element<HTMLElement>('truncated'),
  denseResult: element<HTMLElement>('dense-result'),
  fcaResult: element<HTMLElement>('fca-result'),
  fcaLayers: element<HTMLOListElement>('fca-layers'),
};

let model: FcaModel | null = null;
let modelName = '';
let busy = false;
let finishedRuns = 0;

// ---------------------------------------------------------------------------
// Page state

function setState(state: PageState): void {
  busy = state === 'busy';
  document.body.dataset.state = state;
  window.demoReady = model !== null && !busy;
  ui.classify.disabled = model === null || busy;
  ui.modelFolder.disabled = busy;
  ui.loadDefault.disabled = busy;
  ui.loadDistilled.disabled = busy;
  ui.form.setAttribute('aria-busy', String(busy));
}

function showMessage(target: HTMLElement, message: string): void {
  target.textContent = message;
  target.hidden = false;
}

function hideMessage(target: HTMLElement): void {
  target.textContent = '';
  target.hidden = true;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function webGpuLooksMissing(error: unknown): boolean {
  return error instanceof DeviceError || !window.isSecureContext || !('gpu' in navigator);
}

// ---------------------------------------------------------------------------
// Loading a model

async function load(source: string | FileList, name: string): Promise<void> {
  setState('busy');
  hideMessage(ui.loadError);
  showMessage(ui.status, `Loading ${name}.`);
  const started = performance.now();

  try {
    const loaded = await loadModel(source, { onProgress: (message) => showMessage(ui.status, message) });
    model?.dispose();
    model = loaded;
    modelName = name;
  } catch (error) {
    console.error(`Loading ${name} failed`, error);
    const lines = [`Loading ${name} failed. ${errorText(error)}`];
    if (webGpuLooksMissing(error)) lines.push(WEBGPU_HINT);
    if (model) lines.push(`The previous model, ${modelName}, is still loaded.`);
    showMessage(ui.loadError, lines.join('\n\n'));
    showMessage(ui.status, model ? `Loaded: ${modelName}.` : 'No model loaded.');
    setState('error');
    return;
  }

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  ui.modelName.textContent = name;
  ui.modelDetails.textContent =
    `${model.config.numLayers} layers, hidden size ${model.config.hiddenSize}, ` +
    `labels: ${model.config.labels.join(', ')}.`;
  ui.adapter.textContent = model.adapterDescription;
  showMessage(ui.status, `Loaded ${name} in ${seconds} s.`);
  clearResults();
  setState('ready');
}

/** Returns the folder name of files picked with webkitdirectory ("folder/config.json" gives "folder"). */
function folderName(files: FileList): string {
  const path = files[0]?.webkitRelativePath ?? '';
  return path.includes('/') ? path.slice(0, path.indexOf('/')) : 'the picked folder';
}

ui.modelFolder.addEventListener('change', () => {
  const files = ui.modelFolder.files;
  if (!files || files.length === 0 || busy) return;
  void load(files, folderName(files));
});

ui.loadDefault.addEventListener('click', () => {
  if (!busy) void load(DEFAULT_MODEL_URL, DEFAULT_MODEL_NAME);
});

ui.loadDistilled.addEventListener('click', () => {
  if (busy) return;
  void (async () => {
    await load(DISTILLED_MODEL_URL, DISTILLED_MODEL_NAME);
    try {
      const setting = parseRetentionFile(await (await fetch(`${DISTILLED_MODEL_URL}retention.json`)).text(), 'retention.json');
      ui.retention.value = ([] as number[]).concat(setting.retention ?? []).join(', ');
      ui.clusters.value = String(setting.clusters ?? 0);
    } catch (error) {
      showMessage(ui.loadError, `The model loaded, but its retention.json could not be read: ${errorText(error)}`);
    }
  })();
});

// ---------------------------------------------------------------------------
// Reading the form

function readInput(): ClassifyInput | null {
  const text = ui.text.value.trim();
  const textPair = ui.textPair.value.trim();
  if (text === '') {
    showMessage(ui.textError, 'The text box is empty. Type a sentence to classify.');
    return null;
  }
  return textPair === '' ? text : { text, text_pair: textPair };
}

function parseNumber(raw: string, field: string, example: string): number | null {
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (Number.isNaN(value)) {
    showMessage(ui.settingsError, `${field} "${raw.trim()}" is not a number. Enter a number such as ${example}.`);
    return null;
  }
  return value;
}

/**
 * Parses the FCA fields into classify options. Only the number syntax is
 * checked here; ranges and the per-layer count are left to the engine, whose
 * RetentionError message is shown as it is.
 */
function readFcaOptions(): ClassifyOptions | null {
  const retention: number[] = [];
  for (const part of ui.retention.value.split(',')) {
    const value = parseNumber(part, 'Retention fraction', '0.5');
    if (value === null) return null;
    retention.push(value);
  }

  const clusters = parseNumber(ui.clusters.value, 'Clusters K', '2');
  if (clusters === null) return null;

  return { retention: retention.length === 1 ? retention[0] : retention, clusters, trace: true };
}

// ---------------------------------------------------------------------------
// Classifying

function clearResults(): void {
  ui.results.hidden = true;
  ui.inputSummary.textContent = '';
  ui.truncated.textContent = '';
  ui.denseResult.replaceChildren();
  ui.fcaResult.replaceChildren();
  ui.fcaLayers.replaceChildren();
}

function finishRun(state: PageState): void {
  finishedRuns += 1;
  document.body.dataset.runs = String(finishedRuns);
  setState(state);
}

/**
 * Runs the FCA pass, then the dense pass, and shows both. Any failure clears
 * the previous results, so no numbers from older settings stay on screen.
 */
async function classify(): Promise<void> {
  if (!model || busy) return;
  hideMessage(ui.textError);
  hideMessage(ui.settingsError);
  hideMessage(ui.classifyError);
  clearResults();

  const input = readInput();
  const fcaOptions = input === null ? null : readFcaOptions();
  if (input === null || fcaOptions === null) {
    finishRun('error');
    return;
  }

  setState('busy');
  try {
    // FCA first: invalid settings fail before the slower dense pass runs.
    const fcaStarted = performance.now();
    const [fca] = await model.classify([input], fcaOptions);
    const fcaMs = performance.now() - fcaStarted;

    const denseStarted = performance.now();
    const [dense] = await model.classify([input]);
    const denseMs = performance.now() - denseStarted;

    renderResults(model, dense, denseMs, fca, fcaMs);
    finishRun('ready');
  } catch (error) {
    console.error('Classify failed', error);
    if (error instanceof RetentionError) {
      showMessage(ui.settingsError, error.message);
    } else if (error instanceof InputError) {
      showMessage(ui.textError, error.message);
    } else {
      const hint = error instanceof DeviceError ? `\n\n${WEBGPU_HINT}` : '';
      showMessage(ui.classifyError, `Classify failed. ${errorText(error)}${hint}`);
    }
    finishRun('error');
  }
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  void classify();
});

// ---------------------------------------------------------------------------
// Rendering results

function create<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatFlops(flops: number): string {
  if (flops >= 1e9) return `${(flops / 1e9).toFixed(2)} GFLOPs`;
  return `${(flops / 1e6).toFixed(2)} MFLOPs`;
}

/** Builds a labelled line such as "Encoder FLOPs: 76.09 MFLOPs", with the exact value in data-value. */
function fact(testId: string, name: string, displayText: string, value: string): HTMLParagraphElement {
  const line = create('p', { class: 'fact' }, `${name}: `);
  line.append(create('span', { 'data-testid': testId, 'data-value': value }, displayText));
  return line;
}

function probabilityBars(prefix: string, labels: string[], result: ClassifyResult): HTMLElement {
  const list = create('ul', { class: 'bars', 'data-testid': `${prefix}-probabilities` });
  result.probabilities.forEach((probability, labelId) => {
    const percent = `${(probability * 100).toFixed(1)}%`;
    const row = create('li', { class: labelId === result.label_id ? 'bar-row top' : 'bar-row' });
    row.append(create('span', { class: 'bar-label' }, labels[labelId] ?? `label ${labelId}`));
    const track = create('span', { class: 'bar-track', 'aria-hidden': 'true' });
    track.append(create('span', { class: 'bar-fill', style: `width: ${(probability * 100).toFixed(2)}%` }));
    row.append(track);
    row.append(
      create('span', { class: 'bar-value', 'data-testid': `${prefix}-prob-${labelId}`, 'data-value': String(probability) }, percent),
    );
    list.append(row);
  });
  return list;
}

function renderPass(
  target: HTMLElement,
  prefix: 'dense' | 'fca',
  labels: string[],
  result: ClassifyResult,
  ms: number,
): void {
  const labelLine = create('p', { class: 'label-line' }, 'Label: ');
  labelLine.append(create('strong', { 'data-testid': `${prefix}-label` }, result.label));
  target.append(labelLine);
  target.append(probabilityBars(prefix, labels, result));

  const logits = result.logits.map((logit) => logit.toFixed(3)).join(', ');
  target.append(fact(`${prefix}-logits`, 'Logits', logits, JSON.stringify(result.logits)));
  target.append(fact(`${prefix}-flops`, 'Encoder FLOPs', formatFlops(result.flops), String(result.flops)));
  const perLayer = result.tokens_per_layer.join(', ');
  target.append(fact(`${prefix}-tokens-per-layer`, 'Tokens per layer', perLayer, JSON.stringify(result.tokens_per_layer)));
  target.append(fact(`${prefix}-time`, 'Time', `${ms.toFixed(0)} ms`, ms.toFixed(1)));
}

function renderFlopsRatio(dense: ClassifyResult, fca: ClassifyResult): HTMLElement {
  const ratio = fca.flops / dense.flops;
  const saved = ((1 - ratio) * 100).toFixed(1);
  return fact('fca-flops-ratio', 'FCA / dense FLOPs', `${ratio.toFixed(3)} (${saved}% fewer)`, String(ratio));
}

/**
 * Renders one row per layer: every input token as a chip, highlighted when
 * the layer's output still contains it, then one marker per cluster.
 */
function renderLayers(fca: ClassifyResult): void {
  if (!fca.trace) {
    ui.fcaLayers.append(create('li', { class: 'help' }, 'The engine returned no trace, so kept tokens cannot be shown.'));
    return;
  }

  fca.trace.forEach((layer, index) => {
    const kept = new Set(layer.positions.filter((position) => position >= 0));
    const clusters = layer.positions.length - kept.size;
    const tokenCount = fca.tokens_per_layer[index] ?? layer.positions.length;

    const row = create('li', {
      class: 'layer',
      'data-testid': `fca-layer-${index}`,
      'data-tokens': String(tokenCount),
      'data-kept': String(kept.size),
      'data-clusters': String(clusters),
    });
    const clusterWord = clusters === 1 ? 'cluster' : 'clusters';
    row.append(
      create('p', { class: 'layer-title' }, `Layer ${index + 1}: ${tokenCount} tokens (${kept.size} input tokens + ${clusters} ${clusterWord})`),
    );

    const chips = create('div', { class: 'chips' });
    fca.tokens.forEach((token, position) => {
      const isKept = kept.has(position);
      chips.append(
        create(
          'span',
          {
            class: isKept ? 'chip kept' : 'chip removed',
            'data-position': String(position),
            'data-kept': String(isKept),
            title: `${token} (input position ${position}) ${isKept ? 'kept' : 'merged or dropped'}`,
          },
          token,
        ),
      );
    });
    for (let cluster = 0; cluster < clusters; cluster++) {
      chips.append(create('span', { class: 'chip cluster', 'data-cluster': 'true', title: 'cluster: a weighted average of merged tokens' }, 'cluster'));
    }
    row.append(chips);
    ui.fcaLayers.append(row);
  });
}

function renderResults(loaded: FcaModel, dense: ClassifyResult, denseMs: number, fca: ClassifyResult, fcaMs: number): void {
  const labels = loaded.config.labels;
  ui.inputSummary.textContent = `${dense.tokens.length} input tokens, [CLS] and [SEP] included.`;
  ui.truncated.textContent = dense.truncated ? 'yes, the input was cut to the model\'s maximum length' : 'no';
  ui.truncated.dataset.value = String(dense.truncated);

  renderPass(ui.denseResult, 'dense', labels, dense, denseMs);
  renderPass(ui.fcaResult, 'fca', labels, fca, fcaMs);
  ui.fcaResult.append(renderFlopsRatio(dense, fca));
  renderLayers(fca);
  ui.results.hidden = false;
}

// ---------------------------------------------------------------------------
// Start

function modelUrlFromQuery(): string {
  const requested = new URLSearchParams(window.location.search).get('model');
  return requested ?? DEFAULT_MODEL_URL;
}

const startUrl = modelUrlFromQuery();
void load(startUrl, startUrl === DEFAULT_MODEL_URL ? DEFAULT_MODEL_NAME : startUrl);
