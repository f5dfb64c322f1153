import { AUTHORS_LAYER_NORM_EPS, authorsSettings, planAuthorsLayers } from '../fca/authors-plan.js';
import { planLayers, type FcaSettings, type LayerStep } from '../fca/retention.js';
import type { BertConfig } from '../model/config.js';
import type { BufferPool } from '../gpu/buffers.js';
import type { PipelineCache } from '../gpu/pipelines.js';
import type { GpuLinear, GpuWeights } from './gpu-weights.js';
import type { KernelSpec } from '../gpu/pipelines.js';
import { ComputeRecorder, KERNELS, dispatchGemm, gatherMergeDispatch, gemmKernels, groups, type GemmActivation } from './kernels.js';

/** One tokenized sequence of a batch. */
export interface SequenceInput {
  inputIds: number[];
  tokenTypeIds: number[];
}

/** Output stage of a pass after the encoder. */
export type PassHead =
  | { kind: 'classifier' }
  /** Sentence embedding: the mean of the final rows weighted by the original tokens each stands for, or row 0. */
  | { kind: 'pooling'; pooling: 'mean' | 'cls' };

export interface PassOptions {
  fca: FcaSettings | null;
  head: PassHead;
  /** Read back, per layer, where every token came from, the scores and the destinations. */
  trace: boolean;
}

/** Record of one layer's reduction of one sequence, read back with trace. */
export interface LayerRecord {
  /** Per output token: original input position, or -1 for a cluster. */
  positions: number[];
  /** Per output token: how many original tokens it stands for. */
  tokenCounts: number[];
  /** Per input token: attention received from the other tokens, mean over heads. */
  scores: number[];
  /** Per input token: its output index, or -1 when dropped. */
  destinations: number[];
}

export interface SequenceOutput {
  /** Classifier logits, or the pooled sentence embedding for a pooling head. */
  values: number[];
  steps: LayerStep[];
  layers?: LayerRecord[];
}

