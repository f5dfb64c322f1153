import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ModelLoadError, parseBertConfig } from '../src/model/config.js';
import { loadModelFiles, modelFilesFromBuffers } from '../src/model/load.js';
import { expectedWeightShapes } from '../src/model/weights.js';

const modelDir = fileURLToPath(new URL('../../shared/models/sst2-bert-mini/', import.meta.url));
const folderNames = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'];

/** The real model folder's files by name, read once. */
const folder = new Map<string, Uint8Array<ArrayBuffer>>();
/** Golden ids of the first input, the expected output of a loaded tokenizer. */
let goldenFirst: { text: string; input_ids: number[] };

beforeAll(() => {
  for (const name of folderNames) folder.set(name, new Uint8Array(readFileSync(modelDir + name)));
  goldenFirst = JSON.parse(readFileSync(`${modelDir}golden.jsonl`, 'utf8').split('\n')[0]);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

const text = (name: string): string => new TextDecoder().decode(folder.get(name)!);

const BASE = 'http://127.0.0.1:5173/models/mini/';

/**
 * Stubs global fetch with a server for `files`, which maps a URL to a body or
 * to an HTTP error status. Every other URL gets a 404. Returns the requested URLs.
 */
function serve(files: Map<string, Uint8Array<ArrayBuffer> | string | number>): string[] {
  const requested: string[] = [];
  vi.stubGlobal('fetch', async (input: string | URL) => {
    const url = String(input);
    requested.push(url);
    const body = files.get(url);
    if (body === undefined) return new Response('not found', { status: 404, statusText: 'Not Found' });
    if (typeof body === 'number') return new Response('error', { status: body, statusText: 'Internal Server Error' });
    return new Response(body, { status: 200 });
  });
  return requested;
}

function servedFolder(names: string[], base = BASE): Map<string, Uint8Array<ArrayBuffer> | string | number> {
  return new Map(names.map((name) => [base + name, folder.get(name)!]));
}

async function loadError(source: Parameters<typeof loadModelFiles>[0]): Promise<Error> {
  try {
    await loadModelFiles(source);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelLoadError);
    return error as Error;
  }
  throw new Error('loadModelFiles accepted an invalid folder');
}

/** Creates a File as `<input webkitdirectory>` gives it, with its path inside the chosen folder. */
function folderFile(relativePath: string, body: Uint8Array<ArrayBuffer> | string): File {
  const file = new File([body], relativePath.split('/').pop()!);
  Object.defineProperty(file, 'webkitRelativePath', { value: relativePath });
  return file;
}

/** Returns a one-layer BertModel config.json with `vocabSize` tokens. */
function tinyConfig(vocabSize: number): Record<string, unknown> {
  return {
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: vocabSize,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 6,
  };
}

/** Builds a safetensors file of zero F32 tensors with the shapes that `config` needs. */
function zeroCheckpoint(config: Record<string, unknown>): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of expectedWeightShapes(parseBertConfig(config))) {
    const bytes = 4 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  return file;
}

