/** Order statistics used by the robust steps. */

/** Median of the first n values (copies; NaN for n = 0). */
export function median(values: ArrayLike<number>, n = values.length): number {
  if (n === 0) return Number.NaN;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = values[i]!;
  s.sort();
  const m = n >> 1;
  return n % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Normal-consistent median absolute deviation around the median: 1.4826 · median|x − median(x)|. */
export function mad(values: ArrayLike<number>, n = values.length): number {
  const m = median(values, n);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.abs(values[i]! - m);
  return 1.4826 * median(d);
}

/** Weighted median of values (weights >= 0): the minimiser of sum w_i |v_i - m|. */
export function weightedMedian(values: Float64Array, weights: Float64Array, n = values.length): number {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => values[a]! - values[b]!);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += weights[idx[i]!]!;
    if (acc >= total / 2) return values[idx[i]!]!;
  }
  return n > 0 ? values[idx[n - 1]!]! : Number.NaN;
}
