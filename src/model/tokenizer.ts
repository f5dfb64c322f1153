import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '../types.js';
import { ModelLoadError } from './config.js';

/** One tokenized input, special tokens included, ready for the encoder. */
export interface EncodedInput {
  inputIds: number[];
  tokenTypeIds: number[];
  tokens: string[];
  /** Whether tokens were cut to fit `maxLength`. */
  truncated: boolean;
}

type JsonObject = Record<string, unknown>;

/** Names of the special tokens, from `tokenizer_config.json` or BERT's defaults. */
interface SpecialTokenNames {
  pad: string;
  unk: string;
  cls: string;
  sep: string;
  mask: string;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a JSON file's text, or accepts an already parsed object; throws ModelLoadError naming the file. */
function toJsonObject(value: unknown, fileName: string): JsonObject {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      const hint = value.trimStart().startsWith('<')
        ? ' It looks like an HTML page: the server may have answered a missing file with its index page.'
        : '';
      throw new ModelLoadError(`${fileName} is not valid JSON (${(error as Error).message}).${hint} Replace it with the file saved by Hugging Face.`);
    }
  }
  if (!isObject(parsed)) {
    throw new ModelLoadError(`${fileName}: expected a JSON object at the top level, got ${describe(parsed)}.`);
  }
  return parsed;
}

/** Formats a value for a message; unlike JSON.stringify it shows NaN and Infinity as themselves. */
function formatValue(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value;
}

/** Reads a special token from `tokenizer_config.json`, which stores it as a string or as an AddedToken object. */
function tokenName(config: JsonObject, key: string, fallback: string): string {
  const value = config[key];
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value['content'] === 'string') return value['content'];
  return fallback;
}

function specialTokenNames(config: JsonObject): SpecialTokenNames {
  return {
    pad: tokenName(config, 'pad_token', '[PAD]'),
    unk: tokenName(config, 'unk_token', '[UNK]'),
    cls: tokenName(config, 'cls_token', '[CLS]'),
    sep: tokenName(config, 'sep_token', '[SEP]'),
    mask: tokenName(config, 'mask_token', '[MASK]'),
  };
}

