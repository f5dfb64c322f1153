/** Validated subset of a Hugging Face BERT `config.json` that the engine needs. */
export interface BertConfig {
  architecture: BertArchitecture;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  hiddenAct: 'gelu';
  layerNormEps: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  padTokenId: number;
  /** Label names in label-id order; `LABEL_i` when the config names none. */
  labels: string[];
  /** A sequence classifier with one output and no problem_type, or problem_type "regression", predicts a score. */
  regression: boolean;
}

export type BertArchitecture = 'BertModel' | 'BertForSequenceClassification' | 'BertForMultipleChoice';

export const SUPPORTED_ARCHITECTURES: readonly BertArchitecture[] = ['BertModel', 'BertForSequenceClassification', 'BertForMultipleChoice'];

/** Error raised for a model folder whose files cannot be used; the message names the file, the value and the fix. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

function positiveInteger(json: Record<string, unknown>, key: string, fallback?: number): number {
  const value = json[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ModelLoadError(
      `config.json: "${key}" must be a positive integer, got ${JSON.stringify(json[key])}; fix the value in config.json.`,
    );
  }
  return value;
}

/**
 * Validates a parsed `config.json` and returns the fields the engine uses.
 * Throws ModelLoadError naming the offending key for anything the engine cannot run.
 */
export function parseBertConfig(json: unknown): BertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelLoadError('config.json: expected a JSON object at the top level.');
  }
  const config = json as Record<string, unknown>;

  const modelType = config['model_type'];
  if (modelType !== undefined && modelType !== 'bert') {
    throw new ModelLoadError(
      `config.json: unsupported model_type ${JSON.stringify(modelType)}; this engine runs BERT checkpoints (model_type "bert").`,
    );
  }

  const architectures = config['architectures'];
  let architecture: BertArchitecture = 'BertModel';
  if (architectures !== undefined) {
    if (!Array.isArray(architectures) || architectures.length === 0 || typeof architectures[0] !== 'string') {
      throw new ModelLoadError(
        `config.json: "architectures" must be a non-empty list of strings, got ${JSON.stringify(architectures)}.`,
      );
    }
    const name = architectures[0] as string;
    if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(name)) {
      throw new ModelLoadError(
        `config.json: unsupported architecture "${name}"; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}.`,
      );
    }
    architecture = name as BertArchitecture;
  }

  const hiddenSize = positiveInteger(config, 'hidden_size');
  const numHeads = positiveInteger(config, 'num_attention_heads');
  if (hiddenSize % numHeads !== 0) {
    throw new ModelLoadError(
      `config.json: hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}.`,
    );
  }
  const headSize = hiddenSize / numHeads;
  if (headSize % 4 !== 0) {
    throw new ModelLoadError(
      `config.json: head size ${headSize} (hidden_size / num_attention_heads) must be a multiple of 4 for the WebGPU kernels, which load vec4s.`,
    );
  }
  const intermediateSize = positiveInteger(config, 'intermediate_size');
  if (intermediateSize % 4 !== 0) {
    throw new ModelLoadError(
      `config.json: intermediate_size ${intermediateSize} must be a multiple of 4 for the WebGPU kernels, which load vec4s.`,
    );
  }

  const hiddenAct = config['hidden_act'] ?? 'gelu';
  if (hiddenAct !== 'gelu') {
    throw new ModelLoadError(
      `config.json: unsupported hidden_act ${JSON.stringify(hiddenAct)}; only "gelu" (the erf form) is implemented.`,
    );
  }

  const eps = config['layer_norm_eps'] ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0)) {
    throw new ModelLoadError(`config.json: "layer_norm_eps" must be a positive number, got ${JSON.stringify(eps)}.`);
  }

  const padTokenId = config['pad_token_id'] ?? 0;
  if (typeof padTokenId !== 'number' || !Number.isInteger(padTokenId) || padTokenId < 0) {
    throw new ModelLoadError(`config.json: "pad_token_id" must be a non-negative integer, got ${JSON.stringify(padTokenId)}.`);
  }

  const labels = architecture === 'BertForMultipleChoice' ? ['choice'] : parseLabels(config, architecture);
  const problemType = config['problem_type'];
  if (problemType !== undefined && problemType !== null && !['regression', 'single_label_classification', 'multi_label_classification'].includes(problemType as string)) {
    throw new ModelLoadError(`config.json: unknown problem_type ${JSON.stringify(problemType)}; expected "regression", "single_label_classification" or "multi_label_classification".`);
  }
  const regression =
    architecture === 'BertForSequenceClassification' &&
    (problemType === 'regression' || ((problemType === undefined || problemType === null) && labels.length === 1));

  return {
    architecture,
    vocabSize: positiveInteger(config, 'vocab_size'),
    hiddenSize,
    numLayers: positiveInteger(config, 'num_hidden_layers'),
    numHeads,
    intermediateSize,
    hiddenAct: 'gelu',
    layerNormEps: eps,
    maxPositionEmbeddings: positiveInteger(config, 'max_position_embeddings', 512),
    typeVocabSize: positiveInteger(config, 'type_vocab_size', 2),
    padTokenId,
    labels,
    regression,
  };
}

function parseLabels(config: Record<string, unknown>, architecture: BertArchitecture): string[] {
  const id2label = config['id2label'];
  let numLabels = config['num_labels'];
  if (id2label !== undefined) {
    if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) {
      throw new ModelLoadError(`config.json: "id2label" must be an object mapping ids to names, got ${JSON.stringify(id2label)}.`);
    }
    const entries = Object.entries(id2label as Record<string, unknown>);
    const labels: string[] = new Array(entries.length);
    for (const [key, name] of entries) {
      const id = Number(key);
      if (!Number.isInteger(id) || String(id) !== key || id < 0 || id >= entries.length || typeof name !== 'string') {
        throw new ModelLoadError(
          `config.json: "id2label" must map the ids 0..${entries.length - 1} to names, got key ${JSON.stringify(key)} -> ${JSON.stringify(name)}.`,
        );
      }
      labels[id] = name;
    }
    if (numLabels !== undefined && numLabels !== labels.length) {
      throw new ModelLoadError(
        `config.json: "num_labels" is ${JSON.stringify(numLabels)} but "id2label" has ${labels.length} entries; make them agree.`,
      );
    }
    return labels;
  }
  if (numLabels === undefined) numLabels = architecture === 'BertForSequenceClassification' ? 2 : 0;
  if (typeof numLabels !== 'number' || !Number.isInteger(numLabels) || numLabels < 0) {
    throw new ModelLoadError(`config.json: "num_labels" must be a non-negative integer, got ${JSON.stringify(numLabels)}.`);
  }
  return Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
}
