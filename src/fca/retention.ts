/**
 * FCA retention settings and the per-layer sequence plan they imply.
 *
 * A layer with retention `r` keeps [CLS] plus the `r - 1` best-scored tokens
 * ("fine" tokens) and merges the remaining `T` real tokens into
 * `C = min(K, T)` clusters. With `r' = min(r, n)` a layer reduces only when
 * `r' + C < n`; otherwise the sequence passes through unchanged.
 */

/** Retention given per layer as fractions of each sequence's real input length, or as token counts. */
export type Retention =
  | { kind: 'fractions'; values: number[] }
  | { kind: 'counts'; values: number[] };

/** Options that select an FCA pass; `retention` undefined means a dense pass. */
export interface FcaOptions {
  /** One fraction in (0, 1] per layer, or a single fraction for every layer. */
  retention?: number | number[];
  /** One token count (>= 1, never growing with depth) per layer, or a single count for every layer. */
  retentionCounts?: number | number[];
  /** Clusters per layer, `K`; 0 drops the tail (PoWER-BERT). Default 2, or 5 for the 'reference' variant. */
  clusters?: number;
  /** Merging rule for the tail; default 'weighted'. */
  variant?: FcaVariant;
  /** Fixed padded length of the 'reference' variant; default 128. */
  paddedLength?: number;
}

/**
 * 'weighted': clusters are score-softmax weighted averages of their group;
 * 'mean': plain means; 'drop': no clusters (K = 0, PoWER-BERT);
 * 'reference': the FCA authors' code's arithmetic on a fixed padded length,
 * for checkpoints trained with it.
 */
export type FcaVariant = 'weighted' | 'mean' | 'drop' | 'reference';

export const FCA_VARIANTS: readonly FcaVariant[] = ['weighted', 'mean', 'drop', 'reference'];

/** Validated FCA settings: `null` for a dense pass. */
export interface FcaSettings {
  retention: Retention;
  clusters: number;
  variant: FcaVariant;
  /** Present for the 'reference' variant only. */
  paddedLength?: number;
}

export const DEFAULT_CLUSTERS = 2;
export const DEFAULT_REFERENCE_CLUSTERS = 5;
export const DEFAULT_PADDED_LENGTH = 128;

/** Error raised for FCA options that cannot be used; the message names the value and the fix. */
export class RetentionError extends Error {
  override name = 'RetentionError';
}

/** Formats an option value for a message; unlike JSON.stringify it shows NaN and Infinity as themselves. */
function formatValue(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
}

function expandPerLayer(value: number | number[], numLayers: number, option: string): number[] {
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 1) return new Array<number>(numLayers).fill(values[0]);
  if (values.length !== numLayers) {
    throw new RetentionError(
      `${option} has ${values.length} values but the model has ${numLayers} layers; give one value per layer or a single value for all.`,
    );
  }
  return values.slice();
}

/** Validates user FCA options against a model's layer count; returns null for a dense pass. */
export function resolveFcaOptions(options: FcaOptions | undefined, numLayers: number): FcaSettings | null {
  if (!options) return null;
  const { retention, retentionCounts } = options;
  if (retention !== undefined && retentionCounts !== undefined) {
    throw new RetentionError('retention and retentionCounts were both given; choose fractions or counts, not both.');
  }

  const variant = options.variant ?? 'weighted';
  if (!FCA_VARIANTS.includes(variant)) {
    throw new RetentionError(`unknown FCA variant ${formatValue(variant)}; choose one of ${FCA_VARIANTS.join(', ')}.`);
  }
  if (variant === 'drop' && options.clusters !== undefined && options.clusters !== 0) {
    throw new RetentionError(`variant 'drop' keeps no clusters but clusters is ${formatValue(options.clusters)}; remove clusters or use another variant.`);
  }
  // The authors' code uses K = 5, so the variant that reproduces it defaults to 5.
  const defaultClusters = variant === 'reference' ? DEFAULT_REFERENCE_CLUSTERS : DEFAULT_CLUSTERS;
  const clusters = variant === 'drop' ? 0 : options.clusters ?? defaultClusters;
  if (!Number.isInteger(clusters) || clusters < 0) {
    throw new RetentionError(`clusters must be a non-negative integer, got ${formatValue(clusters)}; use 0 to drop the tail.`);
  }

  if (retention !== undefined) {
    const values = expandPerLayer(retention, numLayers, 'retention');
    values.forEach((f, layer) => {
      if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0 || f > 1) {
        throw new RetentionError(
          `retention fraction ${formatValue(f)} at layer ${layer} is outside (0, 1]; give a fraction such as 0.5.`,
        );
      }
    });
    return withVariant({ retention: { kind: 'fractions', values }, clusters, variant }, options);
  }

  if (retentionCounts !== undefined) {
    const values = expandPerLayer(retentionCounts, numLayers, 'retentionCounts');
    values.forEach((c, layer) => {
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 1) {
        throw new RetentionError(
          `retention count ${formatValue(c)} at layer ${layer} must be an integer >= 1 ([CLS] is always kept).`,
        );
      }
      if (layer > 0 && c > values[layer - 1]) {
        throw new RetentionError(
          `retention counts grow from ${values[layer - 1]} at layer ${layer - 1} to ${c} at layer ${layer}; counts must not increase with depth.`,
        );
      }
    });
    return withVariant({ retention: { kind: 'counts', values }, clusters, variant }, options);
  }

  for (const key of ['clusters', 'variant', 'paddedLength'] as const) {
    if (options[key] !== undefined) {
      throw new RetentionError(`${key} was given without retention or retentionCounts; add a retention setting, or drop ${key} for a dense pass.`);
    }
  }
  return null;
}

