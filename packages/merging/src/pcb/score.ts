// PCB per-element kernels shared by every mode (reference, streaming-global, per-tensor), so all
// modes compute bit-identical values from the same row statistics. Arithmetic is rounded to float32
// after each operation (Math.fround) like the PyTorch reference, which runs in fp32.
//
// Row statistics (per task i, over whatever the mode's "row" is):
//   magnitude clamp bounds lo_i = s[⌊Dq⌋], hi_i = s[⌊D(1−q)−1⌋] of |T_i|;
//   drop threshold t_i = s[⌊D(1−r)⌋] and max m_i of the balance scores B_i.

import { exp32, expTable } from "./exp32.js";
import type { NanGuard, PcbInter } from "./options.js";
import { PcbError } from "./options.js";

const f = Math.fround;

/**
 * fround(tanh(y)) for a float32 y. Below 2^-12 in magnitude tanh(y) = y(1 − y²/3 + …) lies within
 * y·2^-25 of y — under half a float32 ulp — so the rounded result is y itself: an exact shortcut
 * that skips the libm call for the tiny products typical of task vectors.
 */
const TANH_IDENTITY = 2 ** -12;
function tanh32(y: number): number {
  return y < TANH_IDENTITY && y > -TANH_IDENTITY ? y : f(Math.tanh(y));
}

/** Per-task clamp bounds of |T| and the derived MinMax normalization of the clamped magnitude. */
export class MagnitudeStats {
  /** min and range of A_i = clamp(|T_i|, lo_i, hi_i), as the reference's row MinMax sees them. */
  readonly min: Float32Array;
  readonly range: Float32Array;

  constructor(
    readonly lo: Float32Array,
    readonly hi: Float32Array,
    guard: NanGuard,
  ) {
    const n = lo.length;
    this.min = new Float32Array(n);
    this.range = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // min(max(x, lo), hi): every value lands in [lo, hi] and lo, hi are attained (they are order
      // statistics of |T|), so min A = lo and max A = hi; if lo > hi everything equals hi.
      const mn = Math.min(lo[i], hi[i]);
      this.min[i] = mn;
      this.range[i] = f(hi[i] - mn);
      if (this.range[i] === 0 && guard === "error") {
        throw new PcbError(
          `pcb: task ${i} has constant clamped magnitudes (|τ| clamp range [${lo[i]}, ${hi[i]}]; e.g. an all-zero task vector): ` +
            `MinMax is 0/0 and the reference yields NaN everywhere. Use nan_guard "on" to drop the row's intra contrast or "off" to reproduce the NaN.`,
        );
      }
    }
  }
}

/** Per-task drop threshold and maximum of the balance scores. */
export class ScoreStats {
  constructor(
    readonly threshold: Float32Array,
    readonly max: Float32Array,
    guard: NanGuard,
  ) {
    if (guard !== "error") return;
    for (let i = 0; i < threshold.length; i++) {
      if (max[i] === threshold[i]) {
        throw new PcbError(
          `pcb: task ${i}: the balance-score maximum equals the drop threshold (${max[i]}), so no entry is kept ` +
            `and MinMax is 0/0 (NaN in the reference). Use nan_guard "on" to give that task weight 0 or "off" to reproduce the NaN.`,
        );
      }
    }
  }
}

/**
 * Task rows T_i = θ_i − θ₀ of the current tensor (or of the whole flattened model): either stored
 * rows, or computed on demand into a caller's scratch buffer so that streaming never holds n rows.
 */
export interface TaskRows {
  readonly n: number;
  readonly length: number;
  /** T_i, possibly written into `scratch` (length ≥ `length`). */
  row(i: number, scratch: Float32Array): Float32Array;
  /** The rows themselves when they are stored (not computed on demand). */
  readonly stored?: readonly Float32Array[];
}

/** TaskRows over stored rows. */
export function storedRows(tasks: readonly Float32Array[]): TaskRows {
  return {
    n: tasks.length,
    length: tasks.length === 0 ? 0 : tasks[0].length,
    row: (i) => tasks[i],
    stored: tasks,
  };
}

