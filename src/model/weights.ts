import { ModelLoadError, type BertConfig } from './config.js';
import type { BertWeights, Tensor } from './tensor.js';

/** Expected canonical tensor names and shapes for a config, in a stable order. */
export function expectedWeightShapes(config: BertConfig): Map<string, number[]> {
  const d = config.hiddenSize;
  const f = config.intermediateSize;
  const shapes = new Map<string, number[]>([
    ['embeddings.word_embeddings.weight', [config.vocabSize, d]],
    ['embeddings.position_embeddings.weight', [config.maxPositionEmbeddings, d]],
    ['embeddings.token_type_embeddings.weight', [config.typeVocabSize, d]],
    ['embeddings.LayerNorm.weight', [d]],
    ['embeddings.LayerNorm.bias', [d]],
  ]);
  for (let layer = 0; layer < config.numLayers; layer++) {
    const p = `encoder.layer.${layer}.`;
    for (const proj of ['query', 'key', 'value']) {
      shapes.set(`${p}attention.self.${proj}.weight`, [d, d]);
      shapes.set(`${p}attention.self.${proj}.bias`, [d]);
    }
    shapes.set(`${p}attention.output.dense.weight`, [d, d]);
    shapes.set(`${p}attention.output.dense.bias`, [d]);
    shapes.set(`${p}attention.output.LayerNorm.weight`, [d]);
    shapes.set(`${p}attention.output.LayerNorm.bias`, [d]);
    shapes.set(`${p}intermediate.dense.weight`, [f, d]);
    shapes.set(`${p}intermediate.dense.bias`, [f]);
    shapes.set(`${p}output.dense.weight`, [d, f]);
    shapes.set(`${p}output.dense.bias`, [d]);
    shapes.set(`${p}output.LayerNorm.weight`, [d]);
    shapes.set(`${p}output.LayerNorm.bias`, [d]);
  }
  if (config.architecture !== 'BertModel') {
    // A multiple-choice head scores each (context, choice) pair with one output.
    const outputs = config.architecture === 'BertForMultipleChoice' ? 1 : config.labels.length;
    shapes.set('pooler.dense.weight', [d, d]);
    shapes.set('pooler.dense.bias', [d]);
    shapes.set('classifier.weight', [outputs, d]);
    shapes.set('classifier.bias', [outputs]);
  }
  return shapes;
}

/**
 * Maps checkpoint tensors to canonical names (dropping a `bert.` prefix and
 * accepting the legacy LayerNorm `gamma`/`beta` names) and checks every
 * tensor the config needs is present with the right shape.
 */
export function resolveBertWeights(tensors: ReadonlyMap<string, Tensor>, config: BertConfig, fileName = 'model.safetensors'): BertWeights {
  const canonical = new Map<string, Tensor>();
  for (const [name, tensor] of tensors) {
    let key = name.startsWith('bert.') ? name.slice('bert.'.length) : name;
    key = key.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    canonical.set(key, tensor);
  }

  const resolved = new Map<string, Tensor>();
  for (const [name, shape] of expectedWeightShapes(config)) {
    const tensor = canonical.get(name);
    if (!tensor) {
      throw new ModelLoadError(
        `${fileName}: missing tensor "${name}" (or "bert.${name}") needed by ${config.architecture} with ${config.numLayers} layers; check that config.json matches the checkpoint.`,
      );
    }
    if (tensor.shape.length !== shape.length || tensor.shape.some((dim, i) => dim !== shape[i])) {
      throw new ModelLoadError(
        `${fileName}: tensor "${tensor.name}" has shape ${JSON.stringify(tensor.shape)} but config.json implies ${JSON.stringify(shape)}; check that config.json matches the checkpoint.`,
      );
    }
    resolved.set(name, tensor);
  }
  return resolved;
}

/** Returns a resolved tensor's data; the name must be one that expectedWeightShapes lists. */
export function weight(weights: BertWeights, name: string): Float32Array {
  const tensor = weights.get(name);
  if (!tensor) throw new Error(`internal error: weight "${name}" was not resolved`);
  return tensor.data;
}
