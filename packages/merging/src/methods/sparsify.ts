// mergekit's per-tensor sparsifiers (magnitude top-k, Bernoulli/DARE, magnitude outliers/breadcrumbs,
// DELLA rank sampling) on float32 task vectors, with L1 ("mergekit") or 1/p ("inverse") rescaling.
//
// Ranking ties: where mergekit's torch sort leaves tie order unspecified, entries equal to the cut
// value are taken in increasing index order (as a stable sort would). Thresholds come from the exact
// O(D) `selectKth` of @x/tensor-core; no full sorts except DELLA's per-row ranks, which need them.

import { type Rng, selectKth } from "@x/tensor-core/browser";
import { MergeMethodError } from "../method.js";

/** How a sparsified task vector is rescaled: mergekit's L1 norm matching, or 1/p (DARE/DELLA papers). */
export type RescaleMode = "l1" | "inverse";

/** |x| into a reusable float32 buffer. */
export function absInto(x: Float32Array, out: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) out[i] = Math.abs(x[i]);
  return out;
}

/**
 * mergekit `rescaled_masked_tensor` with norm l1 as a factor: ‖x‖₁ / ‖mask⊙x‖₁, or 1 when either
 * norm is below 1e-7 (then mergekit returns the masked tensor unscaled).
 */
export function l1Scale(x: Float32Array, mask: Uint8Array): number {
  let before = 0;
  let after = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    before += a;
    if (mask[i] !== 0) after += a;
  }
  return before < 1e-7 || after < 1e-7 ? 1 : before / after;
}

/**
 * Keep-mask of the k largest |x| (mergekit `magnitude`): threshold by exact selection, entries equal
 * to the threshold kept in index order until k are kept.
 */
export function topKMask(abs: Float32Array, k: number, mask: Uint8Array): Uint8Array {
  const d = abs.length;
  mask.fill(0);
  if (k <= 0) return mask;
  if (k >= d) return mask.fill(1);
  const thr = selectKth(abs, d - k);
  let greater = 0;
  for (let i = 0; i < d; i++) if (abs[i] > thr) greater++;
  let ties = k - greater;
  for (let i = 0; i < d; i++) {
    const a = abs[i];
    if (a > thr) mask[i] = 1;
    else if (a === thr && ties > 0) {
      mask[i] = 1;
      ties--;
    }
  }
  return mask;
}

/**
 * Keep-mask of the entries whose ascending (stable) rank of |x| lies in [from, to): what
 * `mask[sort(|x|).indices[from:to]] = 1` does.
 */
export function rankRangeMask(abs: Float32Array, from: number, to: number, mask: Uint8Array): Uint8Array {
  const d = abs.length;
  mask.fill(0);
  if (from < 0) from = 0;
  if (to > d) to = d;
  if (to <= from) return mask;
  const lo = selectKth(abs, from);
  const hi = selectKth(abs, to - 1);
  let lessLo = 0;
  let lessHi = 0;
  for (let i = 0; i < d; i++) {
    const a = abs[i];
    if (a < lo) lessLo++;
    if (a < hi) lessHi++;
  }
  // Among entries equal to lo, ranks lessLo, lessLo+1, ...; skip the first (from - lessLo).
  // Among entries equal to hi, keep those with rank < to.
  let loSeen = 0;
  let hiSeen = 0;
  for (let i = 0; i < d; i++) {
    const a = abs[i];
    if (a > lo && a < hi) mask[i] = 1;
    else if (a === lo || a === hi) {
      let rank: number;
      if (a === lo) rank = lessLo + loSeen++;
      else rank = lessHi + hiSeen++;
      if (rank >= from && rank < to) mask[i] = 1;
    }
  }
  return mask;
}

/** Python slice bounds [start:stop] normalized against length n (negative indices count from the end). */
export function pySliceBounds(n: number, start: number, stop: number): [number, number] {
  const norm = (v: number) => (v < 0 ? Math.max(0, n + v) : Math.min(v, n));
  return [norm(start), norm(stop)];
}