/** TaskRows computed as fround(θ_i − θ₀) on demand. */
export function deltaRows(base: Float32Array, models: readonly Float32Array[]): TaskRows {
  return {
    n: models.length,
    length: base.length,
    row(i, scratch) {
      const m = models[i];
      const out = scratch.length === base.length ? scratch : scratch.subarray(0, base.length);
      for (let k = 0; k < base.length; k++) out[k] = m[k] - base[k];
      return out;
    },
  };
}

/** h = MinMax(clamp(|x|, lo_i, hi_i)) of one element; `zeroRange` applies nan_guard "on". */
function normMag(x: number, lo: number, hi: number, mn: number, r: number, zeroRange: boolean): number {
  return zeroRange ? 0 : f(f(Math.min(Math.max(Math.abs(x), lo), hi) - mn) / r);
}

/**
 * Column sums the inter score needs, accumulated over tasks in order like the reference's sum(0):
 * Σ_j T_jk (canonical) or Σ_j S_jk with S = sign(T)·MinMax(A) (vision). Not used by pairwise.
 */
export function columnSums(
  rows: TaskRows,
  mag: MagnitudeStats,
  inter: PcbInter,
  guard: NanGuard,
  colSum: Float32Array,
  scratch: Float32Array,
): Float32Array {
  const len = rows.length;
  if (inter === "canonical" && rows.n === 4 && rows.stored) {
    // The common 4-task case in one loop: one store per column instead of four loads and stores.
    const [t0, t1, t2, t3] = rows.stored;
    for (let k = 0; k < len; k++) colSum[k] = f(f(f(f(0 + t0[k]) + t1[k]) + t2[k]) + t3[k]);
    return colSum;
  }
  colSum.fill(0, 0, len);
  for (let i = 0; i < rows.n; i++) {
    const t = rows.row(i, scratch);
    if (inter === "canonical") {
      for (let k = 0; k < len; k++) colSum[k] = f(colSum[k] + t[k]);
      continue;
    }
    const { lo, hi, min, range } = mag;
    const zr = guard === "on" && range[i] === 0;
    for (let k = 0; k < len; k++) {
      const x = t[k];
      const h = normMag(x, lo[i], hi[i], min[i], range[i], zr);
      colSum[k] = f(colSum[k] + ((x > 0 ? 1 : 0) - (x < 0 ? 1 : 0)) * h); // sign(0)·NaN = NaN, as in torch
    }
  }
  return colSum;
}

/**
 * Direct-mapped cache of the intra factor E = fround(exp(n·h²)) keyed by the bits of |x|: E depends
 * only on |x| (for a given task's clamp statistics), and task vectors of BF16 checkpoints take few
 * distinct values (differences of two BF16 numbers: ≈ 17 k distinct |x| in 5 M parameters), so
 * nearly every element skips the division and the exp. A hit returns the value computed for the
 * same bits, so results are unchanged. Keys start at −1 (no |x| has that bit pattern).
 */
const E_CACHE_BITS = 12;
const eCacheKeys = new Int32Array(1 << E_CACHE_BITS);
const eCacheVals = new Float64Array(1 << E_CACHE_BITS);

/** B_i = exp(n·h²) · tanh(T_i · colSum) for the canonical and vision variants, into `out` (may be `t`). */
export function scoreRow(
  i: number,
  t: Float32Array,
  n: number,
  colSum: Float32Array,
  mag: MagnitudeStats,
  guard: NanGuard,
  out: Float32Array,
): Float32Array {
  const lo = mag.lo[i];
  const hi = mag.hi[i];
  const mn = mag.min[i];
  const r = mag.range[i];
  const zr = guard === "on" && r === 0;
  const len = t.length;
  const et = expTable(n);
  const bits = new Int32Array(t.buffer, t.byteOffset, len);
  const keys = eCacheKeys;
  const vals = eCacheVals;
  keys.fill(-1);
  for (let k = 0; k < len; k++) {
    const x = t[k];
    const key = bits[k] & 0x7fffffff; // read before out[k] is written (out may be t)
    const slot = Math.imul(key, 0x9e3779b1) >>> (32 - E_CACHE_BITS);
    let e: number;
    if (keys[slot] === key) e = vals[slot];
    else {
      const h = normMag(x, lo, hi, mn, r, zr);
      e = exp32(f(n * f(h * h)), et);
      keys[slot] = key;
      vals[slot] = e;
    }
    out[k] = f(e * tanh32(f(x * colSum[k])));
  }
  return out;
}

