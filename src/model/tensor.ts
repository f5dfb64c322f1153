/** Element types a safetensors file may hold that the engine reads; all are widened to float32 on load. */
export type TensorDtype = 'F32' | 'F16' | 'BF16';

/** One named tensor, widened to float32, row-major. */
export interface Tensor {
  name: string;
  dtype: TensorDtype;
  shape: number[];
  data: Float32Array;
}

/**
 * Weights of a BERT encoder under canonical Hugging Face names without the
 * `bert.` prefix, for example `embeddings.word_embeddings.weight`,
 * `encoder.layer.0.attention.self.query.weight`, `pooler.dense.weight`,
 * `classifier.weight`. Linear weights keep PyTorch's [out, in] layout.
 */
export type BertWeights = ReadonlyMap<string, Tensor>;
