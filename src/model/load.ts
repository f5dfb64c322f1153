import type { ModelSource } from '../types.js';
import { ModelLoadError, parseBertConfig, type BertConfig } from './config.js';
import { parseSafetensors } from './safetensors.js';
import type { BertWeights } from './tensor.js';
import { BertTokenizer } from './tokenizer.js';
import { resolveBertWeights } from './weights.js';

/** A parsed and validated model folder. */
export interface ModelFiles {
  config: BertConfig;
  weights: BertWeights;
  tokenizer: BertTokenizer;
}

/** Contents of a model folder's files; the tokenizer comes from `tokenizerJson`, or else from `vocabTxt`. */
export interface ModelFileContents {
  config: string;
  safetensors: ArrayBuffer | Uint8Array;
  tokenizerJson?: string;
  vocabTxt?: string;
  tokenizerConfig?: string;
}

const FOLDER_CONTENTS = 'config.json, model.safetensors and tokenizer.json (or vocab.txt)';

/**
 * Parses and cross-checks a model folder's file contents: the config, the
 * weights it implies, and a tokenizer whose ids fit the embedding table.
 * Throws ModelLoadError naming the file at fault.
 */
export function modelFilesFromBuffers(files: ModelFileContents): ModelFiles {
  let configJson: unknown;
  try {
    configJson = JSON.parse(files.config);
  } catch (error) {
    const hint = files.config.trimStart().startsWith('<')
      ? ' It looks like an HTML page: the server may have answered a missing file with its index page.'
      : '';
    throw new ModelLoadError(`config.json is not valid JSON (${(error as Error).message}).${hint} Replace it with the file saved by Hugging Face.`);
  }
  const config = parseBertConfig(configJson);
  const weights = resolveBertWeights(parseSafetensors(files.safetensors), config);

  let tokenizer: BertTokenizer;
  let tokenizerFile: string;
  if (files.tokenizerJson !== undefined) {
    tokenizer = BertTokenizer.fromTokenizerJson(files.tokenizerJson, files.tokenizerConfig);
    tokenizerFile = 'tokenizer.json';
  } else if (files.vocabTxt !== undefined) {
    tokenizer = BertTokenizer.fromVocab(files.vocabTxt, files.tokenizerConfig);
    tokenizerFile = 'vocab.txt';
  } else {
    throw new ModelLoadError(`the model folder has neither tokenizer.json nor vocab.txt; add the tokenizer files saved with the model.`);
  }

  if (tokenizer.vocabSize > config.vocabSize) {
    throw new ModelLoadError(
      `${tokenizerFile} has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}, so some ids have no embedding; use the tokenizer saved with this model.`,
    );
  }
  return { config, weights, tokenizer };
}

/**
 * Loads a model folder from a URL (the files are fetched relative to it) or
 * from the folder's `File` objects, then parses it with modelFilesFromBuffers.
 * `onProgress` receives a short message per file.
 */
export async function loadModelFiles(source: ModelSource, onProgress?: (message: string) => void): Promise<ModelFiles> {
  const progress = onProgress ?? (() => {});
  const reader = typeof source === 'string' || source instanceof URL ? urlReader(source) : fileReader(source);

  // The small files come first so that a wrong folder fails before the weights download.
  const config = (await reader.text('config.json', true, progress)) ?? '';
  const tokenizerJson = await reader.text('tokenizer.json', false, progress);
  const vocabTxt = tokenizerJson === undefined ? await reader.text('vocab.txt', false, progress) : undefined;
  if (tokenizerJson === undefined && vocabTxt === undefined) {
    throw new ModelLoadError(`${reader.where}: neither tokenizer.json nor vocab.txt was found; the folder needs ${FOLDER_CONTENTS}.`);
  }
  const tokenizerConfig = await reader.text('tokenizer_config.json', false, progress);
  const safetensors = await reader.bytes('model.safetensors', progress);

  progress('Parsing the model files');
  return modelFilesFromBuffers({ config, safetensors, tokenizerJson, vocabTxt, tokenizerConfig });
}