/**
 * Pairwise variant: B_ik = exp(n·h_ik²) · Σ_j tanh(S_ik · S_jk); needs every task's S at a column,
 * so all rows at once. h = |S| holds everywhere: where T = 0, h = MinMax(lo) = 0 (or NaN for a
 * constant row, and then S = 0·NaN = NaN too).
 */
export function pairwiseScores(
  rows: TaskRows,
  mag: MagnitudeStats,
  guard: NanGuard,
  out: readonly Float32Array[],
  scratch: Float32Array,
): void {
  const n = rows.n;
  const len = rows.length;
  for (let i = 0; i < n; i++) {
    const t = rows.row(i, scratch);
    const o = out[i];
    const zr = guard === "on" && mag.range[i] === 0;
    for (let k = 0; k < len; k++) {
      const x = t[k];
      o[k] =
        ((x > 0 ? 1 : 0) - (x < 0 ? 1 : 0)) * normMag(x, mag.lo[i], mag.hi[i], mag.min[i], mag.range[i], zr);
    }
  }
  const s = new Float64Array(n);
  const et = expTable(n);
  for (let k = 0; k < len; k++) {
    for (let j = 0; j < n; j++) s[j] = out[j][k];
    for (let i = 0; i < n; i++) {
      const si = s[i];
      let c = 0;
      for (let j = 0; j < n; j++) c = f(c + tanh32(f(si * s[j])));
      const h = Math.abs(si);
      out[i][k] = f(exp32(f(n * f(h * h)), et) * c);
    }
  }
}

/**
 * Balance scores of every task row into `out` (reference mode and tests): column sums, then one
 * row at a time (canonical, vision) or all rows together (pairwise).
 */
export function balanceScores(
  tasks: readonly Float32Array[],
  mag: MagnitudeStats,
  inter: PcbInter,
  guard: NanGuard,
  out: readonly Float32Array[],
): void {
  const rows = storedRows(tasks);
  const scratch = new Float32Array(0);
  if (inter === "pairwise") {
    pairwiseScores(rows, mag, guard, out, scratch);
    return;
  }
  const colSum = columnSums(rows, mag, inter, guard, new Float32Array(rows.length), scratch);
  for (let i = 0; i < rows.n; i++) scoreRow(i, tasks[i], rows.n, colSum, mag, guard, out[i]);
}

/**
 * Adds one task's contribution to the merge accumulators, in the same float32 order as
 * `weightScores` + `combineWeighted`: num += λ_i·(T̃_i ⊙ W_i), den += W_i.
 */
export function accumulateWeighted(
  i: number,
  t: Float32Array,
  b: Float32Array,
  mag: MagnitudeStats,
  st: ScoreStats,
  guard: NanGuard,
  lambda: number,
  num: Float32Array,
  den: Float32Array,
): void {
  const thr = st.threshold[i];
  const denom = f(st.max[i] - thr);
  const dropRow = denom === 0 && guard === "on";
  const lo = mag.lo[i];
  const hi = mag.hi[i];
  const li = f(lambda);
  for (let k = 0; k < t.length; k++) {
    const x = t[k];
    const tc = clampedTask(x, lo, hi);
    const w = dropRow ? 0 : f(f(Math.max(b[k], thr) - thr) / denom);
    den[k] = f(den[k] + w);
    num[k] = f(num[k] + f(li * f(tc * w)));
  }
}

