import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from '../src/model/config.js';
import { BertTokenizer, longestFirstLengths } from '../src/model/tokenizer.js';
import { InputError } from '../src/types.js';

const sharedDir = fileURLToPath(new URL('../../shared/', import.meta.url));
const read = (relativePath: string): string => readFileSync(sharedDir + relativePath, 'utf8');

interface GoldenRecord {
  text: string;
  input_ids: number[];
  token_type_ids: number[];
}

const golden: GoldenRecord[] = read('models/sst2-bert-mini/golden.jsonl')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));
const singles = golden.filter((record) => !record.token_type_ids.includes(1));
const pairs = golden.filter((record) => record.token_type_ids.includes(1));

/** MRPC dev sentence pairs keyed by their first sentence; golden.jsonl stores only the first. */
function mrpcSecondSentences(): Map<string, string> {
  const secondByFirst = new Map<string, string>();
  for (const line of read('data/glue/MRPC/dev.tsv').split('\n').slice(1)) {
    const columns = line.replace(/\r$/, '').split('\t');
    if (columns.length >= 5) secondByFirst.set(columns[3], columns[4]);
  }
  return secondByFirst;
}

/** Token id by vocab.txt line, independent of the tokenizer library. */
function vocabLookup(relativePath: string): (token: string) => number {
  const lines = read(relativePath).split('\n');
  return (token) => {
    const id = lines.indexOf(token);
    if (id < 0) throw new Error(`test setup: ${token} is not in ${relativePath}`);
    return id;
  };
}

const uncasedVocabPath = 'models/sst2-bert-mini/vocab.txt';
const casedVocabPath = 'data/vocab/bert-base-cased-vocab.txt';

let fromJson: BertTokenizer;
let fromVocab: BertTokenizer;
let tokenizerJson: Record<string, any>;

beforeAll(() => {
  tokenizerJson = JSON.parse(read('models/sst2-bert-mini/tokenizer.json'));
  const tokenizerConfig = read('models/sst2-bert-mini/tokenizer_config.json');
  fromJson = BertTokenizer.fromTokenizerJson(read('models/sst2-bert-mini/tokenizer.json'), tokenizerConfig);
  fromVocab = BertTokenizer.fromVocab(read(uncasedVocabPath), tokenizerConfig);
});

function expectError<T extends Error>(errorClass: new (message: string) => T, action: () => unknown): T {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(errorClass);
    return error as T;
  }
  throw new Error(`expected ${errorClass.name}, but nothing was thrown`);
}

describe('BertTokenizer on the golden inputs', () => {
  it('has 72 single-segment and 6 pair inputs', () => {
    expect(singles.length).toBe(72);
    expect(pairs.length).toBe(6);
  });

  it('encodes single segments like the Python tokenizer', () => {
    for (const record of singles) {
      const encoded = fromJson.encode(record.text, null, 512);
      expect(encoded.inputIds, record.text).toEqual(record.input_ids);
      expect(encoded.tokenTypeIds, record.text).toEqual(record.token_type_ids);
      expect(encoded.truncated).toBe(false);
      expect(encoded.tokens.length).toBe(record.input_ids.length);
    }
  });

  it('encodes MRPC pairs with token types', () => {
    const secondByFirst = mrpcSecondSentences();
    for (const record of pairs) {
      const second = secondByFirst.get(record.text);
      expect(second, `MRPC pair of ${record.text}`).toBeDefined();
      const encoded = fromJson.encode(record.text, second, 512);
      expect(encoded.inputIds, record.text).toEqual(record.input_ids);
      expect(encoded.tokenTypeIds, record.text).toEqual(record.token_type_ids);
      expect(encoded.truncated).toBe(false);
    }
  });

  it('gives identical ids from vocab.txt and tokenizer.json', () => {
    const secondByFirst = mrpcSecondSentences();
    const extraTexts = [
      'Café naïve Über résumé',
      '我爱中文。',
      'a\u0000b\u200bc\td\u00e9\u0301',
      '😀 emoji and ＦＵＬＬＷＩＤＴＨ',
      'x'.repeat(101),
      '[CLS] literal special [SEP] tokens [MASK]',
      '',
      '   ',
    ];
    for (const text of [...golden.map((record) => record.text), ...extraTexts]) {
      const pair = secondByFirst.get(text) ?? null;
      const a = fromJson.encode(text, pair, 512);
      const b = fromVocab.encode(text, pair, 512);
      expect(b, JSON.stringify(text)).toEqual(a);
    }
  });

  it('reports the special ids and vocabulary size', () => {
    for (const tokenizer of [fromJson, fromVocab]) {
      expect(tokenizer.vocabSize).toBe(30522);
      expect(tokenizer.clsId).toBe(101);
      expect(tokenizer.sepId).toBe(102);
      expect(tokenizer.padId).toBe(0);
      expect(tokenizer.idToToken(100)).toBe('[UNK]');
      expect(tokenizer.idToToken(2009)).toBe('it');
    }
  });
});