/** Checks the options that only the 'reference' variant takes. */
function withVariant(settings: FcaSettings, options: FcaOptions): FcaSettings {
  if (settings.variant !== 'reference') {
    if (options.paddedLength !== undefined) {
      throw new RetentionError(`paddedLength ${formatValue(options.paddedLength)} applies only to variant 'reference'; remove it or set variant: 'reference'.`);
    }
    return settings;
  }
  if (settings.retention.kind !== 'counts') {
    throw new RetentionError("variant 'reference' takes retention counts (retentionCounts), as the authors' code does, not fractions.");
  }
  const paddedLength = options.paddedLength ?? DEFAULT_PADDED_LENGTH;
  if (!Number.isInteger(paddedLength) || paddedLength < 2) {
    throw new RetentionError(`paddedLength must be an integer >= 2, got ${formatValue(paddedLength)}.`);
  }
  return { ...settings, paddedLength };
}

/** Fine tokens a sequence of `n0` real input tokens keeps at a layer with fraction `f`. */
export function fractionToCount(f: number, n0: number): number {
  return Math.max(1, Math.ceil(f * n0 - 1e-6));
}

/** Plan of one layer for one sequence. */
export interface LayerStep {
  /** Tokens entering the layer (attention runs on these). */
  nIn: number;
  /** Whether the layer shortens the sequence. */
  reduces: boolean;
  /** Fine tokens kept, [CLS] included (equals nIn when the layer does not reduce). */
  fine: number;
  /** Clusters appended after the fine tokens (0 when the layer does not reduce). */
  clusters: number;
  /** Tokens leaving the layer (the feed-forward sub-layer runs on these). */
  nOut: number;
}

/** Plans every layer of a pass over a sequence of `n0` real tokens; a dense pass keeps `n0` at every layer. */
export function planLayers(n0: number, numLayers: number, settings: FcaSettings | null): LayerStep[] {
  const steps: LayerStep[] = [];
  let n = n0;
  for (let layer = 0; layer < numLayers; layer++) {
    if (!settings) {
      steps.push({ nIn: n, reduces: false, fine: n, clusters: 0, nOut: n });
      continue;
    }
    const { retention, clusters: k } = settings;
    const requested =
      retention.kind === 'fractions' ? fractionToCount(retention.values[layer], n0) : retention.values[layer];
    const fine = Math.min(requested, n);
    const clusters = Math.min(k, n - fine);
    if (fine + clusters < n) {
      steps.push({ nIn: n, reduces: true, fine, clusters, nOut: fine + clusters });
      n = fine + clusters;
    } else {
      steps.push({ nIn: n, reduces: false, fine: n, clusters: 0, nOut: n });
    }
  }
  return steps;
}

/** Sequence length after each layer's reduction (`tokens_per_layer`). */
export function tokensPerLayer(steps: LayerStep[]): number[] {
  return steps.map((step) => step.nOut);
}