/** T̃ = sign(x)·clamp(|x|, lo, hi), with sign(0) = 0 (the reference's clamped task value). */
function clampedTask(x: number, lo: number, hi: number): number {
  const a = Math.min(Math.max(Math.abs(x), lo), hi);
  return x > 0 ? a : x < 0 ? -a : 0;
}

interface KeptConstants {
  thr: number;
  denom: number;
  lo: number;
  hi: number;
  li: number;
}

/** One kept entry (score bk > t_i) of task value x at column k: den += W, num += λ_i·T̃·W. */
function addKept(
  k: number,
  x: number,
  bk: number,
  c: KeptConstants,
  num: Float32Array,
  den: Float32Array,
): void {
  const w = f(f(Math.max(bk, c.thr) - c.thr) / c.denom);
  den[k] = f(den[k] + w);
  num[k] = f(num[k] + f(c.li * f(clampedTask(x, c.lo, c.hi) * w)));
}

/** Task i's constants for the kept-entry kernels; undefined when skipping B ≤ t_i is not exact, "drop" for a dropped row. */
function keptConstants(
  i: number,
  mag: MagnitudeStats,
  st: ScoreStats,
  guard: NanGuard,
  lambda: number,
): KeptConstants | "drop" | undefined {
  const thr = st.threshold[i];
  const denom = f(st.max[i] - thr);
  const dropRow = denom === 0 && guard === "on";
  const lo = mag.lo[i];
  const hi = mag.hi[i];
  const li = f(lambda);
  const finite = Number.isFinite(thr) && Number.isFinite(lo) && Number.isFinite(hi) && Number.isFinite(li);
  if (!finite || !(denom > 0 || dropRow)) return undefined;
  return dropRow ? "drop" : { thr, denom, lo, hi, li };
}

/**
 * `accumulateWeighted` for T_i = fround(model − base) computed on the fly, touching only the entries
 * a task keeps (B > t_i). Skipping B ≤ t_i is exact when t_i, lo_i, hi_i and fround(λ_i) are finite and
 * the row's MinMax denominator is positive (or the row is dropped): W is then +0 and T̃ finite, so the
 * skipped terms are ±0, which leave num (never −0: it starts at +0) and den unchanged. Returns false,
 * doing nothing, when those conditions do not hold; use `accumulateWeighted` then.
 */
export function accumulateKept(
  i: number,
  model: Float32Array,
  base: Float32Array,
  offset: number,
  b: Float32Array,
  mag: MagnitudeStats,
  st: ScoreStats,
  guard: NanGuard,
  lambda: number,
  num: Float32Array,
  den: Float32Array,
): boolean {
  const c = keptConstants(i, mag, st, guard, lambda);
  if (c === undefined) return false;
  if (c === "drop") return true; // W = 0 everywhere
  const { thr } = c;
  for (let k = 0; k < b.length; k++) {
    const bk = b[k];
    if (bk <= thr) continue;
    addKept(k, f(model[offset + k] - base[offset + k]), bk, c, num, den);
  }
  return true;
}

/**
 * `accumulateKept` over a list of candidate positions instead of a scan: `row` is task i's whole
 * score row, `pos[p0..p1)` the ascending positions (in row coordinates) inside the current tensor,
 * which starts at `start`; every kept entry (B > t_i, or NaN) must be among them. Same arithmetic,
 * same conditions (returns false, doing nothing, when they fail).
 */
export function accumulateKeptAt(
  i: number,
  model: Float32Array,
  base: Float32Array,
  start: number,
  row: Float32Array,
  pos: Int32Array,
  p0: number,
  p1: number,
  mag: MagnitudeStats,
  st: ScoreStats,
  guard: NanGuard,
  lambda: number,
  num: Float32Array,
  den: Float32Array,
): boolean {
  const c = keptConstants(i, mag, st, guard, lambda);
  if (c === undefined) return false;
  if (c === "drop") return true; // W = 0 everywhere
  const { thr } = c;
  for (let p = p0; p < p1; p++) {
    const j = pos[p];
    const bk = row[j];
    if (bk <= thr) continue;
    const k = j - start;
    addKept(k, f(model[k] - base[k]), bk, c, num, den);
  }
  return true;
}