describe('BertTokenizer normalization', () => {
  it('lowercases and strips accents for an uncased vocabulary', () => {
    const lookup = vocabLookup(uncasedVocabPath);
    const encoded = fromVocab.encode('Café naïve Über résumé', null, 512);
    expect(encoded.tokens).toEqual(['[CLS]', 'cafe', 'naive', 'uber', 'resume', '[SEP]']);
    expect(encoded.inputIds).toEqual(encoded.tokens.map(lookup));
  });

  it('splits Chinese characters into single tokens', () => {
    // 爱 is not in the bert-base-uncased vocabulary, so it becomes [UNK].
    const encoded = fromVocab.encode('我爱中文。', null, 512);
    expect(encoded.tokens).toEqual(['[CLS]', '我', '[UNK]', '中', '文', '。', '[SEP]']);
    expect(encoded.inputIds).toEqual([101, 1855, 100, 1746, 1861, 1636, 102]);
  });

  it('keeps Chinese words whole when tokenize_chinese_chars is false', () => {
    const tokenizer = BertTokenizer.fromVocab(read(uncasedVocabPath), { tokenize_chinese_chars: false });
    expect(tokenizer.encode('中文', null, 512).tokens).toEqual(['[CLS]', '中', '##文', '[SEP]']);
  });

  it('removes control and format characters', () => {
    // NUL and the zero-width space vanish, so "a b c" stays one word; the tab separates words.
    expect(fromVocab.encode('a\u0000b\u200bc\tdee', null, 512).tokens).toEqual(['[CLS]', 'abc', 'dee', '[SEP]']);
  });

  it('maps an over-long word to [UNK]', () => {
    expect(fromVocab.encode('x'.repeat(101), null, 512).tokens).toEqual(['[CLS]', '[UNK]', '[SEP]']);
    expect(fromVocab.encode('x'.repeat(100), null, 512).tokens).not.toContain('[UNK]');
  });

  it('preserves case and accents with the cased vocabulary', () => {
    const lookup = vocabLookup(casedVocabPath);
    const cased = BertTokenizer.fromVocab(read(casedVocabPath), { do_lower_case: false });
    expect(cased.vocabSize).toBe(28996);
    expect(cased.clsId).toBe(lookup('[CLS]'));
    expect(cased.sepId).toBe(lookup('[SEP]'));

    // Expected pieces follow greedy longest-match over the cased vocabulary; "HELLO", "HEL" and "HE" are not in it.
    const hello = cased.encode('Hello World, HELLO world!', null, 512);
    expect(hello.tokens).toEqual(['[CLS]', 'Hello', 'World', ',', 'H', '##EL', '##L', '##O', 'world', '!', '[SEP]']);
    expect(hello.inputIds).toEqual(hello.tokens.map(lookup));

    const accents = cased.encode('Café naïve Über résumé', null, 512);
    expect(accents.tokens).toEqual(['[CLS]', 'Café', 'na', '##ï', '##ve', 'Ü', '##ber', 'r', '##és', '##um', '##é', '[SEP]']);
    expect(accents.inputIds).toEqual(accents.tokens.map(lookup));
  });

  it('lowercases the cased vocabulary by default', () => {
    const cased = BertTokenizer.fromVocab(read(casedVocabPath));
    expect(cased.encode('World', null, 512).tokens).toEqual(['[CLS]', 'world', '[SEP]']);
  });

  it('lets do_lower_case in tokenizer_config.json override tokenizer.json', () => {
    // The uncased vocabulary has no capital letters, so unlowered "Hello" is unknown.
    const tokenizer = BertTokenizer.fromTokenizerJson(tokenizerJson, { do_lower_case: false });
    expect(tokenizer.encode('Hello', null, 512).tokens).toEqual(['[CLS]', '[UNK]', '[SEP]']);
  });

  it('reads vocab.txt with CRLF line endings', () => {
    const crlf = BertTokenizer.fromVocab(read(uncasedVocabPath).replace(/\n/g, '\r\n'));
    expect(crlf.encode(golden[0].text, null, 512).inputIds).toEqual(golden[0].input_ids);
  });

  it('accepts special tokens given as AddedToken objects', () => {
    const tokenizer = BertTokenizer.fromVocab(read(uncasedVocabPath), {
      cls_token: { __type: 'AddedToken', content: '[CLS]' },
      sep_token: { __type: 'AddedToken', content: '[SEP]' },
    });
    expect(tokenizer.clsId).toBe(101);
  });
});

