/**
 * One ONNX Runtime Web call on a batch of token-id sequences of one length,
 * shared by the WebGPU contender (in the page) and the WASM contenders (in
 * workers). Each build of onnxruntime-web has its own Tensor class, so the
 * caller passes the module it imported.
 */
import type * as Ort from 'onnxruntime-web';

export type OrtModule = typeof Ort;

/**
 * Runs `session` on `ids` (every sequence the same length, no padding, token
 * type 0) and returns the logits per sequence and the milliseconds from
 * tensor creation to the logits in JavaScript.
 */
export async function runBatch(ort: OrtModule, session: Ort.InferenceSession, ids: number[][]): Promise<{ ms: number; logits: number[][] }> {
  const batch = ids.length;
  const length = ids[0].length;
  if (ids.some((sequence) => sequence.length !== length)) {
    throw new Error(`runBatch needs sequences of one length, got lengths ${ids.map((s) => s.length).join(', ')}; split the batch by length.`);
  }
  const started = performance.now();
  const inputIds = new BigInt64Array(batch * length);
  ids.forEach((sequence, s) => sequence.forEach((id, i) => (inputIds[s * length + i] = BigInt(id))));
  const ones = new BigInt64Array(batch * length).fill(1n);
  const zeros = new BigInt64Array(batch * length);
  const dims = [batch, length];
  const outputs = await session.run({
    input_ids: new ort.Tensor('int64', inputIds, dims),
    attention_mask: new ort.Tensor('int64', ones, dims),
    token_type_ids: new ort.Tensor('int64', zeros, dims),
  });
  const logitsTensor = outputs.logits;
  const data = (await logitsTensor.getData()) as Float32Array;
  const ms = performance.now() - started;
  const width = data.length / batch;
  const logits = Array.from({ length: batch }, (_, s) => Array.from(data.subarray(s * width, (s + 1) * width)));
  for (const output of Object.values(outputs)) output.dispose();
  return { ms, logits };
}
