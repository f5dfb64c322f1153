import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError, parseBertConfig, type BertConfig } from '../src/model/config.js';
import { parseSafetensors } from '../src/model/safetensors.js';
import type { Tensor } from '../src/model/tensor.js';
import { expectedWeightShapes, resolveBertWeights, weight } from '../src/model/weights.js';

const modelDir = fileURLToPath(new URL('../../shared/models/sst2-bert-mini/', import.meta.url));

let config: BertConfig;
let checkpoint: Map<string, Tensor>;

beforeAll(() => {
  config = parseBertConfig(JSON.parse(readFileSync(`${modelDir}config.json`, 'utf8')));
  checkpoint = parseSafetensors(readFileSync(`${modelDir}model.safetensors`));
});

/** Small config whose tensors are built in the tests. */
function tinyConfig(architecture: 'BertModel' | 'BertForSequenceClassification'): BertConfig {
  return parseBertConfig({
    architectures: [architecture],
    model_type: 'bert',
    vocab_size: 10,
    hidden_size: 8,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 6,
    type_vocab_size: 2,
    num_labels: 3,
  });
}

/** Tensors with every expected name and shape, each prefixed with `prefix`. */
function tensorsFor(tinyConfigValue: BertConfig, prefix: string): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const [name, shape] of expectedWeightShapes(tinyConfigValue)) {
    const fullName = name.startsWith('classifier.') ? name : prefix + name;
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.set(fullName, { name: fullName, dtype: 'F32', shape, data: new Float32Array(size).fill(size) });
  }
  return tensors;
}

function resolveError(tensors: Map<string, Tensor>, bertConfig: BertConfig): Error {
  try {
    resolveBertWeights(tensors, bertConfig);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelLoadError);
    return error as Error;
  }
  throw new Error('resolveBertWeights accepted invalid tensors');
}

describe('expectedWeightShapes', () => {
  it('counts the tensors of each architecture', () => {
    // 5 embedding tensors, 16 per layer, and 4 for the pooler and classifier.
    expect(expectedWeightShapes(tinyConfig('BertModel')).size).toBe(5 + 16 * 2);
    expect(expectedWeightShapes(tinyConfig('BertForSequenceClassification')).size).toBe(5 + 16 * 2 + 4);
  });

  it('uses PyTorch [out, in] shapes', () => {
    const shapes = expectedWeightShapes(tinyConfig('BertForSequenceClassification'));
    expect(shapes.get('encoder.layer.1.intermediate.dense.weight')).toEqual([16, 8]);
    expect(shapes.get('encoder.layer.1.output.dense.weight')).toEqual([8, 16]);
    expect(shapes.get('embeddings.position_embeddings.weight')).toEqual([6, 8]);
    expect(shapes.get('classifier.weight')).toEqual([3, 8]);
  });
});

describe('resolveBertWeights', () => {
  it('resolves the real checkpoint', () => {
    const weights = resolveBertWeights(checkpoint, config);
    expect(weights.size).toBe(73);
    expect(weights.get('embeddings.word_embeddings.weight')!.shape).toEqual([30522, 256]);
    expect(weights.get('encoder.layer.3.attention.self.value.bias')!.shape).toEqual([256]);
    expect(weights.get('classifier.weight')!.shape).toEqual([2, 256]);
    // Resolution renames; it must hand over the checkpoint's own data.
    expect(weight(weights, 'pooler.dense.weight')).toBe(checkpoint.get('bert.pooler.dense.weight')!.data);
  });

  it('accepts names with and without the bert. prefix', () => {
    const bertConfig = tinyConfig('BertForSequenceClassification');
    for (const prefix of ['bert.', '']) {
      const weights = resolveBertWeights(tensorsFor(bertConfig, prefix), bertConfig);
      expect(weights.size, `prefix "${prefix}"`).toBe(expectedWeightShapes(bertConfig).size);
      expect(weights.get('encoder.layer.0.attention.self.query.weight')!.name).toBe(`${prefix}encoder.layer.0.attention.self.query.weight`);
    }
  });

  it('accepts legacy LayerNorm gamma and beta names', () => {
    const bertConfig = tinyConfig('BertModel');
    const tensors = new Map<string, Tensor>();
    for (const [name, tensor] of tensorsFor(bertConfig, 'bert.')) {
      const legacy = name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
      tensors.set(legacy, { ...tensor, name: legacy });
    }
    const weights = resolveBertWeights(tensors, bertConfig);
    expect(weights.get('embeddings.LayerNorm.weight')!.name).toBe('bert.embeddings.LayerNorm.gamma');
    expect(weights.get('encoder.layer.1.output.LayerNorm.bias')!.name).toBe('bert.encoder.layer.1.output.LayerNorm.beta');
  });

  it('ignores extra tensors', () => {
    const bertConfig = tinyConfig('BertModel');
    const tensors = tensorsFor(bertConfig, 'bert.');
    tensors.set('bert.embeddings.position_ids', { name: 'bert.embeddings.position_ids', dtype: 'F32', shape: [1, 6], data: new Float32Array(6) });
    expect(resolveBertWeights(tensors, bertConfig).has('embeddings.position_ids')).toBe(false);
  });

  it('rejects a tensor of the wrong shape', () => {
    const bertConfig = tinyConfig('BertForSequenceClassification');
    const tensors = tensorsFor(bertConfig, 'bert.');
    const name = 'bert.encoder.layer.1.attention.self.key.weight';
    tensors.set(name, { name, dtype: 'F32', shape: [8, 4], data: new Float32Array(32) });
    const message = resolveError(tensors, bertConfig).message;
    expect(message).toContain(`"${name}"`);
    expect(message).toContain('[8,4]');
    expect(message).toContain('[8,8]');
  });

  it('rejects a tensor of the wrong rank', () => {
    const bertConfig = tinyConfig('BertModel');
    const tensors = tensorsFor(bertConfig, '');
    tensors.set('embeddings.LayerNorm.bias', { name: 'embeddings.LayerNorm.bias', dtype: 'F32', shape: [1, 8], data: new Float32Array(8) });
    const message = resolveError(tensors, bertConfig).message;
    expect(message).toContain('[1,8]');
    expect(message).toContain('[8]');
  });

  it('rejects a checkpoint whose label count differs from the config', () => {
    const real = parseBertConfig({ ...JSON.parse(readFileSync(`${modelDir}config.json`, 'utf8')), id2label: undefined, num_labels: 3 });
    const message = resolveError(checkpoint, real).message;
    expect(message).toContain('"classifier.weight"');
    expect(message).toContain('[2,256]');
    expect(message).toContain('[3,256]');
  });

  it('rejects a missing tensor', () => {
    const bertConfig = tinyConfig('BertForSequenceClassification');
    const tensors = tensorsFor(bertConfig, 'bert.');
    tensors.delete('bert.encoder.layer.1.output.dense.bias');
    const message = resolveError(tensors, bertConfig).message;
    expect(message).toContain('"encoder.layer.1.output.dense.bias"');
    expect(message).toContain('model.safetensors');
  });

  it('rejects a checkpoint with fewer layers than the config', () => {
    const deeper = parseBertConfig({ ...JSON.parse(readFileSync(`${modelDir}config.json`, 'utf8')), num_hidden_layers: 6 });
    expect(resolveError(checkpoint, deeper).message).toContain('"encoder.layer.4.');
  });

  it('rejects a classification config on a BertModel checkpoint', () => {
    const tensors = tensorsFor(tinyConfig('BertModel'), 'bert.');
    expect(resolveError(tensors, tinyConfig('BertForSequenceClassification')).message).toContain('"pooler.dense.weight"');
  });
});
