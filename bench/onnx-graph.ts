/**
 * Builds an ONNX graph (opset 17) of a BERT sequence classifier from the
 * engine's weights, so that ONNX Runtime runs exactly the weights that
 * fca-webgpu runs. The graph follows Hugging Face's BertForSequenceClassification
 * in eval mode: post-LayerNorm encoder layers, erf GELU, a tanh pooler on
 * [CLS] and a linear classifier. Inputs `input_ids`, `attention_mask` and
 * `token_type_ids` are int64 [batch, sequence] with both dimensions dynamic;
 * the output `logits` is float32 [batch, numLabels].
 */
import { onnx } from 'onnx-proto';
import type { ModelFiles } from '../src/model/load.js';
import { weight } from '../src/model/weights.js';

const OPSET = 17;
const IR_VERSION = 8;
/** Added to the attention scores of masked keys, as the original BERT code does. */
const MASKED_SCORE = -10000;

type Attribute = { ints: number[] } | { int: number } | { float: number };

/** Collects nodes and initializers; every value name it makes is unique. */
class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;

  private fresh(prefix: string): string {
    this.counter++;
    return `${prefix}_${this.counter}`;
  }

  /** Adds a float32 initializer and returns its name. */
  floats(name: string, dims: number[], data: Float32Array): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes });
    return name;
  }

  /** Adds an int64 initializer and returns its name; an empty `dims` makes a scalar. */
  int64s(dims: number[], values: number[]): string {
    const name = this.fresh('const');
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** Adds a float32 scalar initializer and returns its name. */
  scalar(value: number): string {
    return this.floats(this.fresh('scalar'), [], Float32Array.of(value));
  }

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    const out = output ?? this.fresh(opType);
    const attribute = Object.entries(attributes).map(([name, value]): onnx.IAttributeProto => {
      if ('ints' in value) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value.ints };
      if ('int' in value) return { name, type: onnx.AttributeProto.AttributeType.INT, i: value.int };
      return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
    });
    this.nodes.push({ opType, input: inputs, output: [out], name: out, attribute });
    return out;
  }
}

/** PyTorch's Linear weight [out, in] transposed to MatMul's [in, out]. */
function transposed(data: Float32Array, outFeatures: number, inFeatures: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let o = 0; o < outFeatures; o++) {
    for (let i = 0; i < inFeatures; i++) out[i * outFeatures + o] = data[o * inFeatures + i];
  }
  return out;
}