describe('modelFilesFromBuffers', () => {
  it('loads the real folder with tokenizer.json', () => {
    const files = modelFilesFromBuffers({
      config: text('config.json'),
      safetensors: folder.get('model.safetensors')!,
      tokenizerJson: text('tokenizer.json'),
      tokenizerConfig: text('tokenizer_config.json'),
    });
    expect(files.config.numLayers).toBe(4);
    expect(files.weights.size).toBe(73);
    expect(files.tokenizer.encode(goldenFirst.text, null, 512).inputIds).toEqual(goldenFirst.input_ids);
  });

  it('falls back to vocab.txt', () => {
    const files = modelFilesFromBuffers({
      config: text('config.json'),
      safetensors: folder.get('model.safetensors')!,
      vocabTxt: text('vocab.txt'),
    });
    expect(files.tokenizer.encode(goldenFirst.text, null, 512).inputIds).toEqual(goldenFirst.input_ids);
  });

  it('rejects a folder without a tokenizer', () => {
    const action = () => modelFilesFromBuffers({ config: text('config.json'), safetensors: folder.get('model.safetensors')! });
    expect(action).toThrow(ModelLoadError);
    expect(action).toThrow(/tokenizer\.json nor vocab\.txt/);
  });

  it('rejects malformed config.json', () => {
    const action = () => modelFilesFromBuffers({ config: '{"hidden_size": 256,', safetensors: folder.get('model.safetensors')!, vocabTxt: 'x' });
    expect(action).toThrow(ModelLoadError);
    expect(action).toThrow(/config\.json is not valid JSON/);
  });

  it('rejects a tokenizer larger than the embedding table', () => {
    const config = tinyConfig(10);
    const safetensors = zeroCheckpoint(config);
    const vocab = (size: number) => ['[PAD]', '[UNK]', '[CLS]', '[SEP]', ...Array.from({ length: size - 4 }, (_, i) => `w${i}`)].join('\n');

    const fits = modelFilesFromBuffers({ config: JSON.stringify(config), safetensors, vocabTxt: vocab(10) });
    expect(fits.tokenizer.vocabSize).toBe(10);

    const action = () => modelFilesFromBuffers({ config: JSON.stringify(config), safetensors, vocabTxt: vocab(12) });
    expect(action).toThrow(ModelLoadError);
    expect(action).toThrow(/vocab\.txt has 12 tokens but config\.json's vocab_size is 10/);
  });
});

describe('loadModelFiles from a URL', () => {
  it('loads a folder URL without a trailing slash', async () => {
    const requested = serve(servedFolder(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']));
    const messages: string[] = [];
    const files = await loadModelFiles(BASE.slice(0, -1), (message) => messages.push(message));
    expect(files.weights.size).toBe(73);
    expect(files.tokenizer.encode(goldenFirst.text, null, 512).inputIds).toEqual(goldenFirst.input_ids);
    expect(requested).toEqual([
      `${BASE}config.json`,
      `${BASE}tokenizer.json`,
      `${BASE}tokenizer_config.json`,
      `${BASE}model.safetensors`,
    ]);
    expect(messages.some((message) => message.includes('model.safetensors') && message.includes('MiB'))).toBe(true);
  });

  it('accepts a URL object with a trailing slash', async () => {
    serve(servedFolder(['config.json', 'model.safetensors', 'tokenizer.json']));
    const files = await loadModelFiles(new URL(BASE));
    expect(files.config.labels).toEqual(['negative', 'positive']);
  });

  it('fetches vocab.txt when tokenizer.json is missing', async () => {
    const requested = serve(servedFolder(['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json']));
    const files = await loadModelFiles(BASE);
    expect(requested).toContain(`${BASE}vocab.txt`);
    expect(files.tokenizer.encode(goldenFirst.text, null, 512).inputIds).toEqual(goldenFirst.input_ids);
  });

  it('names a missing config.json and its URL', async () => {
    serve(servedFolder(['model.safetensors', 'tokenizer.json']));
    const message = (await loadError(BASE)).message;
    expect(message).toContain('config.json');
    expect(message).toContain(`${BASE}config.json`);
    expect(message).toContain('404');
  });

  it('names a missing model.safetensors', async () => {
    serve(servedFolder(['config.json', 'tokenizer.json']));
    const message = (await loadError(BASE)).message;
    expect(message).toContain(`${BASE}model.safetensors`);
  });

  it('rejects a folder without tokenizer files', async () => {
    serve(servedFolder(['config.json', 'model.safetensors']));
    const message = (await loadError(BASE)).message;
    expect(message).toContain('neither tokenizer.json nor vocab.txt');
    expect(message).toContain(BASE);
  });

  it('names the HTTP status of a failed fetch', async () => {
    const files = servedFolder(['config.json', 'tokenizer.json']);
    files.set(`${BASE}model.safetensors`, 500);
    serve(files);
    const message = (await loadError(BASE)).message;
    expect(message).toContain('HTTP 500');
    expect(message).toContain('model.safetensors');
  });

  it('explains an HTML page served as config.json', async () => {
    const files = servedFolder(['model.safetensors', 'tokenizer.json']);
    files.set(`${BASE}config.json`, '<!doctype html><html><body>app</body></html>');
    serve(files);
    const message = (await loadError(BASE)).message;
    expect(message).toContain('config.json is not valid JSON');
    expect(message).toContain('HTML');
  });

  it('wraps a network failure', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('fetch failed');
    });
    const message = (await loadError(BASE)).message;
    expect(message).toContain('fetch failed');
    expect(message).toContain(`${BASE}config.json`);
  });

  it('rejects a relative URL without a page to resolve it against', async () => {
    const message = (await loadError('models/mini')).message;
    expect(message).toContain('"models/mini"');
  });
});

describe('loadModelFiles from File objects', () => {
  it('matches files by name, ignoring their folder', async () => {
    const files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((name) =>
      folderFile(`sst2-bert-mini/${name}`, folder.get(name)!),
    );
    const loaded = await loadModelFiles(files);
    expect(loaded.weights.size).toBe(73);
    expect(loaded.tokenizer.encode(goldenFirst.text, null, 512).inputIds).toEqual(goldenFirst.input_ids);
  });

  it('accepts plain Files in any iterable', async () => {
    const files = new Set(['config.json', 'model.safetensors', 'vocab.txt'].map((name) => new File([folder.get(name)!], name)));
    const loaded = await loadModelFiles(files);
    expect(loaded.tokenizer.vocabSize).toBe(30522);
  });

  it('prefers the shallowest copy of a name', async () => {
    const files = ['config.json', 'model.safetensors', 'tokenizer.json'].map((name) => folderFile(`mini/${name}`, folder.get(name)!));
    files.unshift(folderFile('mini/onnx/config.json', '{"model_type": "gpt2"}'));
    const loaded = await loadModelFiles(files);
    expect(loaded.config.hiddenSize).toBe(256);
  });

  it('rejects two copies at the same depth', async () => {
    const files = ['config.json', 'model.safetensors', 'tokenizer.json'].map((name) => folderFile(`models/a/${name}`, folder.get(name)!));
    files.push(folderFile('models/b/config.json', folder.get('config.json')!));
    const message = (await loadError(files)).message;
    expect(message).toContain('models/a/config.json');
    expect(message).toContain('models/b/config.json');
  });

  it('names a missing file and lists the selection', async () => {
    const files = ['config.json', 'tokenizer.json'].map((name) => folderFile(`mini/${name}`, folder.get(name)!));
    const message = (await loadError(files)).message;
    expect(message).toContain('model.safetensors is not among the selected files');
    expect(message).toContain('mini/config.json');
  });

  it('rejects an empty selection', async () => {
    expect((await loadError([])).message).toContain('none were selected');
  });
});