describe('BertTokenizer truncation', () => {
  it('cuts a single segment from the end', () => {
    const record = singles[0];
    expect(record.input_ids.length).toBe(12);
    const encoded = fromJson.encode(record.text, undefined, 8);
    expect(encoded.inputIds).toEqual([...record.input_ids.slice(0, 7), 102]);
    expect(encoded.tokens.length).toBe(8);
    expect(encoded.tokenTypeIds).toEqual(new Array(8).fill(0));
    expect(encoded.truncated).toBe(true);
  });

  it('leaves an exact fit alone', () => {
    const record = singles[0];
    const encoded = fromJson.encode(record.text, null, record.input_ids.length);
    expect(encoded.inputIds).toEqual(record.input_ids);
    expect(encoded.truncated).toBe(false);
  });

  it('keeps only the special tokens at maxLength 2', () => {
    const encoded = fromJson.encode('a b c', null, 2);
    expect(encoded.tokens).toEqual(['[CLS]', '[SEP]']);
    expect(encoded.truncated).toBe(true);
  });

  it('rejects a maxLength below the special tokens', () => {
    expect(expectError(InputError, () => fromJson.encode('a', null, 1)).message).toContain('got 1');
    expect(expectError(InputError, () => fromJson.encode('a', 'b', 2)).message).toContain('at least 3');
    expect(expectError(InputError, () => fromJson.encode('a', null, 5.5)).message).toContain('5.5');
  });

  it('rejects a non-string text', () => {
    expect(expectError(InputError, () => fromJson.encode(42 as unknown as string, null, 8)).message).toContain('number');
  });

  it('matches the Rust crate longest_first table', () => {
    // Cases from Hugging Face tokenizers' own tests (utils/truncation.rs): segment lengths 0, 2, 4, 8 with 7 tokens allowed.
    const cases: Array<[number, number, number, number]> = [
      [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
      [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
      [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
      [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4],
    ];
    for (const [a, b, keptA, keptB] of cases) {
      expect(longestFirstLengths(a, b, 7), `${a} + ${b}`).toEqual([keptA, keptB]);
    }
    expect(longestFirstLengths(5, 5, 0)).toEqual([0, 0]);
  });

  it('cuts the longer segment of a pair first', () => {
    const encoded = fromVocab.encode('a b c d e f g h', 'w x', 10);
    expect(encoded.tokens).toEqual(['[CLS]', 'a', 'b', 'c', 'd', 'e', '[SEP]', 'w', 'x', '[SEP]']);
    expect(encoded.tokenTypeIds).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    expect(encoded.truncated).toBe(true);

    const swapped = fromVocab.encode('w x', 'a b c d e f g h', 10);
    expect(swapped.tokens).toEqual(['[CLS]', 'w', 'x', '[SEP]', 'a', 'b', 'c', 'd', 'e', '[SEP]']);
    expect(swapped.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  });

  it('cuts both segments of a pair when both are long', () => {
    // 8 + 4 tokens in a budget of 7: the longer segment keeps 4, the shorter 3.
    const encoded = fromVocab.encode('a b c d e f g h', 'w x y z', 10);
    expect(encoded.tokens).toEqual(['[CLS]', 'a', 'b', 'c', 'd', '[SEP]', 'w', 'x', 'y', '[SEP]']);
    const equal = fromVocab.encode('a b c d', 'w x y z', 10);
    expect(equal.tokens).toEqual(['[CLS]', 'a', 'b', 'c', '[SEP]', 'w', 'x', 'y', 'z', '[SEP]']);
  });

  it('truncates a real MRPC pair consistently with its golden ids', () => {
    const secondByFirst = mrpcSecondSentences();
    for (const record of pairs) {
      const firstSep = record.input_ids.indexOf(102);
      const segmentA = record.input_ids.slice(1, firstSep);
      const segmentB = record.input_ids.slice(firstSep + 1, -1);
      for (const maxLength of [3, 16, 33, record.input_ids.length - 1]) {
        const [keptA, keptB] = longestFirstLengths(segmentA.length, segmentB.length, maxLength - 3);
        expect(keptA + keptB).toBe(maxLength - 3);
        const encoded = fromJson.encode(record.text, secondByFirst.get(record.text), maxLength);
        expect(encoded.inputIds).toEqual([101, ...segmentA.slice(0, keptA), 102, ...segmentB.slice(0, keptB), 102]);
        expect(encoded.tokenTypeIds).toEqual([...new Array(keptA + 2).fill(0), ...new Array(keptB + 1).fill(1)]);
        expect(encoded.truncated).toBe(true);
      }
    }
  });

  it('encodes an empty pair segment', () => {
    expect(fromVocab.encode('a', '', 8).tokens).toEqual(['[CLS]', 'a', '[SEP]', '[SEP]']);
  });
});

describe('BertTokenizer.encodeIds', () => {
  it('passes valid ids through', () => {
    const encoded = fromJson.encodeIds([101, 2009, 102, 2003, 102], [0, 0, 0, 1, 1], 512, 2);
    expect(encoded).toEqual({
      inputIds: [101, 2009, 102, 2003, 102],
      tokenTypeIds: [0, 0, 0, 1, 1],
      tokens: ['[CLS]', 'it', '[SEP]', 'is', '[SEP]'],
      truncated: false,
    });
  });

  it('fills token types with zeros', () => {
    expect(fromJson.encodeIds([101, 102], undefined, 512, 2).tokenTypeIds).toEqual([0, 0]);
  });

  it('keeps the first maxLength-1 ids and the last one', () => {
    const ids = [101, 1, 2, 3, 4, 5, 6, 7, 8, 102];
    const types = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    const encoded = fromJson.encodeIds(ids, types, 6, 2);
    expect(encoded.inputIds).toEqual([101, 1, 2, 3, 4, 102]);
    expect(encoded.tokenTypeIds).toEqual([0, 0, 0, 0, 0, 1]);
    expect(encoded.tokens[5]).toBe('[SEP]');
    expect(encoded.truncated).toBe(true);
    // The caller's arrays stay untouched.
    expect(ids.length).toBe(10);
  });

  it('rejects empty and non-array input_ids', () => {
    expect(expectError(InputError, () => fromJson.encodeIds([], undefined, 512, 2)).message).toContain('non-empty');
    expect(expectError(InputError, () => fromJson.encodeIds('101' as unknown as number[], undefined, 512, 2)).message).toContain('string');
  });

  it('rejects ids outside the vocabulary', () => {
    const cases: Array<[unknown, string]> = [[1.5, '1.5'], [-1, '-1'], [30522, '30522'], ['7', '"7"'], [NaN, 'NaN']];
    for (const [bad, shown] of cases) {
      const message = expectError(InputError, () => fromJson.encodeIds([101, bad as number, 102], undefined, 512, 2)).message;
      expect(message).toContain(`input_ids[1] is ${shown}`);
      expect(message).toContain('[0, 30522)');
    }
  });

  it('rejects token types of the wrong length', () => {
    const message = expectError(InputError, () => fromJson.encodeIds([101, 102], [0], 512, 2)).message;
    expect(message).toContain('length 1');
    expect(message).toContain('length 2');
  });

  it('rejects token types outside type_vocab_size', () => {
    const message = expectError(InputError, () => fromJson.encodeIds([101, 102], [0, 2], 512, 2)).message;
    expect(message).toContain('token_type_ids[1] is 2');
    expect(message).toContain('[0, 2)');
  });

  it('rejects an unknown id in idToToken', () => {
    expect(expectError(InputError, () => fromJson.idToToken(40000)).message).toContain('40000');
  });
});

describe('BertTokenizer invalid files', () => {
  it('rejects malformed tokenizer.json', () => {
    const message = expectError(ModelLoadError, () => BertTokenizer.fromTokenizerJson('{"model": {')).message;
    expect(message).toContain('tokenizer.json is not valid JSON');
  });

  it('points at an HTML page served for a missing file', () => {
    const message = expectError(ModelLoadError, () => BertTokenizer.fromTokenizerJson('<!doctype html><html></html>')).message;
    expect(message).toContain('HTML');
  });

  it('rejects malformed tokenizer_config.json', () => {
    const message = expectError(ModelLoadError, () => BertTokenizer.fromVocab(read(uncasedVocabPath), '{"do_lower_case": tru')).message;
    expect(message).toContain('tokenizer_config.json');
  });

  it('rejects a non-boolean do_lower_case', () => {
    const message = expectError(ModelLoadError, () => BertTokenizer.fromVocab(read(uncasedVocabPath), { do_lower_case: 'yes' })).message;
    expect(message).toContain('"do_lower_case"');
    expect(message).toContain('"yes"');
  });

  it('rejects a BPE tokenizer', () => {
    const bpe = { ...tokenizerJson, model: { type: 'BPE', vocab: {}, merges: [] } };
    const message = expectError(ModelLoadError, () => BertTokenizer.fromTokenizerJson(bpe)).message;
    expect(message).toContain('tokenizer.json');
    expect(message).toContain('"BPE"');
    expect(message).toContain('WordPiece');
  });

  it('rejects a tokenizer.json without a model', () => {
    const { model: _model, ...rest } = tokenizerJson;
    expect(expectError(ModelLoadError, () => BertTokenizer.fromTokenizerJson(rest)).message).toContain('"model"');
  });

  it('rejects a tokenizer.json without [CLS]', () => {
    const vocab = { ...tokenizerJson.model.vocab };
    delete vocab['[CLS]'];
    const noCls = {
      ...tokenizerJson,
      added_tokens: tokenizerJson.added_tokens.filter((token: { content: string }) => token.content !== '[CLS]'),
      model: { ...tokenizerJson.model, vocab },
    };
    const message = expectError(ModelLoadError, () => BertTokenizer.fromTokenizerJson(noCls)).message;
    expect(message).toContain('tokenizer.json');
    expect(message).toContain('"[CLS]"');
  });

  it('rejects a tokenizer.json without a post_processor', () => {
    const message = expectError(ModelLoadError, () => BertTokenizer.fromTokenizerJson({ ...tokenizerJson, post_processor: null })).message;
    expect(message).toContain('post_processor');
  });

  it('rejects a template that does not start with [CLS]', () => {
    const postProcessor = { ...tokenizerJson.post_processor, single: tokenizerJson.post_processor.single.slice(1) };
    const message = expectError(ModelLoadError, () => BertTokenizer.fromTokenizerJson({ ...tokenizerJson, post_processor: postProcessor })).message;
    expect(message).toContain('single template');
  });

  it('rejects an unknown normalizer type', () => {
    const message = expectError(ModelLoadError, () => BertTokenizer.fromTokenizerJson({ ...tokenizerJson, normalizer: { type: 'Nonsense' } })).message;
    expect(message).toContain('tokenizer.json');
    expect(message).toContain('Nonsense');
  });

  it('rejects a vocab.txt without [SEP]', () => {
    const lines = read(uncasedVocabPath).split('\n').map((line) => (line === '[SEP]' ? '[unused_sep]' : line));
    const message = expectError(ModelLoadError, () => BertTokenizer.fromVocab(lines.join('\n'))).message;
    expect(message).toContain('vocab.txt');
    expect(message).toContain('"[SEP]"');
  });

  it('rejects an empty vocab.txt', () => {
    expect(expectError(ModelLoadError, () => BertTokenizer.fromVocab('')).message).toContain('vocab.txt is empty');
  });
});