/**
 * mergekit `magnitude_outliers` (breadcrumbs): drop the ⌊γ·numel⌋ largest and enough of the smallest
 * to keep ⌊density·numel⌋. Reproduces mergekit's slice `indices[n_bot:-n_top]`, which is empty when
 * n_top = 0 (tensors with γ·numel < 1 lose their whole delta in mergekit, and here).
 */
export function outlierMask(abs: Float32Array, density: number, gamma: number, mask: Uint8Array): Uint8Array {
  const d = abs.length;
  const target = Math.trunc(density * d);
  let nTop = Math.trunc(gamma * d);
  let nBot = d - target - nTop;
  if (nBot < 0) {
    nTop += nBot;
    nBot = 0;
  }
  const [from, to] = pySliceBounds(d, nBot, -nTop);
  return rankRangeMask(abs, from, to, mask);
}

const TWO_POW_32 = 4294967296;

/**
 * Bernoulli keep-mask with keep probability p (DARE): one 32-bit draw per entry, kept when it is
 * below p·2^32 (p resolved to 2^-32). Seeded, but not torch's stream (no runtime can reproduce it).
 */
export function bernoulliMask(rng: Rng, p: number, mask: Uint8Array): Uint8Array {
  const thr = p * TWO_POW_32;
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() < thr ? 1 : 0;
  return mask;
}

/** Bernoulli keep-mask with a keep probability per entry (DELLA). */
export function bernoulliMaskOf(rng: Rng, p: Float32Array, mask: Uint8Array): Uint8Array {
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() < p[i] * TWO_POW_32 ? 1 : 0;
  return mask;
}

/**
 * Ascending ranks (0-based, stable) of |x| within each row of a [rows, cols] view, via one numeric
 * sort per row of packed (float bits, column) keys — exact for cols ≤ 2^21.
 */
export function rowRanks(abs: Float32Array, rows: number, cols: number, ranks: Uint32Array): Uint32Array {
  const bits = new Uint32Array(abs.buffer, abs.byteOffset, abs.length);
  if (cols <= 1 << 21) {
    const keys = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      // |x| >= 0 so its float bits order like the values; column in the low 21 bits breaks ties.
      for (let c = 0; c < cols; c++) keys[c] = bits[off + c] * 2097152 + c;
      keys.sort();
      for (let p = 0; p < cols; p++) ranks[off + (keys[p] % 2097152)] = p;
    }
    return ranks;
  }
  const idx = new Uint32Array(cols);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    for (let c = 0; c < cols; c++) idx[c] = c;
    idx.sort((a, b) => abs[off + a] - abs[off + b] || a - b);
    for (let p = 0; p < cols; p++) ranks[off + idx[p]] = p;
  }
  return ranks;
}

/**
 * DELLA keep probabilities (mergekit `della_magprune`): per row, p = (density − ε) + 2ε·rank/(cols − 1)
 * over ascending |x| ranks. Rows are the first dimension of ≥2-D tensors (a 1-D tensor is one row).
 */
export function dellaProbabilities(
  abs: Float32Array,
  shape: readonly number[],
  density: number,
  epsilon: number,
  out: Float32Array,
): Float32Array {
  const d = abs.length;
  const rows = shape.length >= 2 ? shape[0] : 1;
  const cols = rows === 0 ? 0 : d / rows;
  const ranks = rowRanks(abs, rows, cols, new Uint32Array(d));
  const base = density - epsilon;
  // A single-column row has max rank = min rank: mergekit divides 0/0; we use the midpoint density.
  const denom = cols > 1 ? cols - 1 : 0;
  for (let i = 0; i < d; i++) {
    const norm = denom > 0 ? ranks[i] / denom : 0.5;
    out[i] = base + norm * 2 * epsilon;
  }
  return out;
}

/** Checks DELLA's density/epsilon condition like mergekit (density ± ε must lie in (0, 1)). */
export function checkDella(density: number, epsilon: number, where: string): void {
  if (density >= 1 || density <= 0) return;
  if (density + epsilon >= 1 || density - epsilon <= 0) {
    throw new MergeMethodError(
      `${where}: epsilon ${epsilon} must keep density ± epsilon inside (0, 1) (density ${density})`,
    );
  }
}