/**
 * Encodes a whole forward pass over a padded batch into one command buffer.
 * Every sequence's per-layer lengths follow from its input length and the
 * retention setting alone, so the scheduler computes each layer's padded
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

  /** Kernels a pass may dispatch, for compiling ahead of time: the fixed ones and the GEMMs of the chosen variant. */
  kernels(): KernelSpec[] {
    return [...Object.values(KERNELS), ...gemmKernels(this.weights.gemmVariant)];
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
    if (options.head.kind === 'classifier' && (!classifier || !pooler)) {
      throw new Error(`${config.architecture} has no classification head.`);
    }
    // Variant 'reference' (the FCA authors' code's arithmetic) pads every sequence to a fixed length and
    // swaps in the AUTHORS kernels, which also read each layer's visible prefix from visibleInfo.
    const authors = options.fca?.variant === 'reference' ? authorsSettings(options.fca) : null;
    let weighting: 'authors' | 'mean' | 'weighted' = 'weighted';
    if (authors) weighting = 'authors';
    else if (options.fca?.variant === 'mean') weighting = 'mean';
    const embeddingsKernel = authors ? KERNELS.embeddingsLayerNormAuthors : KERNELS.embeddingsLayerNorm;
    const softmaxKernel = authors ? KERNELS.softmaxRowsAuthors : KERNELS.softmaxRows;
    const topKKernel = authors ? KERNELS.topKSelectAuthors : KERNELS.topKSelect;
    const assignKernel = authors ? KERNELS.assignDestinationsAuthors : KERNELS.assignDestinations;

    // Per-sequence plans and the padded length of every layer.
    const authorsSteps = authors ? batch.map((input) => planAuthorsLayers(input.inputIds.length, authors, config)) : null;
    const steps: LayerStep[][] = authorsSteps ?? batch.map((input) => planLayers(input.inputIds.length, numLayers, options.fca));
    const inStride = steps[0].map((_, l) => Math.max(...steps.map((s) => s[l].nIn)));
    const outStride = steps[0].map((_, l) => Math.max(...steps.map((s) => s[l].nOut)));
    const length0 = inStride[0];

    const seqInfo = new Uint32Array(numLayers * b * 4);
    steps.forEach((sequenceSteps, s) => {
      sequenceSteps.forEach((step, l) => {
        seqInfo.set([step.nIn, step.fine, step.clusters, step.nOut], (l * b + s) * 4);
      });
    });
    const visibleInfo = new Uint32Array(numLayers * b);
    authorsSteps?.forEach((sequenceSteps, s) => {
      sequenceSteps.forEach((step, l) => {
        visibleInfo[l * b + s] = step.visible;
      });
    });
    const tokens = new Uint32Array(b * length0 * 2);
    batch.forEach((input, s) => {
      input.inputIds.forEach((id, i) => {
        tokens[(s * length0 + i) * 2] = id;
        tokens[(s * length0 + i) * 2 + 1] = input.tokenTypeIds[i] ?? 0;
      });
      // Rows past the input are [PAD] with token type 0; only variant 'reference' embeds them.
      for (let i = input.inputIds.length; i < length0; i++) tokens[(s * length0 + i) * 2] = config.padTokenId;
    });

    // Activation buffers are sized by the first layer, the longest.
    const rows0 = b * length0;
    const seqInfoBuffer = pool.acquire('seqInfo', seqInfo.byteLength);
    const tokenBuffer = pool.acquire('tokens', tokens.byteLength);
    const visibleBuffer = authors ? pool.acquire('visibleInfo', visibleInfo.byteLength) : null;
    const hidden = [0, 1, 2].map((i) => pool.acquire(`hidden${i}`, rows0 * d * 4));
    const qkv = pool.acquire('qkv', rows0 * 3 * d * 4);
    const context = pool.acquire('context', rows0 * d * 4);
    const projected = pool.acquire('projected', rows0 * d * 4);
    const intermediate = pool.acquire('intermediate', rows0 * f * 4);
    const probs = pool.acquire('probs', b * h * length0 * length0 * 4);
    // Scores, destinations and provenance get a buffer per layer so that a trace can read every layer back.
    const scores = Array.from({ length: numLayers }, (_, l) => pool.acquire(`scores${l}`, rows0 * 4));
    const destination = Array.from({ length: numLayers }, (_, l) => pool.acquire(`destination${l}`, rows0 * 4));
    const provenance = Array.from({ length: numLayers + 1 }, (_, l) => pool.acquire(`provenance${l}`, rows0 * 8));
    const keep = pool.acquire('keep', rows0 * 4);
    const source = pool.acquire('source', rows0 * 4);
    const pooled = pool.acquire('pooled', b * d * 4);
    const outputWidth = options.head.kind === 'classifier' ? classifier!.outPadded : d;
    const output = pool.acquire('output', b * outputWidth * 4);
    device.queue.writeBuffer(seqInfoBuffer, 0, seqInfo);
    device.queue.writeBuffer(tokenBuffer, 0, tokens);
    if (visibleBuffer) device.queue.writeBuffer(visibleBuffer, 0, visibleInfo);
    // Binds visibleInfo at `binding` for the AUTHORS kernels; the standard kernels do not declare it.
    const visibleBinding = (binding: number): Record<number, GPUBuffer> => (visibleBuffer ? { [binding]: visibleBuffer } : {});

    const recorder = new ComputeRecorder(device, this.pipelines);
    const eps = { f32: authors ? AUTHORS_LAYER_NORM_EPS : config.layerNormEps };
    const gemm = (activation: GemmActivation, linear: GpuLinear, input: GPUBuffer, output: GPUBuffer, rows: number, aRowStride = linear.inFeatures / 4) => {
      const shape = { rows, inFeatures: linear.inFeatures, outPadded: linear.outPadded, aRowStride };
      dispatchGemm(recorder, weights.gemmVariant, activation, { input, weight: linear.weight, bias: linear.bias, output }, shape);
    };

    recorder.dispatch(
      embeddingsKernel,
      [b, length0, d, 0, 0, eps],
      { 1: seqInfoBuffer, 4: weights.embeddingNorm, 5: hidden[0], 6: tokenBuffer, 7: weights.wordEmbeddings, 8: weights.positionEmbeddings, 9: weights.typeEmbeddings, 10: provenance[0], ...visibleBinding(11) },
      [groups(rows0, 64)],
    );

    let x = 0; // index into hidden of the layer input
    // Provenance moves to buffer l + 1 only at a layer that runs the FCA kernels.
    const provenanceAfter: number[] = [];
    let currentProvenance = 0;
    for (let l = 0; l < numLayers; l++) {
      const layer = weights.layers[l];
      const lengthIn = inStride[l];
      const lengthOut = outStride[l];
      const rowsIn = b * lengthIn;
      const rowsOut = b * lengthOut;
      const infoBase = l * b;
      const attentionParams = [b, lengthIn, d, h, d / h, infoBase, { f32: 1 / Math.sqrt(d / h) }];

      // Self-attention, output projection, residual + LayerNorm: y.
      gemm('none', layer.qkv, hidden[x], qkv, rowsIn);
      recorder.dispatch(KERNELS.attentionScores, attentionParams, { 1: seqInfoBuffer, 2: qkv, 3: probs }, [
        groups(Math.ceil(lengthIn / 4), 8),
        groups(Math.ceil(lengthIn / 4), 8),
        b * h,
      ]);
      recorder.dispatch(softmaxKernel, attentionParams, { 1: seqInfoBuffer, 3: probs, ...visibleBinding(6) }, [groups(lengthIn, 64), b * h]);
      recorder.dispatch(KERNELS.attentionContext, attentionParams, { 1: seqInfoBuffer, 2: qkv, 4: probs, 5: context }, [
        groups(d / 4, 8),
        groups(Math.ceil(lengthIn / 4), 8),
        b,
      ]);
      gemm('none', layer.attentionOutput, context, projected, rowsIn);
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
        recorder.dispatch(KERNELS.attentionColumnScores, fcaParams, { 1: seqInfoBuffer, 2: probs, 3: scores[l] }, [groups(lengthIn, 64), b]);
        recorder.dispatch(topKKernel, fcaParams, { 1: seqInfoBuffer, 4: scores[l], 5: keep }, [groups(lengthIn, 64), b]);
        recorder.dispatch(assignKernel, fcaParams, { 1: seqInfoBuffer, 6: keep, 7: destination[l], 8: source }, [groups(lengthIn, 64), b]);
        const merge = gatherMergeDispatch(weighting, {
          seqInfo: seqInfoBuffer,
          scores: scores[l],
          destination: destination[l],
          source,
          hiddenIn: hidden[y],
          hiddenOut: hidden[z],
          provenanceIn: provenance[currentProvenance],
          provenanceOut: provenance[l + 1],
        });
        currentProvenance = l + 1;
        recorder.dispatch(merge.kernel, fcaParams, merge.bindings, [groups(d / 4, 16), groups(lengthOut, 4), b]);
      }

      // Feed-forward on the reduced sequence, residual + LayerNorm: the next layer's input.
      gemm('gelu', layer.intermediate, hidden[z], intermediate, rowsOut);
      gemm('none', layer.output, intermediate, projected, rowsOut);
      const next = [0, 1, 2].find((i) => i !== z)!;
      recorder.dispatch(KERNELS.addLayerNorm, [b, lengthOut, d, infoBase, 3, eps], { 1: seqInfoBuffer, 2: projected, 3: hidden[z], 4: layer.outputNorm, 5: hidden[next] }, [
        groups(rowsOut, 64),
      ]);
      x = next;
      provenanceAfter.push(currentProvenance);
    }

    const finalStride = outStride[numLayers - 1];
    if (options.head.kind === 'classifier') {
      // Pooler on each sequence's row 0 ([CLS]), then the classifier.
      gemm('tanh', pooler!, hidden[x], pooled, b, (finalStride * d) / 4);
      gemm('none', classifier!, pooled, output, b);
    } else {
      recorder.dispatch(
        KERNELS.poolRows,
        [b, finalStride, d, (numLayers - 1) * b, options.head.pooling === 'cls' ? 1 : 0],
        { 1: seqInfoBuffer, 2: hidden[x], 3: provenance[currentProvenance], 4: output },
        [groups(d / 4, 64), b],
      );
    }

    // One submit; the only readback is the output (and the trace when asked).
    const reads: Array<{ buffer: GPUBuffer; bytes: number }> = [{ buffer: output, bytes: b * outputWidth * 4 }];
    if (options.trace) {
      for (let l = 0; l < numLayers; l++) {
        reads.push({ buffer: provenance[provenanceAfter[l]], bytes: b * outStride[l] * 8 });
        reads.push({ buffer: scores[l], bytes: b * inStride[l] * 4 });
        reads.push({ buffer: destination[l], bytes: b * inStride[l] * 4 });
      }
    }
    const offsets: number[] = [];
    let readBytes = 0;
    for (const read of reads) {
      offsets.push(readBytes);
      readBytes += read.bytes;
    }
    const staging = device.createBuffer({ label: 'readback', size: readBytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder({ label: 'forward' });
    recorder.encode(encoder, (bytes) => pool.acquire('uniforms', bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST));
    reads.forEach((read, i) => encoder.copyBufferToBuffer(read.buffer, 0, staging, offsets[i], read.bytes));

    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    device.queue.submit([encoder.finish()]);
    // Waiting for the error scopes and the mapping together overlaps their round trips to the GPU process.
    const scopes = Promise.all([device.popErrorScope(), device.popErrorScope()]);
    const mapped = staging.mapAsync(GPUMapMode.READ).then(
      () => null,
      (error: unknown) => error,
    );
    let validation: GPUError | null;
    let memory: GPUError | null;
    try {
      [validation, memory] = await scopes;
    } catch (error) {
      staging.destroy();
      throw error;
    }
    const mapError = await mapped;
    if (validation || memory || mapError) {
      staging.destroy();
      const error = validation ?? memory;
      if (error) throw new Error(`WebGPU rejected the forward pass (batch ${b}, length ${length0}): ${error.message}`);
      throw mapError;
    }
    const data = staging.getMappedRange();
    const values = new Float32Array(data, 0, b * outputWidth);
    const width = options.head.kind === 'classifier' ? classifier!.outputs : d;
    const outputs: SequenceOutput[] = batch.map((_, s) => ({
      values: Array.from(values.subarray(s * outputWidth, s * outputWidth + width)),
      steps: steps[s],
    }));
    if (options.trace) {
      outputs.forEach((result, s) => {
        result.layers = steps[s].map((step, l) => {
          const base = 1 + 3 * l;
          const pairs = new Int32Array(data, offsets[base] + s * outStride[l] * 8, 2 * step.nOut);
          return {
            positions: Array.from({ length: step.nOut }, (_, o) => pairs[2 * o]),
            tokenCounts: Array.from({ length: step.nOut }, (_, o) => pairs[2 * o + 1]),
            scores: Array.from(new Float32Array(data, offsets[base + 1] + s * inStride[l] * 4, step.nIn)),
            destinations: Array.from(new Int32Array(data, offsets[base + 2] + s * inStride[l] * 4, step.nIn)),
          };
        });
      });
    }
    staging.unmap();
    staging.destroy();
    return outputs;
  }
}