/** Serializes the BERT classifier in `files` as an ONNX model. Throws for architectures other than BertForSequenceClassification. */
export function buildBertOnnx(files: ModelFiles): Uint8Array {
  const { config, weights } = files;
  if (config.architecture !== 'BertForSequenceClassification') {
    throw new Error(`buildBertOnnx supports BertForSequenceClassification only, got ${config.architecture}.`);
  }
  const d = config.hiddenSize;
  const f = config.intermediateSize;
  const h = config.numHeads;
  const headSize = d / h;
  const labels = config.labels.length;
  const g = new GraphBuilder();
  const w = (name: string) => weight(weights, name);
  const linear = (input: string, name: string, outFeatures: number, inFeatures: number) => {
    const matrix = g.floats(`${name}.weight`, [inFeatures, outFeatures], transposed(w(`${name}.weight`), outFeatures, inFeatures));
    const bias = g.floats(`${name}.bias`, [outFeatures], w(`${name}.bias`));
    return g.node('Add', [g.node('MatMul', [input, matrix]), bias]);
  };
  const layerNorm = (input: string, name: string) =>
    g.node('LayerNormalization', [input, g.floats(`${name}.weight`, [d], w(`${name}.weight`)), g.floats(`${name}.bias`, [d], w(`${name}.bias`))], {
      axis: { int: -1 },
      epsilon: { float: config.layerNormEps },
    });

  // Embeddings: word + position (0 .. length - 1) + token type, then LayerNorm.
  const words = g.node('Gather', [g.floats('embeddings.word_embeddings.weight', [config.vocabSize, d], w('embeddings.word_embeddings.weight')), 'input_ids']);
  const length = g.node('Gather', [g.node('Shape', ['input_ids']), g.int64s([], [1])], { axis: { int: 0 } });
  const positionIds = g.node('Range', [g.int64s([], [0]), length, g.int64s([], [1])]);
  const positions = g.node('Gather', [
    g.floats('embeddings.position_embeddings.weight', [config.maxPositionEmbeddings, d], w('embeddings.position_embeddings.weight')),
    positionIds,
  ]);
  const types = g.node('Gather', [
    g.floats('embeddings.token_type_embeddings.weight', [config.typeVocabSize, d], w('embeddings.token_type_embeddings.weight')),
    'token_type_ids',
  ]);
  let hidden = layerNorm(g.node('Add', [g.node('Add', [words, positions]), types]), 'embeddings.LayerNorm');

  // Mask bias [batch, 1, 1, length]: 0 for attended keys, MASKED_SCORE for padding.
  const mask = g.node('Cast', ['attention_mask'], { to: { int: onnx.TensorProto.DataType.FLOAT } });
  const maskBias = g.node('Reshape', [g.node('Mul', [g.node('Sub', [g.scalar(1), mask]), g.scalar(MASKED_SCORE)]), g.int64s([4], [0, 1, 1, -1])]);
  const headsShape = g.int64s([4], [0, 0, h, headSize]);
  const mergedShape = g.int64s([3], [0, 0, d]);
  const scale = g.scalar(1 / Math.sqrt(headSize));

  for (let layer = 0; layer < config.numLayers; layer++) {
    const p = `encoder.layer.${layer}.`;
    const split = (projection: string, perm: number[]) =>
      g.node('Transpose', [g.node('Reshape', [linear(hidden, `${p}attention.self.${projection}`, d, d), headsShape])], { perm: { ints: perm } });
    const query = split('query', [0, 2, 1, 3]);
    const keyT = split('key', [0, 2, 3, 1]);
    const value = split('value', [0, 2, 1, 3]);
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [query, keyT]), scale]), maskBias]);
    const probs = g.node('Softmax', [scores], { axis: { int: -1 } });
    const context = g.node('Reshape', [g.node('Transpose', [g.node('MatMul', [probs, value])], { perm: { ints: [0, 2, 1, 3] } }), mergedShape]);
    const attention = layerNorm(g.node('Add', [linear(context, `${p}attention.output.dense`, d, d), hidden]), `${p}attention.output.LayerNorm`);

    // GELU with erf: 0.5 x (1 + erf(x / sqrt(2))).
    const intermediate = linear(attention, `${p}intermediate.dense`, f, d);
    const erf = g.node('Erf', [g.node('Div', [intermediate, g.scalar(Math.SQRT2)])]);
    const gelu = g.node('Mul', [g.node('Mul', [intermediate, g.scalar(0.5)]), g.node('Add', [erf, g.scalar(1)])]);
    hidden = layerNorm(g.node('Add', [linear(gelu, `${p}output.dense`, d, f), attention]), `${p}output.LayerNorm`);
  }

  const cls = g.node('Gather', [hidden, g.int64s([], [0])], { axis: { int: 1 } });
  const pooled = g.node('Tanh', [linear(cls, 'pooler.dense', d, d)]);
  const logits = linear(pooled, 'classifier', labels, d);
  g.node('Identity', [logits], {}, 'logits');

  const tokenInput = (name: string): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } },
  });
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'fca-webgpu bench',
    graph: {
      name: 'bert_for_sequence_classification',
      node: g.nodes,
      initializer: g.initializers,
      input: [tokenInput('input_ids'), tokenInput('attention_mask'), tokenInput('token_type_ids')],
      output: [
        {
          name: 'logits',
          type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: labels }] } } },
        },
      ],
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
