// Task heads on small random-weight models, and batch invariance on the real
// model, checked against the float64 reference.
import { FcaModel } from '../../src/engine/session.js';
import { resolveFcaOptions } from '../../src/fca/retention.js';
import { createGpuContext } from '../../src/gpu/device.js';
import { referenceForward } from '../../src/reference/forward.js';
import { randomBertFiles, type RandomModelSpec } from '../../src/testing/random-model.js';
import type { ClassifyInput, ClassifyOptions, ClassifyResult, MultipleChoiceInput } from '../../src/types.js';
import { loadModelFiles } from '../../src/model/load.js';

async function randomModel(spec: RandomModelSpec) {
  const files = randomBertFiles(spec);
  const model = new FcaModel(files, await createGpuContext());
  await model.warmUp();
  return { files, model };
}

function maxDiff(a: number[], b: ArrayLike<number>): number {
  let worst = a.length === b.length ? 0 : Infinity;
  a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]))));
  return worst;
}

function weightingOf(options: ClassifyOptions) {
  return { weighting: options.variant === 'mean' ? ('mean' as const) : ('weighted' as const) };
}

function softmax(values: number[]): number[] {
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, v) => a + v, 0);
  return exps.map((v) => v / sum);
}

/** Sequence classification or regression head: logits, probabilities and score against the reference. */
export async function checkSequenceHead(spec: RandomModelSpec, texts: string[], options: ClassifyOptions) {
  const { files, model } = await randomModel(spec);
  const results = await model.classify(texts, options);
  const fca = resolveFcaOptions(options, files.config.numLayers);
  let logitError = 0;
  let probabilityError = 0;
  const scores: Array<number | undefined> = [];
  texts.forEach((text, i) => {
    const encoded = model.encode(text);
    const expected = referenceForward(files.config, files.weights, encoded.inputIds, encoded.tokenTypeIds, fca, weightingOf(options));
    logitError = Math.max(logitError, maxDiff(results[i].logits, expected.logits));
    if (!files.config.regression) probabilityError = Math.max(probabilityError, maxDiff(results[i].probabilities, softmax(expected.logits)));
    scores.push(results[i].score);
  });
  model.dispose();
  return {
    logitError,
    probabilityError,
    scores,
    logits: results.map((r) => r.logits),
    probabilities: results.map((r) => r.probabilities),
    tokensPerLayer: results.map((r) => r.tokens_per_layer),
  };
}

/** Multiple-choice head: one logit per choice, softmax across the choices. */
export async function checkMultipleChoice(spec: RandomModelSpec, questions: MultipleChoiceInput[], options: ClassifyOptions) {
  const { files, model } = await randomModel(spec);
  const results = await model.chooseAnswer(questions, options);
  const fca = resolveFcaOptions(options, files.config.numLayers);
  let logitError = 0;
  let probabilityError = 0;
  let labelsCorrect = true;
  let flopsCorrect = true;
  questions.forEach((question, q) => {
    const perChoice = question.choices.map((choice) => {
      const encoded = model.encode({ text: question.text, text_pair: choice });
      return referenceForward(files.config, files.weights, encoded.inputIds, encoded.tokenTypeIds, fca, weightingOf(options));
    });
    const logits = perChoice.map((r) => r.logits[0]);
    logitError = Math.max(logitError, maxDiff(results[q].logits, logits));
    probabilityError = Math.max(probabilityError, maxDiff(results[q].probabilities, softmax(logits)));
    const best = logits.indexOf(Math.max(...logits));
    if (results[q].label_id !== best || results[q].label !== question.choices[best]) labelsCorrect = false;
    if (results[q].flops !== perChoice.reduce((sum, r) => sum + r.flops, 0)) flopsCorrect = false;
  });
  model.dispose();
  return { logitError, probabilityError, labelsCorrect, flopsCorrect, choices: results.map((r) => r.choices.length) };
}

/** Feature extraction: mean pooling weighted by the original tokens each row stands for, or the [CLS] row. */
export async function checkEmbed(spec: RandomModelSpec, texts: string[], options: ClassifyOptions & { pooling: 'mean' | 'cls' }) {
  const { files, model } = await randomModel(spec);
  const results = await model.embed(texts, options);
  const fca = resolveFcaOptions(options, files.config.numLayers);
  const d = files.config.hiddenSize;
  let maxError = 0;
  texts.forEach((text, i) => {
    const encoded = model.encode(text);
    const expected = referenceForward(files.config, files.weights, encoded.inputIds, encoded.tokenTypeIds, fca, weightingOf(options));
    const rows = expected.tokenCounts.length;
    const pooled = new Float64Array(d);
    if (options.pooling === 'cls') {
      pooled.set(expected.lastHidden.subarray(0, d));
    } else {
      const total = expected.tokenCounts.reduce((a, c) => a + c, 0);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < d; c++) pooled[c] += (expected.tokenCounts[r] * expected.lastHidden[r * d + c]) / total;
      }
    }
    maxError = Math.max(maxError, maxDiff(results[i].embedding, pooled));
  });
  model.dispose();
  return { maxError, dimensions: results.map((r) => r.embedding.length), tokensPerLayer: results.map((r) => r.tokens_per_layer) };
}

/** Calls a head method that should fail, and returns its error message. */
export async function headError(spec: RandomModelSpec, method: 'classify' | 'chooseAnswer' | 'embed', input: unknown, options: object = {}) {
  const { model } = await randomModel(spec);
  try {
    await (model[method] as (i: unknown, o: object) => Promise<unknown>)(input, options);
    return { error: null };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  } finally {
    model.dispose();
  }
}

/**
 * Runs each input alone, then the whole list in batches of several sizes and
 * orders, and reports the largest logit difference and any change of
 * tokens_per_layer between a sequence alone and in a batch.
 */
export async function checkBatchInvariance(modelUrl: string, inputs: ClassifyInput[], options: ClassifyOptions, batchSizes: number[]) {
  const files = await loadModelFiles(modelUrl);
  const model = new FcaModel(files, await createGpuContext());
  await model.warmUp();
  const alone: ClassifyResult[] = [];
  for (const input of inputs) alone.push((await model.classify([input], options))[0]);

  let maxLogitDiff = 0;
  const mismatches: string[] = [];
  // Input order, then a shuffle (7 is coprime with the 32 inputs the test uses, so this is a permutation).
  const orders = [inputs.map((_, i) => i), inputs.map((_, i) => (i * 7) % inputs.length)];
  for (const batchSize of batchSizes) {
    for (const order of orders) {
      const batched = await model.classify(order.map((i) => inputs[i]), { ...options, batchSize });
      order.forEach((inputIndex, position) => {
        maxLogitDiff = Math.max(maxLogitDiff, maxDiff(batched[position].logits, alone[inputIndex].logits));
        if (JSON.stringify(batched[position].tokens_per_layer) !== JSON.stringify(alone[inputIndex].tokens_per_layer)) {
          mismatches.push(`input ${inputIndex} at position ${position}, batch ${batchSize}: ${batched[position].tokens_per_layer} != ${alone[inputIndex].tokens_per_layer}`);
        }
      });
    }
  }
  model.dispose();
  return { maxLogitDiff, mismatches, lengths: alone.map((r) => r.tokens.length) };
}
