// Random-weight model folders for the command-line tests: the files a
// Hugging Face folder holds, made in the browser (the TypeScript sources do
// not run in Node here), with float64 reference outputs for given inputs.
import { resolveFcaOptions, type FcaOptions } from '../../src/fca/retention.js';
import { parseBertConfig, type BertConfig } from '../../src/model/config.js';
import { serializeSafetensors } from '../../src/model/safetensors.js';
import { referenceForward } from '../../src/reference/forward.js';
import { randomBertFiles, randomModelVocab, type RandomModelSpec } from '../../src/testing/random-model.js';
import type { MultipleChoiceInput } from '../../src/types.js';

/** Inputs to compute reference outputs for, and the FCA options of the pass. */
export interface ExportReferenceRequest {
  texts?: string[];
  questions?: MultipleChoiceInput[];
  fca?: FcaOptions;
}

/** Writes the config.json object that parseBertConfig turns back into `config`. */
function configJsonOf(config: BertConfig): Record<string, unknown> {
  const json: Record<string, unknown> = {
    architectures: [config.architecture],
    model_type: 'bert',
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    intermediate_size: config.intermediateSize,
    hidden_act: config.hiddenAct,
    max_position_embeddings: config.maxPositionEmbeddings,
    type_vocab_size: config.typeVocabSize,
    layer_norm_eps: config.layerNormEps,
    pad_token_id: config.padTokenId,
  };
  if (config.architecture === 'BertForSequenceClassification') {
    json.num_labels = config.labels.length;
    json.id2label = Object.fromEntries(config.labels.map((label, id) => [String(id), label]));
    if (config.regression) json.problem_type = 'regression';
  }
  return json;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) binary += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(binary);
}

/**
 * Builds a random model and returns its folder's files (config.json text,
 * model.safetensors as base64, vocab.txt text) with outputs of the float64 CPU
 * forward pass. Each text gets the classifier logits and the mean- and
 * cls-pooled embeddings, and each question one logit per choice.
 */
export function exportRandomModel(spec: RandomModelSpec, request: ExportReferenceRequest = {}) {
  const files = randomBertFiles(spec);
  const configJson = configJsonOf(files.config);
  const reparsed = parseBertConfig(configJson);
  if (JSON.stringify(reparsed) !== JSON.stringify(files.config)) {
    throw new Error(`the exported config.json parses to ${JSON.stringify(reparsed)}, not ${JSON.stringify(files.config)}; update configJsonOf.`);
  }

  const { config, weights, tokenizer } = files;
  const fca = resolveFcaOptions(request.fca, config.numLayers);
  const weighting = request.fca?.variant === 'mean' ? ('mean' as const) : ('weighted' as const);
  const forward = (text: string, pair: string | null) => {
    const encoded = tokenizer.encode(text, pair, config.maxPositionEmbeddings);
    return referenceForward(config, weights, encoded.inputIds, encoded.tokenTypeIds, fca, { weighting });
  };

  const texts = (request.texts ?? []).map((text) => {
    const result = forward(text, null);
    const d = config.hiddenSize;
    const total = result.tokenCounts.reduce((a, c) => a + c, 0);
    const mean = new Array<number>(d).fill(0);
    result.tokenCounts.forEach((count, row) => {
      for (let c = 0; c < d; c++) mean[c] += (count * result.lastHidden[row * d + c]) / total;
    });
    return {
      logits: result.logits,
      tokensPerLayer: result.tokensPerLayer,
      flops: result.flops,
      meanEmbedding: mean,
      clsEmbedding: Array.from(result.lastHidden.subarray(0, d)),
    };
  });
  const questions = (request.questions ?? []).map((question) => question.choices.map((choice) => forward(question.text, choice).logits[0]));

  return {
    configJson: JSON.stringify(configJson, null, 2),
    safetensorsBase64: toBase64(serializeSafetensors(weights)),
    vocabTxt: randomModelVocab(config.vocabSize),
    reference: { texts, questions },
  };
}

const exportHarness = { exportRandomModel };

declare global {
  interface Window {
    /** Set when this module loads, so before main.ts sets harnessReady. */
    exportHarness: typeof exportHarness;
  }
}

window.exportHarness = exportHarness;
