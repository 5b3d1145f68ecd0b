// PCB per-element kernels shared by every mode (reference, streaming-global, per-tensor), so all
// modes compute bit-identical values from the same row statistics. Arithmetic is rounded to float32
// after each operation (Math.fround) like the PyTorch reference, which runs in fp32.
//
// Row statistics (per task i, over whatever the mode's "row" is):
//   magnitude clamp bounds lo_i = s[⌊Dq⌋], hi_i = s[⌊D(1−q)−1⌋] of |T_i|;
//   drop threshold t_i = s[⌊D(1−r)⌋] and max m_i of the balance scores B_i.

import type { NanGuard, PcbInter } from "./options.js";
import { PcbError } from "./options.js";

const f = Math.fround;

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

/** Scratch per column of n tasks (pairwise variant). */
export interface ColumnScratch {
  readonly aHat: Float64Array;
  readonly s: Float64Array;
}

export function columnScratch(n: number): ColumnScratch {
  return { aHat: new Float64Array(n), s: new Float64Array(n) };
}

/**
 * Balance scores B = exp(n·MinMax(A)²) ⊙ C for columns [0, L) of the task rows `tasks` (each length L).
 * Writes B_i into `out[i]`. `guard` "on" maps a zero-range magnitude row to MinMax 0.
 * Row-major passes (contiguous typed-array loops): first MinMax(A) into `out` plus the column sums,
 * then the scores in place. Column sums accumulate over tasks in order, like the reference's sum(0).
 */
export function balanceScores(
  tasks: readonly Float32Array[],
  mag: MagnitudeStats,
  inter: PcbInter,
  guard: NanGuard,
  out: readonly Float32Array[],
  scratch: ColumnScratch = columnScratch(tasks.length),
): void {
  const n = tasks.length;
  const len = n === 0 ? 0 : tasks[0].length;
  const colSum = new Float32Array(len);
  // Pass 1: h = MinMax(clamp(|T|)) into out[i]; column sums of T (canonical) or of S = sign(T)·h.
  for (let i = 0; i < n; i++) {
    const t = tasks[i];
    const h = out[i];
    const lo = mag.lo[i];
    const hi = mag.hi[i];
    const mn = mag.min[i];
    const r = mag.range[i];
    const zeroRange = guard === "on" && r === 0;
    for (let k = 0; k < len; k++) {
      const x = t[k];
      const v = zeroRange ? 0 : f(f(Math.min(Math.max(Math.abs(x), lo), hi) - mn) / r);
      h[k] = v;
      if (inter === "canonical") colSum[k] = f(colSum[k] + x);
      else colSum[k] = f(colSum[k] + ((x > 0 ? 1 : 0) - (x < 0 ? 1 : 0)) * v); // sign(0)·NaN = NaN, as in torch
    }
  }
  if (inter !== "pairwise") {
    // Pass 2: B = exp(n·h²) · tanh(T · colSum), in place over h.
    for (let i = 0; i < n; i++) {
      const t = tasks[i];
      const b = out[i];
      for (let k = 0; k < len; k++) {
        const h = b[k];
        b[k] = f(f(Math.exp(f(n * f(h * h)))) * f(Math.tanh(f(t[k] * colSum[k]))));
      }
    }
    return;
  }
  // Pairwise: C_ik = Σ_j tanh(S_ik · S_jk) needs every task's S at column k.
  const { aHat, s } = scratch;
  for (let k = 0; k < len; k++) {
    for (let j = 0; j < n; j++) {
      const x = tasks[j][k];
      const h = out[j][k];
      aHat[j] = h;
      s[j] = ((x > 0 ? 1 : 0) - (x < 0 ? 1 : 0)) * h;
    }
    for (let i = 0; i < n; i++) {
      const h = aHat[i];
      const si = s[i];
      let c = 0;
      for (let j = 0; j < n; j++) c = f(c + f(Math.tanh(f(si * s[j]))));
      out[i][k] = f(f(Math.exp(f(n * f(h * h)))) * c);
    }
  }
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
      const a = Math.min(Math.max(Math.abs(x), lo), hi);
      const tc = x > 0 ? a : x < 0 ? -a : 0;
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
