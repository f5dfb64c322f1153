import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ModelLoadError, parseBertConfig } from '../src/model/config.js';

const configPath = fileURLToPath(new URL('../../shared/models/sst2-bert-mini/config.json', import.meta.url));
const realConfig = (): Record<string, unknown> => JSON.parse(readFileSync(configPath, 'utf8'));

/** Returns the ModelLoadError that parseBertConfig raises for the real config with `changes` applied. */
function configError(changes: Record<string, unknown>, remove: string[] = []): Error {
  const json = { ...realConfig(), ...changes };
  for (const key of remove) delete json[key];
  try {
    parseBertConfig(json);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/^config\.json: /);
    return error as Error;
  }
  throw new Error(`parseBertConfig accepted ${JSON.stringify(changes)}`);
}

describe('parseBertConfig', () => {
  it('parses the real sst2-bert-mini config', () => {
    expect(parseBertConfig(realConfig())).toEqual({
      architecture: 'BertForSequenceClassification',
      vocabSize: 30522,
      hiddenSize: 256,
      numLayers: 4,
      numHeads: 4,
      intermediateSize: 1024,
      hiddenAct: 'gelu',
      layerNormEps: 1e-12,
      maxPositionEmbeddings: 512,
      typeVocabSize: 2,
      padTokenId: 0,
      labels: ['negative', 'positive'],
      regression: false,
    });
  });

  it('fills defaults for optional keys', () => {
    const json = realConfig();
    for (const key of ['architectures', 'model_type', 'hidden_act', 'layer_norm_eps', 'pad_token_id', 'id2label', 'label2id', 'num_labels', 'max_position_embeddings', 'type_vocab_size']) {
      delete json[key];
    }
    const config = parseBertConfig(json);
    expect(config.architecture).toBe('BertModel');
    expect(config.hiddenAct).toBe('gelu');
    expect(config.layerNormEps).toBe(1e-12);
    expect(config.padTokenId).toBe(0);
    expect(config.maxPositionEmbeddings).toBe(512);
    expect(config.typeVocabSize).toBe(2);
    expect(config.labels).toEqual([]);
  });

  it('names labels LABEL_i without id2label', () => {
    const config = parseBertConfig({ ...realConfig(), id2label: undefined, num_labels: 3 });
    expect(config.labels).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2']);
  });

  it('orders id2label by id', () => {
    const config = parseBertConfig({ ...realConfig(), num_labels: undefined, id2label: { 2: 'c', 0: 'a', 1: 'b' } });
    expect(config.labels).toEqual(['a', 'b', 'c']);
  });

  it('rejects a non-object config', () => {
    for (const json of [null, [], 'bert', 3]) {
      expect(() => parseBertConfig(json)).toThrow(ModelLoadError);
    }
  });

  it('rejects a non-integer hidden_size', () => {
    const message = configError({ hidden_size: 256.5 }).message;
    expect(message).toContain('"hidden_size"');
    expect(message).toContain('256.5');
  });

  it('rejects a string hidden_size', () => {
    expect(configError({ hidden_size: '256' }).message).toContain('"256"');
  });

  it('rejects a missing num_hidden_layers', () => {
    expect(configError({}, ['num_hidden_layers']).message).toContain('"num_hidden_layers"');
  });

  it('rejects a zero vocab_size', () => {
    expect(configError({ vocab_size: 0 }).message).toContain('"vocab_size"');
  });

  it('rejects heads that do not divide hidden_size', () => {
    const message = configError({ num_attention_heads: 3 }).message;
    expect(message).toContain('256');
    expect(message).toContain('3');
    expect(message).toContain('not divisible');
  });

  it('rejects a head size that is not a multiple of 4', () => {
    expect(configError({ hidden_size: 24, num_attention_heads: 4 }).message).toContain('head size 6');
  });

  it('rejects an intermediate_size that is not a multiple of 4', () => {
    expect(configError({ intermediate_size: 1022 }).message).toContain('1022');
  });

  it('rejects an unsupported architecture', () => {
    const message = configError({ architectures: ['RobertaModel'] }).message;
    expect(message).toContain('"RobertaModel"');
    expect(message).toContain('BertForSequenceClassification');
  });

  it('rejects an empty architectures list', () => {
    expect(configError({ architectures: [] }).message).toContain('"architectures"');
  });

  it('rejects hidden_act relu', () => {
    const message = configError({ hidden_act: 'relu' }).message;
    expect(message).toContain('"relu"');
    expect(message).toContain('gelu');
  });

  it('rejects an id2label and num_labels mismatch', () => {
    const message = configError({ num_labels: 3 }).message;
    expect(message).toContain('"num_labels" is 3');
    expect(message).toContain('2 entries');
  });

  it('rejects id2label with a gap', () => {
    expect(configError({ num_labels: undefined, id2label: { 0: 'a', 2: 'c' } }).message).toContain('"2"');
  });

  it('rejects id2label with a repeated id', () => {
    // "01" and "1" both name id 1, which would leave id 0 without a label.
    expect(configError({ num_labels: undefined, id2label: { 1: 'a', '01': 'b' } }).message).toContain('"01"');
  });

  it('rejects model_type gpt2', () => {
    const message = configError({ model_type: 'gpt2' }).message;
    expect(message).toContain('"gpt2"');
    expect(message).toContain('"bert"');
  });

  it('rejects a non-positive layer_norm_eps', () => {
    expect(configError({ layer_norm_eps: 0 }).message).toContain('"layer_norm_eps"');
  });

  it('rejects a negative pad_token_id', () => {
    expect(configError({ pad_token_id: -1 }).message).toContain('-1');
  });
});

describe('parseBertConfig heads', () => {
  const base = { architectures: ['BertForSequenceClassification'], hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, vocab_size: 30 };

  it('one label is regression', () => {
    expect(parseBertConfig({ ...base, num_labels: 1 }).regression).toBe(true);
  });

  it('problem_type regression is regression', () => {
    expect(parseBertConfig({ ...base, num_labels: 1, problem_type: 'regression' }).regression).toBe(true);
  });

  it('one label with single-label problem type is a classifier', () => {
    expect(parseBertConfig({ ...base, num_labels: 1, problem_type: 'single_label_classification' }).regression).toBe(false);
  });

  it('unknown problem_type is named', () => {
    expect(() => parseBertConfig({ ...base, problem_type: 'ranking' })).toThrow(/"ranking"/);
  });

  it('multiple choice is accepted', () => {
    const config = parseBertConfig({ ...base, architectures: ['BertForMultipleChoice'] });
    expect(config.architecture).toBe('BertForMultipleChoice');
    expect(config.regression).toBe(false);
  });
});
