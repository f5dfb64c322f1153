import { planLayers, type FcaSettings, type LayerStep } from '../fca/retention.js';
import type { BertConfig } from '../model/config.js';
import type { BufferPool } from '../gpu/buffers.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import type { GpuLinear, GpuWeights } from './gpu-weights.js';
import type { KernelSpec } from '../gpu/pipelines.js';
import { ComputeRecorder, KERNELS, gatherMergeDispatch, groups } from './kernels.js';

/** One tokenized sequence of a batch. */
export interface SequenceInput {
  inputIds: number[];
  tokenTypeIds: number[];
}

export interface PassOptions {
  fca: FcaSettings | null;
  /** Cluster weighting: softmax of the scores inside each group, or a plain mean. */
  weighting: 'weighted' | 'mean';
  /** Read back, per layer, the original position of every remaining token. */
  trace: boolean;
}

export interface SequenceOutput {
  logits: number[];
  steps: LayerStep[];
  /** Per layer, the original input position of each output token, or -1 for a cluster (only with trace). */
  positions?: number[][];
}

/**
 * Encodes a whole forward pass over a padded batch into one command buffer.
 * Every sequence's per-layer lengths follow from its input length and the
 * retention setting alone, so the scheduler knows each layer's padded
 * length in advance and never reads back before the logits.
 */
export class Scheduler {
  constructor(
    private readonly device: GPUDevice,
    private readonly config: BertConfig,
    private readonly weights: GpuWeights,
    private readonly pipelines: PipelineCache,
    private readonly pool: BufferPool,
  ) {}

  /** Kernels a pass may dispatch, for compiling ahead of time. */
  static kernels(): KernelSpec[] {
    return Object.values(KERNELS);
  }

