// PCB-Merging "reference" mode on an in-memory n × D task matrix: the whole model flattened, every
// statistic per task row over all D entries (docs/pcb.md). Quantiles use exact O(D) selection.
//
// `pcbPrepare` computes everything that does not depend on λ (clamp, scores, W) once;
// `PcbPrepared.combine(lambdas)` then only redoes the weighted sum (step 7) — the coefficient-search path.

import { createSelectScratch, selectKth, selectKths } from "@x/tensor-core/browser";
import {
  clampIndices,
  dropIndex,
  PcbError,
  type PcbOptions,
  type ResolvedPcbOptions,
  resolvePcbOptions,
} from "./options.js";
import { balanceScores, combineWeighted, MagnitudeStats, ScoreStats, weightScores } from "./score.js";

export type { PcbOptions } from "./options.js";

export interface PcbIntermediates {
  /** T̃ = sign(T) ⊙ clamp(|T|) per task. */
  readonly clamped: Float32Array[];
  /** Balance scores B per task (before the drop). */
  readonly scores: Float32Array[];
  /** Drop/rescale weights W per task. */
  readonly weights: Float32Array[];
}

export class PcbPrepared {
  constructor(
    readonly options: ResolvedPcbOptions,
    /** P_i = T̃_i ⊙ W_i per task. */
    readonly weighted: Float32Array[],
    /** Σ_i W_i per column. */
    readonly weightSum: Float32Array,
    readonly magnitude: MagnitudeStats,
    readonly score: ScoreStats,
    readonly intermediates?: PcbIntermediates,
  ) {}

  get numTasks(): number {
    return this.weighted.length;
  }

  get length(): number {
    return this.weightSum.length;
  }

  /**
   * Merged task vector τ_m for per-task λ_i (inside the weighted average, numerator only; default
   * all 1), optionally for columns [start, end) only. Apply a global λ outside: θ = θ₀ + λ·τ_m.
   */
  combine(lambdas?: ArrayLike<number>, start = 0, end = this.length, out?: Float32Array): Float32Array {
    const n = this.numTasks;
    const l = lambdas ?? new Float64Array(n).fill(1);
    if (l.length !== n) throw new PcbError(`pcb: ${l.length} lambdas for ${n} tasks`);
    if (start < 0 || end > this.length || start > end) {
      throw new PcbError(`pcb: column range [${start}, ${end}) outside [0, ${this.length})`);
    }
    const o = out ?? new Float32Array(end - start);
    if (o.length < end - start)
      throw new PcbError(`pcb: output holds ${o.length} values, need ${end - start}`);
    return combineWeighted(this.weighted, this.weightSum, l, o, start, end);
  }
}

function checkTasks(tasks: readonly Float32Array[]): number {
  if (tasks.length === 0) throw new PcbError("pcb: needs at least one task vector");
  const d = tasks[0].length;
  if (d === 0) throw new PcbError("pcb: task vectors are empty");
  tasks.forEach((t, i) => {
    if (t.length !== d) throw new PcbError(`pcb: task ${i} has ${t.length} entries, task 0 has ${d}`);
  });
  return d;
}

/** Per-task clamp bounds of |T| by exact selection (both ranks from one shared histogram pass). */
export function magnitudeStatsOf(tasks: readonly Float32Array[], o: ResolvedPcbOptions): MagnitudeStats {
  const n = tasks.length;
  const d = tasks[0].length;
  const [loIdx, hiIdx] = clampIndices(d, o.clampQuantile);
  const lo = new Float32Array(n);
  const hi = new Float32Array(n);
  const abs = new Float32Array(d);
  const scratch = createSelectScratch();
  for (let i = 0; i < n; i++) {
    const t = tasks[i];
    for (let k = 0; k < d; k++) abs[k] = Math.abs(t[k]);
    const [a, b] = selectKths(abs, [loIdx, hiIdx], scratch);
    lo[i] = a;
    hi[i] = b;
  }
  return new MagnitudeStats(lo, hi, o.nanGuard);
}

/** Per-task drop threshold s[⌊D(1−r)⌋] and max of the score rows. */
export function scoreStatsOf(scores: readonly Float32Array[], o: ResolvedPcbOptions): ScoreStats {
  const n = scores.length;
  const d = scores[0].length;
  const idx = dropIndex(d, o.ratio);
  const thr = new Float32Array(n);
  const max = new Float32Array(n);
  const scratch = createSelectScratch();
  for (let i = 0; i < n; i++) {
    const b = scores[i];
    thr[i] = selectKth(b, idx, scratch);
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < d; k++) if (b[k] > m) m = b[k];
    max[i] = m;
  }
  return new ScoreStats(thr, max, o.nanGuard);
}

/**
 * Steps 1–6 of PCB on task vectors T_i = flat(θ_i) − flat(θ₀) (rows of equal length D).
 * Memory: one n × D float32 matrix (the weighted values) plus a few D-length rows; the inputs are
 * not modified. `keepIntermediates` additionally retains T̃, B and W (3 more n × D matrices).
 */
export function pcbPrepare(
  tasks: readonly Float32Array[],
  options: PcbOptions & { keepIntermediates?: boolean } = {},
): PcbPrepared {
  const o = resolvePcbOptions(options);
  const d = checkTasks(tasks);
  const mag = magnitudeStatsOf(tasks, o);
  const scores = tasks.map(() => new Float32Array(d));
  balanceScores(tasks, mag, o.inter, o.nanGuard, scores);
  const st = scoreStatsOf(scores, o);
  const weightSum = new Float32Array(d);
  let inter: PcbIntermediates | undefined;
  let keep: { clamped: Float32Array[]; weights: Float32Array[] } | undefined;
  if (options.keepIntermediates) {
    keep = { clamped: tasks.map(() => new Float32Array(d)), weights: tasks.map(() => new Float32Array(d)) };
    inter = { clamped: keep.clamped, weights: keep.weights, scores: scores.map((s) => s.slice()) };
  }
  weightScores(tasks, scores, mag, st, o.nanGuard, weightSum, keep);
  return new PcbPrepared(o, scores, weightSum, mag, st, inter);
}

/**
 * PCB merge of task vectors: the merged task vector τ_m (add θ₀ + λ·τ_m yourself, or use the
 * registry method). `lambdas` are the per-task λ_i inside the sum (default all 1).
 */
export function pcbMerge(
  tasks: readonly Float32Array[],
  options: PcbOptions & { lambdas?: ArrayLike<number> } = {},
): Float32Array {
  return pcbPrepare(tasks, options).combine(options.lambdas);
}
