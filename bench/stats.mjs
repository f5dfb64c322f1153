// Summary statistics of timing samples.

/** Returns the q-quantile (0..1) of `values` with linear interpolation, or NaN for an empty list. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

export function median(values) {
  return quantile(values, 0.5);
}

/** Median, min, max, quartiles and count of `samples` (milliseconds). */
export function summarize(samples) {
  return {
    n: samples.length,
    median: median(samples),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
    q1: quantile(samples, 0.25),
    q3: quantile(samples, 0.75),
    total: samples.reduce((a, b) => a + b, 0),
  };
}
