/**
 * ONNX Runtime Web's WASM execution provider in a dedicated worker, so that
 * the 1-thread and 2-thread contenders each get their own runtime instance
 * (the thread count is fixed when a runtime initializes) and neither blocks
 * the page. Messages: { id, type: 'create', model, threads } and
 * { id, type: 'run', ids }; each reply is { id, ok, value } or { id, ok: false, error }.
 */
import * as ort from 'onnxruntime-web/wasm';
import { runBatch } from './ort-run.js';

export type OrtWorkerRequest =
  | { id: number; type: 'create'; model: Uint8Array; threads: number }
  | { id: number; type: 'run'; ids: number[][] }
  | { id: number; type: 'release' };

let session: ort.InferenceSession | null = null;

async function handle(request: OrtWorkerRequest): Promise<unknown> {
  if (request.type === 'create') {
    ort.env.wasm.numThreads = request.threads;
    const started = performance.now();
    session = await ort.InferenceSession.create(request.model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    return { ms: performance.now() - started, crossOriginIsolated: self.crossOriginIsolated };
  }
  if (request.type === 'release') {
    await session?.release();
    session = null;
    return null;
  }
  if (!session) throw new Error("no session in this worker; send a 'create' message first.");
  return runBatch(ort, session, request.ids);
}

self.onmessage = (event: MessageEvent<OrtWorkerRequest>) => {
  const request = event.data;
  handle(request).then(
    (value) => self.postMessage({ id: request.id, ok: true, value }),
    (error: unknown) => self.postMessage({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
};