/** τ_k = num_k / max(den_k, 1e-12) in place in `num` (NaN propagates). */
export function finishWeighted(num: Float32Array, den: Float32Array): Float32Array {
  for (let k = 0; k < num.length; k++) {
    const d = den[k];
    num[k] = f(num[k] / (d > 1e-12 ? d : Number.isNaN(d) ? d : f(1e-12)));
  }
  return num;
}

/**
 * θ₀ + λ·τ in place in `num`, with τ_k = num_k / max(den_k, 1e-12): `finishWeighted` and the outer
 * λ step in one loop, with the same roundings (λ stays a double, as in the two-step form).
 */
export function finishMerged(
  num: Float32Array,
  den: Float32Array,
  base: Float32Array,
  lambda: number,
): Float32Array {
  for (let k = 0; k < num.length; k++) {
    const d = den[k];
    const tau = f(num[k] / (d > 1e-12 ? d : Number.isNaN(d) ? d : f(1e-12)));
    num[k] = base[k] + f(lambda * tau);
  }
  return num;
}

/**
 * Turns balance scores into weighted clamped task values in place: B_i ← T̃_i ⊙ W_i with
 * W_i = (max(B_i, t_i) − t_i) / (m_i − t_i), and returns Σ_i W_i per column in `weightSum`.
 * T̃ = sign(T) ⊙ clamp(|T|, lo, hi) is recomputed from `tasks` (never stored).
 * With `keep` set, T̃ and W are also written there (for inspection and tests).
 */
export function weightScores(
  tasks: readonly Float32Array[],
  scores: readonly Float32Array[],
  mag: MagnitudeStats,
  st: ScoreStats,
  guard: NanGuard,
  weightSum: Float32Array,
  keep?: { clamped: Float32Array[]; weights: Float32Array[] },
): void {
  const n = tasks.length;
  const len = weightSum.length;
  weightSum.fill(0);
  for (let i = 0; i < n; i++) {
    const t = tasks[i];
    const b = scores[i];
    const thr = st.threshold[i];
    const denom = f(st.max[i] - thr);
    const dropRow = denom === 0 && guard === "on";
    const lo = mag.lo[i];
    const hi = mag.hi[i];
    const kc = keep?.clamped[i];
    const kw = keep?.weights[i];
    for (let k = 0; k < len; k++) {
      const x = t[k];
      const tc = clampedTask(x, lo, hi);
      const w = dropRow ? 0 : f(f(Math.max(b[k], thr) - thr) / denom);
      weightSum[k] = f(weightSum[k] + w);
      b[k] = f(tc * w);
      if (kc) kc[k] = tc;
      if (kw) kw[k] = w;
    }
  }
}

/**
 * Step 7: τ_k = Σ_i λ_i P_ik / max(Σ_i W_ik, 1e-12) for columns [start, end) of the prepared
 * P = T̃ ⊙ W rows, written to out[k − start]. NaNs propagate exactly as in the reference.
 */
export function combineWeighted(
  weighted: readonly Float32Array[],
  weightSum: Float32Array,
  lambdas: ArrayLike<number>,
  out: Float32Array,
  start = 0,
  end = weightSum.length,
): Float32Array {
  const n = weighted.length;
  out.fill(0, 0, end - start);
  for (let i = 0; i < n; i++) {
    const p = weighted[i];
    const li = f(lambdas[i]);
    for (let k = start; k < end; k++) out[k - start] = f(out[k - start] + f(li * p[k]));
  }
  for (let k = start; k < end; k++) {
    const den = weightSum[k];
    out[k - start] = f(out[k - start] / (den > 1e-12 ? den : Number.isNaN(den) ? den : f(1e-12)));
  }
  return out;
}