/** Access to a model folder's files by name; `text` returns undefined for a missing optional file. */
interface FolderReader {
  /** The folder, for messages: its URL or "the selected files". */
  where: string;
  text(name: string, required: boolean, progress: (message: string) => void): Promise<string | undefined>;
  bytes(name: string, progress: (message: string) => void): Promise<ArrayBuffer>;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Resolves a folder URL, relative to the page when there is one, and adds the trailing slash that relative file names need. */
function folderUrl(source: string | URL): URL {
  let url: URL;
  try {
    const base = typeof location !== 'undefined' ? location.href : undefined;
    url = new URL(source.toString(), base);
  } catch {
    throw new ModelLoadError(`model URL ${JSON.stringify(source.toString())} is not a valid URL; give an absolute URL or a path relative to the page.`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function urlReader(source: string | URL): FolderReader {
  const folder = folderUrl(source);

  // Returns null for a 404 so that callers decide whether the file is optional.
  const fetchFile = async (name: string, progress: (message: string) => void): Promise<Response | null> => {
    const url = new URL(name, folder);
    progress(`Fetching ${name}`);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new ModelLoadError(
        `fetching ${name} from ${url.href} failed (${(error as Error).message}); check that the server is running and allows this page's origin.`,
      );
    }
    if (response.status === 404) return null;
    if (!response.ok) {
      throw new ModelLoadError(
        `fetching ${name} from ${url.href} failed with HTTP ${response.status} ${response.statusText}; check the URL and the server's access rules.`,
      );
    }
    return response;
  };
  const notFound = (name: string): ModelLoadError =>
    new ModelLoadError(
      `${name} was not found at ${new URL(name, folder).href} (HTTP 404); point the URL at a folder that holds ${FOLDER_CONTENTS}.`,
    );

  return {
    where: folder.href,
    async text(name, required, progress) {
      const response = await fetchFile(name, progress);
      if (!response) {
        if (required) throw notFound(name);
        return undefined;
      }
      return await response.text();
    },
    async bytes(name, progress) {
      const response = await fetchFile(name, progress);
      if (!response) throw notFound(name);
      const buffer = await response.arrayBuffer();
      progress(`Fetched ${name} (${formatBytes(buffer.byteLength)})`);
      return buffer;
    },
  };
}

/** Depth of a file inside the chosen folder, from `webkitRelativePath` ("folder/sub/name" is 2). */
function folderDepth(file: File): number {
  const relativePath = file.webkitRelativePath ?? '';
  return relativePath === '' ? 0 : relativePath.split('/').length - 1;
}

function fileReader(source: FileList | Iterable<File>): FolderReader {
  const files = Array.from(source as ArrayLike<File> | Iterable<File>);
  const available = files.map((file) => file.webkitRelativePath || file.name);

  // Files match by name whatever folder they sit in. A name found at several
  // depths resolves to the shallowest copy, so a model's own files win over
  // files of the same name in subfolders.
  const find = (name: string): File | undefined => {
    const matches = files.filter((file) => file.name === name);
    if (matches.length === 0) return undefined;
    const depth = Math.min(...matches.map(folderDepth));
    const shallowest = matches.filter((file) => folderDepth(file) === depth);
    if (shallowest.length > 1) {
      throw new ModelLoadError(
        `the selected files hold ${shallowest.length} copies of ${name} (${shallowest.map((file) => file.webkitRelativePath || file.name).join(', ')}); select a single model folder.`,
      );
    }
    return shallowest[0];
  };
  const notFound = (name: string): ModelLoadError =>
    new ModelLoadError(
      `${name} is not among the selected files (${available.length === 0 ? 'none were selected' : available.join(', ')}); select the model folder that holds ${FOLDER_CONTENTS}.`,
    );

  return {
    where: 'the selected files',
    async text(name, required, progress) {
      const file = find(name);
      if (!file) {
        if (required) throw notFound(name);
        return undefined;
      }
      progress(`Reading ${name}`);
      return await file.text();
    },
    async bytes(name, progress) {
      const file = find(name);
      if (!file) throw notFound(name);
      progress(`Reading ${name} (${formatBytes(file.size)})`);
      return await file.arrayBuffer();
    },
  };
}