function optionalBoolean(config: JsonObject, key: string): boolean | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    throw new ModelLoadError(`tokenizer_config.json: "${key}" must be true or false, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/**
 * Returns the segment lengths that Hugging Face tokenizers' LongestFirst
 * truncation keeps for a pair within `budget` tokens. Tokens go one at a time
 * from the end of the longer segment. When both segments end up cut, they get
 * half the budget each and the originally longer one keeps the odd token (the
 * second segment on a tie), as `truncate_encodings` in the Rust crate does.
 */
export function longestFirstLengths(lengthA: number, lengthB: number, budget: number): [number, number] {
  if (lengthA + lengthB <= budget) return [lengthA, lengthB];
  const shorter = Math.min(lengthA, lengthB);
  const longer = Math.max(lengthA, lengthB);

  let keepShorter = shorter;
  let keepLonger = Math.min(longer, Math.max(shorter, budget - shorter));
  if (keepShorter + keepLonger > budget) {
    keepShorter = Math.floor(budget / 2);
    keepLonger = keepShorter + (budget % 2);
  }
  return lengthA > lengthB ? [keepLonger, keepShorter] : [keepShorter, keepLonger];
}

/**
 * BERT WordPiece tokenizer built on `@huggingface/tokenizers`: the library
 * normalizes, pre-tokenizes, splits words into pieces and applies the
 * post-processor template. This class adds truncation, which the library
 * lacks, and the checks the encoder relies on ([CLS] first, ids in range).
 *
 * NOTE: @huggingface/tokenizers 0.2.0 tests for CJK ideographs one UTF-16 code
 * unit at a time. Ideographs outside the Basic Multilingual Plane (CJK
 * Extension B and later) therefore stay glued to their neighbors, unlike in the
 * Rust tokenizer: "\u{20000}abc" gives one [UNK], not [UNK] and "abc".
 */
export class BertTokenizer {
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  /** Id of the padding token, or 0 when the vocabulary has none. */
  readonly padId: number;

  private readonly tokenizer: Tokenizer;
  private readonly unkId: number;
  private readonly specialTokensSingle: number;
  private readonly specialTokensPair: number;

  private constructor(tokenizerJson: JsonObject, tokenizerConfig: JsonObject, names: SpecialTokenNames, fileName: string) {
    // The library requires these keys to exist even when they are null.
    const complete: JsonObject = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      ...tokenizerJson,
      added_tokens: Array.isArray(tokenizerJson['added_tokens']) ? tokenizerJson['added_tokens'] : [],
    };
    try {
      this.tokenizer = new Tokenizer(complete, tokenizerConfig);
    } catch (error) {
      throw new ModelLoadError(
        `${fileName}: the tokenizer could not be built (${(error as Error).message}); use a BERT tokenizer saved by Hugging Face tokenizers.`,
      );
    }

    const requireToken = (token: string, role: string): number => {
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined) {
        throw new ModelLoadError(
          `${fileName}: the ${role} token ${JSON.stringify(token)} is not in the vocabulary; BERT needs it, so add it or name the right token as ${role}_token in tokenizer_config.json.`,
        );
      }
      return id;
    };
    this.clsId = requireToken(names.cls, 'cls');
    this.sepId = requireToken(names.sep, 'sep');
    this.unkId = requireToken(names.unk, 'unk');
    this.padId = this.tokenizer.token_to_id(names.pad) ?? 0;
    this.vocabSize = this.tokenizer.model?.vocab.length ?? 0;

    const postProcessor = this.tokenizer.post_processor;
    if (!postProcessor) {
      throw new ModelLoadError(
        `${fileName}: post_processor is missing, so [CLS] and [SEP] would not be added; add the TemplateProcessing "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1".`,
      );
    }
    const single = postProcessor(['a'], null, true).tokens;
    const pair = postProcessor(['a'], ['b'], true).tokens;
    for (const [template, tokens] of [['single', single], ['pair', pair]] as const) {
      if (tokens[0] !== names.cls || tokens[tokens.length - 1] !== names.sep) {
        throw new ModelLoadError(
          `${fileName}: the post_processor's ${template} template gives ${JSON.stringify(tokens)}; the encoder needs ${names.cls} first and ${names.sep} last, as in "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1".`,
        );
      }
    }
    this.specialTokensSingle = postProcessor([], null, true).tokens.length;
    this.specialTokensPair = postProcessor([], [], true).tokens.length;
  }

  /**
   * Builds a tokenizer from `tokenizer.json` (its text or the parsed object)
   * and optional `tokenizer_config.json`. Explicit `do_lower_case`,
   * `strip_accents` and `tokenize_chinese_chars` in the config override the
   * BertNormalizer's settings, as transformers' BertTokenizerFast does.
   */
  static fromTokenizerJson(tokenizerJson: unknown, tokenizerConfig?: unknown): BertTokenizer {
    const json = toJsonObject(tokenizerJson, 'tokenizer.json');
    const config = tokenizerConfig === undefined || tokenizerConfig === null ? {} : toJsonObject(tokenizerConfig, 'tokenizer_config.json');

    const model = json['model'];
    if (!isObject(model)) {
      throw new ModelLoadError('tokenizer.json: "model" is missing; use a tokenizer.json saved by Hugging Face tokenizers.');
    }
    if (model['type'] !== 'WordPiece') {
      throw new ModelLoadError(
        `tokenizer.json: unsupported model type ${JSON.stringify(model['type'])}; this engine runs BERT tokenizers (model type "WordPiece").`,
      );
    }
    if (!isObject(model['vocab'])) {
      throw new ModelLoadError('tokenizer.json: "model.vocab" must be an object mapping tokens to ids; use a tokenizer.json saved by Hugging Face tokenizers.');
    }

    return new BertTokenizer(applyNormalizerOverrides(json, config), config, specialTokenNames(config), 'tokenizer.json');
  }

  /**
   * Builds a tokenizer from `vocab.txt` (one token per line, the line number
   * is the id) and optional `tokenizer_config.json`. It hands the library the
   * tokenizer.json that transformers would convert them to: BertNormalizer
   * (lower case from `do_lower_case`, default true), BertPreTokenizer,
   * WordPiece and the [CLS] A [SEP] B [SEP] template.
   */
  static fromVocab(vocabText: string, tokenizerConfig?: unknown): BertTokenizer {
    const config = tokenizerConfig === undefined || tokenizerConfig === null ? {} : toJsonObject(tokenizerConfig, 'tokenizer_config.json');
    const names = specialTokenNames(config);

    const lines = vocabText.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (lines.length === 0) {
      throw new ModelLoadError('vocab.txt is empty; it needs one WordPiece token per line.');
    }
    // A null prototype keeps tokens such as "__proto__" ordinary keys. A token
    // listed twice keeps its last line, as transformers' load_vocab does.
    const vocab: Record<string, number> = Object.create(null);
    lines.forEach((line, id) => {
      vocab[line.endsWith('\r') ? line.slice(0, -1) : line] = id;
    });

    const specialTokens = [...new Set([names.pad, names.unk, names.cls, names.sep, names.mask])];
    const addedTokens = specialTokens
      .filter((token) => vocab[token] !== undefined)
      .map((token) => ({
        id: vocab[token],
        content: token,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      }))
      .sort((a, b) => a.id - b.id);

    const tokenizerJson: JsonObject = {
      version: '1.0',
      added_tokens: addedTokens,
      normalizer: {
        type: 'BertNormalizer',
        clean_text: true,
        handle_chinese_chars: optionalBoolean(config, 'tokenize_chinese_chars') ?? true,
        strip_accents: optionalBoolean(config, 'strip_accents') ?? null,
        lowercase: optionalBoolean(config, 'do_lower_case') ?? true,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: names.cls, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: names.sep, type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: names.cls, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: names.sep, type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: names.sep, type_id: 1 } },
        ],
        special_tokens: {
          [names.cls]: { id: names.cls, ids: [vocab[names.cls]], tokens: [names.cls] },
          [names.sep]: { id: names.sep, ids: [vocab[names.sep]], tokens: [names.sep] },
        },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: names.unk,
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab,
      },
    };
    return new BertTokenizer(tokenizerJson, config, names, 'vocab.txt');
  }

  /**
   * Tokenizes a text or a text pair into `[CLS] A [SEP]` or
   * `[CLS] A [SEP] B [SEP]`, token type 0 for the A part and 1 for the B part.
   * Inputs longer than `maxLength` are cut from the end of the longer segment
   * (longestFirstLengths), special tokens kept.
   */
  encode(text: string, textPair: string | null | undefined, maxLength: number): EncodedInput {
    if (typeof text !== 'string') {
      throw new InputError(`text must be a string, got ${describe(text)}; pass the sentence to classify.`);
    }
    if (textPair !== null && textPair !== undefined && typeof textPair !== 'string') {
      throw new InputError(`text_pair must be a string, null or undefined, got ${describe(textPair)}.`);
    }
    const hasPair = typeof textPair === 'string';
    const specialTokens = hasPair ? this.specialTokensPair : this.specialTokensSingle;
    if (!Number.isInteger(maxLength) || maxLength < specialTokens) {
      throw new InputError(
        `maxLength must be an integer of at least ${specialTokens} (the special tokens), got ${formatValue(maxLength)}.`,
      );
    }

    const segmentA = this.tokenizer.tokenize(text);
    const segmentB = hasPair ? this.tokenizer.tokenize(textPair) : null;
    const budget = maxLength - specialTokens;

    let keptA = segmentA;
    let keptB = segmentB;
    if (segmentB === null) {
      if (segmentA.length > budget) keptA = segmentA.slice(0, budget);
    } else {
      const [lengthA, lengthB] = longestFirstLengths(segmentA.length, segmentB.length, budget);
      keptA = segmentA.slice(0, lengthA);
      keptB = segmentB.slice(0, lengthB);
    }
    const truncated = keptA.length !== segmentA.length || (segmentB !== null && keptB!.length !== segmentB.length);

    const processed = this.tokenizer.post_processor!(keptA, keptB, true);
    const tokens = processed.tokens;
    return {
      inputIds: tokens.map((token) => this.tokenizer.token_to_id(token) ?? this.unkId),
      tokenTypeIds: processed.token_type_ids ?? new Array<number>(tokens.length).fill(0),
      tokens,
      truncated,
    };
  }

  /**
   * Checks pre-tokenized ids and cuts them to `maxLength`, keeping the first
   * `maxLength - 1` ids and the last one so that a final [SEP] survives.
   * Throws InputError naming the first invalid value.
   */
  encodeIds(inputIds: number[], tokenTypeIds: number[] | undefined, maxLength: number, typeVocabSize: number): EncodedInput {
    if (!Array.isArray(inputIds) || inputIds.length === 0) {
      throw new InputError(`input_ids must be a non-empty array of token ids, got ${describe(inputIds)}${Array.isArray(inputIds) ? ' of length 0' : ''}.`);
    }
    inputIds.forEach((id, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new InputError(
          `input_ids[${i}] is ${formatValue(id)}; token ids must be integers in [0, ${this.vocabSize}), the tokenizer's vocabulary.`,
        );
      }
    });
    if (tokenTypeIds !== undefined) {
      if (!Array.isArray(tokenTypeIds) || tokenTypeIds.length !== inputIds.length) {
        throw new InputError(
          `token_type_ids has ${Array.isArray(tokenTypeIds) ? `length ${tokenTypeIds.length}` : `type ${describe(tokenTypeIds)}`} but input_ids has length ${inputIds.length}; give one token type per id, or omit token_type_ids for all zeros.`,
        );
      }
      tokenTypeIds.forEach((type, i) => {
        if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type >= typeVocabSize) {
          throw new InputError(
            `token_type_ids[${i}] is ${formatValue(type)}; token types must be integers in [0, ${typeVocabSize}) (type_vocab_size).`,
          );
        }
      });
    }
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new InputError(`maxLength must be an integer of at least 2, got ${formatValue(maxLength)}.`);
    }

    const types = tokenTypeIds ?? new Array<number>(inputIds.length).fill(0);
    const truncated = inputIds.length > maxLength;
    const keep = (values: number[]): number[] =>
      truncated ? [...values.slice(0, maxLength - 1), values[values.length - 1]] : values.slice();
    const ids = keep(inputIds);
    return {
      inputIds: ids,
      tokenTypeIds: keep(types),
      tokens: ids.map((id) => this.idToToken(id)),
      truncated,
    };
  }

  /** Returns the vocabulary entry of an id; throws InputError for an id outside the vocabulary. */
  idToToken(id: number): string {
    const token = this.tokenizer.id_to_token(id);
    if (token === undefined) {
      throw new InputError(`token id ${formatValue(id)} is not in the vocabulary of ${this.vocabSize} tokens.`);
    }
    return token;
  }
}

/** Returns a copy of `tokenizerJson` whose BertNormalizer follows the explicit settings in `tokenizer_config.json`. */
function applyNormalizerOverrides(tokenizerJson: JsonObject, config: JsonObject): JsonObject {
  const normalizer = tokenizerJson['normalizer'];
  if (!isObject(normalizer) || normalizer['type'] !== 'BertNormalizer') return tokenizerJson;

  const overrides: JsonObject = {};
  const lowercase = optionalBoolean(config, 'do_lower_case');
  const stripAccents = optionalBoolean(config, 'strip_accents');
  const chineseChars = optionalBoolean(config, 'tokenize_chinese_chars');
  if (lowercase !== undefined) overrides['lowercase'] = lowercase;
  if (stripAccents !== undefined) overrides['strip_accents'] = stripAccents;
  if (chineseChars !== undefined) overrides['handle_chinese_chars'] = chineseChars;
  if (Object.keys(overrides).length === 0) return tokenizerJson;
  return { ...tokenizerJson, normalizer: { ...normalizer, ...overrides } };
}
