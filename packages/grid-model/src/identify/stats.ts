/** Order statistics used by the robust steps. */

/**
 * Median of the first n values (copies; NaN for n = 0). By selection (Hoare's quickselect, O(n) expected) rather
 * than a full sort: the same order statistics, so the same value as sorting; with NaN among the values, or a zero
 * median (whose sign a sort fixes: −0 before +0), it sorts instead.
 */
export function median(values: ArrayLike<number>, n = values.length): number {
  if (n === 0) return Number.NaN;
  const s = new Float64Array(n);
  let nan = false;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    s[i] = v;
    if (Number.isNaN(v)) nan = true;
  }
  const m = n >> 1;
  if (!nan && n > 32) {
    selectInPlace(s, m);
    let med = s[m]!;
    if (n % 2 === 0) {
      // After selection s[0 .. m) ≤ s[m]: the lower middle value is their maximum.
      let lo = s[0]!;
      for (let i = 1; i < m; i++) if (s[i]! > lo) lo = s[i]!;
      med = (lo + med) / 2;
    }
    if (med !== 0) return med;
  }
  s.sort();
  return n % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Rearranges s so that s[k] is the k-th smallest value, smaller-or-equal values before it, larger-or-equal after. */
function selectInPlace(s: Float64Array, k: number): void {
  let lo = 0;
  let hi = s.length - 1;
  while (hi > lo) {
    // Median of three as the pivot.
    const mid = (lo + hi) >> 1;
    const a = s[lo]!;
    const b = s[mid]!;
    const c = s[hi]!;
    const pivot = a < b ? (b < c ? b : Math.max(a, c)) : a < c ? a : Math.max(b, c);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (s[i]! < pivot) i++;
      while (s[j]! > pivot) j--;
      if (i <= j) {
        const t = s[i]!;
        s[i] = s[j]!;
        s[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
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
