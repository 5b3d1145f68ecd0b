// PCB with statistics over one set of task rows held by the caller (mode `per-tensor`: each tensor
// is its own row set), in bounded working memory: 4 row-length float32 buffers besides the inputs
// and the output (pairwise adds n). The balance scores are computed twice (once for the drop
// threshold, once for the merge) instead of keeping n score rows. Same kernels and float32 order
// as `pcbPrepare` + `combine`, so results are bit-identical to them.

import { createSelectScratch, selectKth, selectKths } from "@x/tensor-core/browser";
import { clampIndices, dropIndex, type ResolvedPcbOptions } from "./options.js";
import {
  accumulateWeighted,
  columnSums,
  finishWeighted,
  MagnitudeStats,
  pairwiseScores,
  ScoreStats,
  scoreRow,
  type TaskRows,
} from "./score.js";

/** τ_m for task rows `rows` with per-task λ_i (inside the weighted average). */
export function pcbMergeRows(
  rows: TaskRows,
  lambdas: ArrayLike<number>,
  o: ResolvedPcbOptions,
): Float32Array {
  const n = rows.n;
  const d = rows.length;
  const hist = createSelectScratch();
  const tbuf = new Float32Array(d);
  const abs = new Float32Array(d);
  // Magnitude clamp bounds per task.
  const [loIdx, hiIdx] = clampIndices(d, o.clampQuantile);
  const lo = new Float32Array(n);
  const hi = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = rows.row(i, tbuf);
    for (let k = 0; k < d; k++) abs[k] = Math.abs(t[k]);
    [lo[i], hi[i]] = selectKths(abs, [loIdx, hiIdx], hist);
  }
  const mag = new MagnitudeStats(lo, hi, o.nanGuard);
  // Scores: one row at a time (canonical, vision) or all rows (pairwise).
  const all = o.inter === "pairwise" ? Array.from({ length: n }, () => new Float32Array(d)) : undefined;
  const colSum = all ? undefined : columnSums(rows, mag, o.inter, o.nanGuard, new Float32Array(d), tbuf);
  const b = abs; // reused: the magnitudes are no longer needed
  const scoresOf = (i: number, t: Float32Array): Float32Array =>
    all ? all[i] : scoreRow(i, t, n, colSum as Float32Array, mag, o.nanGuard, b);
  if (all) pairwiseScores(rows, mag, o.nanGuard, all, tbuf);
  const dropIdx = dropIndex(d, o.ratio);
  const thr = new Float32Array(n);
  const max = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = scoresOf(i, rows.row(i, tbuf));
    thr[i] = selectKth(s, dropIdx, hist);
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < d; k++) if (s[k] > m) m = s[k];
    max[i] = m;
  }
  const st = new ScoreStats(thr, max, o.nanGuard);
  // Merge.
  const num = new Float32Array(d);
  const den = new Float32Array(d);
  for (let i = 0; i < n; i++) {
    const t = rows.row(i, tbuf);
    accumulateWeighted(i, t, scoresOf(i, t), mag, st, o.nanGuard, lambdas[i], num, den);
  }
  return finishWeighted(num, den);
}
