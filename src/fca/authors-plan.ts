/**
 * Per-layer plan of the 'reference' FCA variant, the arithmetic of the FCA
 * authors' Keras code. The input is padded to a fixed length, and every layer
 * keeps r fine rows plus K clusters whatever the input. Only the visible
 * prefix of the rows (the original padding mask cut to the current length)
 * depends on the input's real length.
 */

import { RetentionError, type FcaSettings, type LayerStep } from './retention.js';

/** Epsilon of every LayerNorm in this variant: keras-layer-normalization's default, K.epsilon() squared. */
export const AUTHORS_LAYER_NORM_EPS = 1e-14;

/** Settings of the 'reference' variant. */
export interface AuthorsSettings {
  /** Fixed length the input is padded to with [PAD] (token type 0); 64 for SST-2 and CoLA in the authors' runs. */
  paddedLength: number;
  /** Retention r per layer: fine tokens kept, [CLS] included. */
  counts: number[];
  /** Clusters K per layer (the authors' code fixes 5); at least 1. */
  clusters: number;
}

/** One layer of the 'reference' variant for one sequence. It always reduces, to nOut = fine + clusters rows. */
export interface AuthorsLayerStep extends LayerStep {
  /** Rows entering the layer that attention may attend to: min(nReal, nIn), always a prefix. */
  visible: number;
}

/** Model limits the plan is checked against. */
export interface AuthorsPlanLimits {
  numLayers: number;
  maxPositionEmbeddings: number;
}

/** Extracts the 'reference' variant's settings from validated FCA settings. */
export function authorsSettings(fca: FcaSettings): AuthorsSettings {
  if (fca.variant !== 'reference' || fca.retention.kind !== 'counts' || fca.paddedLength === undefined) {
    throw new RetentionError(
      `authorsSettings: expected variant 'reference' with retention counts and a paddedLength, got variant '${fca.variant}' with ${fca.retention.kind}; resolve the options with resolveFcaOptions first.`,
    );
  }
  return { paddedLength: fca.paddedLength, counts: fca.retention.values.slice(), clusters: fca.clusters };
}

/**
 * Checks the settings against the model and an input of `nReal` real tokens
 * ([CLS] and [SEP] included), and plans every layer. Layer 0 receives
 * paddedLength rows. Layer l keeps counts[l] fine rows and appends `clusters`
 * clusters, so the next layer receives counts[l] + clusters rows.
 * Throws RetentionError for an input longer than paddedLength and for a
 * count that, with the clusters, exceeds the rows entering its layer.
 */
export function planAuthorsLayers(nReal: number, settings: AuthorsSettings, limits: AuthorsPlanLimits): AuthorsLayerStep[] {
  const { paddedLength, counts, clusters } = settings;
  const { numLayers, maxPositionEmbeddings } = limits;
  if (!Number.isInteger(paddedLength) || paddedLength < 1 || paddedLength > maxPositionEmbeddings) {
    throw new RetentionError(
      `paddedLength must be an integer in [1, max_position_embeddings = ${maxPositionEmbeddings}], got ${paddedLength}; choose a length the model has position embeddings for.`,
    );
  }
  if (!Number.isInteger(nReal) || nReal < 1) {
    throw new RetentionError(`the input has ${nReal} tokens; pass at least the [CLS] token.`);
  }
  if (nReal > paddedLength) {
    throw new RetentionError(
      `the input has ${nReal} tokens but paddedLength is ${paddedLength}; truncate the input to ${paddedLength} tokens or set paddedLength to at least ${nReal}.`,
    );
  }
  if (!Number.isInteger(clusters) || clusters < 1) {
    throw new RetentionError(`variant 'reference': clusters must be an integer >= 1 (the authors' code uses 5), got ${clusters}.`);
  }
  if (!Array.isArray(counts) || counts.length !== numLayers) {
    throw new RetentionError(
      `counts has ${Array.isArray(counts) ? counts.length : 'no'} entries but the model has ${numLayers} layers; give one retention count per layer.`,
    );
  }

  const steps: AuthorsLayerStep[] = [];
  let n = paddedLength;
  counts.forEach((count, layer) => {
    if (!Number.isInteger(count) || count < 1) {
      throw new RetentionError(`counts[${layer}] must be an integer >= 1 ([CLS] is always kept), got ${count}.`);
    }
    if (count + clusters > n) {
      const maximum = n - clusters;
      const fix = maximum >= 1 ? `lower counts[${layer}] to at most ${maximum}` : `lower clusters to at most ${n - 1}`;
      throw new RetentionError(
        `layer ${layer} keeps ${count} tokens plus ${clusters} clusters, more than the ${n} tokens entering it; ${fix}.`,
      );
    }
    const nOut = count + clusters;
    steps.push({ nIn: n, visible: Math.min(nReal, n), reduces: true, fine: count, clusters, nOut });
    n = nOut;
  });
  return steps;
}