  async run(batch: SequenceInput[], options: PassOptions): Promise<SequenceOutput[]> {
    const { config, weights, pool, device } = this;
    const numLayers = config.numLayers;
    const d = config.hiddenSize;
    const f = config.intermediateSize;
    const h = config.numHeads;
    const b = batch.length;
    const classifier = weights.classifier;
    const pooler = weights.pooler;
    if (!classifier || !pooler) {
      throw new Error(`${config.architecture} has no classification head; classify needs BertForSequenceClassification.`);
    }

    // Per-sequence plans and the padded length of every layer.
    const steps = batch.map((input) => planLayers(input.inputIds.length, numLayers, options.fca));
    const inStride = steps[0].map((_, l) => Math.max(...steps.map((s) => s[l].nIn)));
    const outStride = steps[0].map((_, l) => Math.max(...steps.map((s) => s[l].nOut)));
    const length0 = inStride[0];

    const seqInfo = new Uint32Array(numLayers * b * 4);
    steps.forEach((sequenceSteps, s) => {
      sequenceSteps.forEach((step, l) => {
        seqInfo.set([step.nIn, step.fine, step.clusters, step.nOut], (l * b + s) * 4);
      });
    });
    const tokens = new Uint32Array(b * length0 * 2);
    batch.forEach((input, s) => {
      input.inputIds.forEach((id, i) => {
        tokens[(s * length0 + i) * 2] = id;
        tokens[(s * length0 + i) * 2 + 1] = input.tokenTypeIds[i] ?? 0;
      });
    });

    // Activation buffers are sized by the first layer, the longest.
    const rows0 = b * length0;
    const seqInfoBuffer = pool.acquire('seqInfo', seqInfo.byteLength);
    const tokenBuffer = pool.acquire('tokens', tokens.byteLength);
    const hidden = [0, 1, 2].map((i) => pool.acquire(`hidden${i}`, rows0 * d * 4));
    const qkv = pool.acquire('qkv', rows0 * 3 * d * 4);
    const context = pool.acquire('context', rows0 * d * 4);
    const projected = pool.acquire('projected', rows0 * d * 4);
    const intermediate = pool.acquire('intermediate', rows0 * f * 4);
    const probs = pool.acquire('probs', b * h * length0 * length0 * 4);
    const scores = pool.acquire('scores', rows0 * 4);
    const keep = pool.acquire('keep', rows0 * 4);
    const destination = pool.acquire('destination', rows0 * 4);
    const source = pool.acquire('source', rows0 * 4);
    const origins = Array.from({ length: numLayers + 1 }, (_, l) => pool.acquire(`origins${l}`, rows0 * 4));
    const pooled = pool.acquire('pooled', b * d * 4);
    const logits = pool.acquire('logits', b * classifier.outPadded * 4);
    device.queue.writeBuffer(seqInfoBuffer, 0, seqInfo);
    device.queue.writeBuffer(tokenBuffer, 0, tokens);

    const recorder = new ComputeRecorder(device, this.pipelines);
    const eps = { f32: config.layerNormEps };
    const gemm = (kernel: KernelSpec, linear: GpuLinear, input: GPUBuffer, output: GPUBuffer, rows: number, aRowStride = linear.inFeatures / 4) => {
      recorder.dispatch(kernel, [rows, linear.outPadded, linear.inFeatures, aRowStride], { 1: input, 2: linear.weight, 3: linear.bias, 4: output }, [
        groups(linear.outPadded / 4, 8),
        groups(Math.ceil(rows / 4), 8),
      ]);
    };

    recorder.dispatch(
      KERNELS.embeddingsLayerNorm,
      [b, length0, d, 0, 0, eps],
      { 1: seqInfoBuffer, 4: weights.embeddingNorm, 5: hidden[0], 6: tokenBuffer, 7: weights.wordEmbeddings, 8: weights.positionEmbeddings, 9: weights.typeEmbeddings, 10: origins[0] },
      [groups(rows0, 64)],
    );

    let x = 0; // index into hidden of the layer input
    for (let l = 0; l < numLayers; l++) {
      const layer = weights.layers[l];
      const lengthIn = inStride[l];
      const lengthOut = outStride[l];
      const rowsIn = b * lengthIn;
      const rowsOut = b * lengthOut;
      const infoBase = l * b;
      const attentionParams = [b, lengthIn, d, h, d / h, infoBase, { f32: 1 / Math.sqrt(d / h) }];

      // Self-attention, output projection, residual + LayerNorm: y.
      gemm(KERNELS.gemm, layer.qkv, hidden[x], qkv, rowsIn);
      recorder.dispatch(KERNELS.attentionScores, attentionParams, { 1: seqInfoBuffer, 2: qkv, 3: probs }, [
        groups(Math.ceil(lengthIn / 4), 8),
        groups(Math.ceil(lengthIn / 4), 8),
        b * h,
      ]);
      recorder.dispatch(KERNELS.softmaxRows, attentionParams, { 1: seqInfoBuffer, 3: probs }, [groups(lengthIn, 64), b * h]);
      recorder.dispatch(KERNELS.attentionContext, attentionParams, { 1: seqInfoBuffer, 2: qkv, 4: probs, 5: context }, [
        groups(d / 4, 8),
        groups(Math.ceil(lengthIn / 4), 8),
        b,
      ]);
      gemm(KERNELS.gemm, layer.attentionOutput, context, projected, rowsIn);
      const y = (x + 1) % 3;
      recorder.dispatch(KERNELS.addLayerNorm, [b, lengthIn, d, infoBase, 0, eps], { 1: seqInfoBuffer, 2: projected, 3: hidden[x], 4: layer.attentionNorm, 5: hidden[y] }, [
        groups(rowsIn, 64),
      ]);

      // FCA: score, select, gather fine rows and merge the tail into clusters: z.
      let z = y;
      const reduces = steps.some((s) => s[l].reduces);
      if (reduces || options.trace) {
        z = (x + 2) % 3;
        const fcaParams = [b, lengthIn, lengthOut, d, h, infoBase];
        recorder.dispatch(KERNELS.attentionColumnScores, fcaParams, { 1: seqInfoBuffer, 2: probs, 3: scores }, [groups(lengthIn, 64), b]);
        recorder.dispatch(KERNELS.topKSelect, fcaParams, { 1: seqInfoBuffer, 4: scores, 5: keep }, [groups(lengthIn, 64), b]);
        recorder.dispatch(KERNELS.assignDestinations, fcaParams, { 1: seqInfoBuffer, 6: keep, 7: destination, 8: source }, [groups(lengthIn, 64), b]);
        const merge = gatherMergeDispatch(options.weighting, {
          seqInfo: seqInfoBuffer,
          scores,
          destination,
          source,
          hiddenIn: hidden[y],
          hiddenOut: hidden[z],
          originsIn: origins[l],
          originsOut: origins[l + 1],
        });
        recorder.dispatch(merge.kernel, fcaParams, merge.bindings, [groups(d / 4, 16), groups(lengthOut, 4), b]);
      }

      // Feed-forward on the reduced sequence, residual + LayerNorm: the next layer's input.
      gemm(KERNELS.gemmGelu, layer.intermediate, hidden[z], intermediate, rowsOut);
      gemm(KERNELS.gemm, layer.output, intermediate, projected, rowsOut);
      const next = [0, 1, 2].find((i) => i !== z)!;
      recorder.dispatch(KERNELS.addLayerNorm, [b, lengthOut, d, infoBase, 3, eps], { 1: seqInfoBuffer, 2: projected, 3: hidden[z], 4: layer.outputNorm, 5: hidden[next] }, [
        groups(rowsOut, 64),
      ]);
      x = next;
    }

    // Pooler on each sequence's row 0 ([CLS]), then the classifier.
    const finalStride = outStride[numLayers - 1];
    gemm(KERNELS.gemmTanh, pooler, hidden[x], pooled, b, (finalStride * d) / 4);
    gemm(KERNELS.gemm, classifier, pooled, logits, b);

    // One submit; the only readback is the logits (and the trace when asked).
    const readBytes = b * classifier.outPadded * 4 + (options.trace ? outStride.reduce((sum, len) => sum + b * len * 4, 0) : 0);
    const staging = device.createBuffer({ label: 'readback', size: readBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'forward' });
    recorder.encode(encoder, (bytes) => pool.acquire('uniforms', bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
    encoder.copyBufferToBuffer(logits, 0, staging, 0, b * classifier.outPadded * 4);
    let offset = b * classifier.outPadded * 4;
    const traceOffsets: number[] = [];
    if (options.trace) {
      for (let l = 0; l < numLayers; l++) {
        traceOffsets.push(offset);
        encoder.copyBufferToBuffer(origins[l + 1], 0, staging, offset, b * outStride[l] * 4);
        offset += b * outStride[l] * 4;
      }
    }

    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    device.queue.submit([encoder.finish()]);
    const validation = await device.popErrorScope();
    const memory = await device.popErrorScope();
    if (validation || memory) {
      staging.destroy();
      const error = (validation ?? memory)!;
      throw new Error(`WebGPU rejected the forward pass (batch ${b}, length ${length0}): ${error.message}`);
    }

    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (error) {
      staging.destroy();
      throw error;
    }
    const data = staging.getMappedRange();
    const logitValues = new Float32Array(data, 0, b * classifier.outPadded);
    const numLabels = config.labels.length;
    const outputs: SequenceOutput[] = batch.map((_, s) => ({
      logits: Array.from(logitValues.subarray(s * classifier.outPadded, s * classifier.outPadded + numLabels)),
      steps: steps[s],
    }));
    if (options.trace) {
      outputs.forEach((output, s) => {
        output.positions = steps[s].map((step, l) => Array.from(new Int32Array(data, traceOffsets[l] + s * outStride[l] * 4, step.nOut)));
      });
    }
    staging.unmap();
    staging.destroy();
    return outputs;
  }
}
