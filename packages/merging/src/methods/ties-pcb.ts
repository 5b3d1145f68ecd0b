// TIES-Merging as the PCB repository computes it (`ties_merge_methods` with topk / mass / dis-mean),
// on flat task vectors over the whole model:
//  1. trim per task: k = D − ⌊D·K⌋, keep |x| ≥ (k-th smallest |x|) — ⌊D·K⌋ + 1 entries when values
//     are distinct (the reference's off-by-one), more on ties; K > 1 is read as a percentage;
//  2. elect: s = sign(Σ_i τ̂_i); zero entries take the majority sign(Σ_k s_k) (may itself be 0);
//  3. disjoint mean: average the entries whose sign agrees with s (strictly; s = 0 keeps negatives,
//     as the reference's `where(s > 0, τ > 0, τ < 0)` does) over their count (min 1).
// Returns the merged task vector τ; the caller applies θ₀ + λ·τ.

import { createSelectScratch, selectKth } from "@x/tensor-core/browser";
import { MergeMethodError } from "../method.js";

export interface TiesPcbOptions {
  /** K: fraction of entries kept per task (one value or one per task); > 1 means percent. */
  readonly topK: number | readonly number[];
}

/** The trim threshold of one task row: the (D − ⌊D·K⌋)-th smallest |x| (1-based). */
export function tiesPcbThreshold(abs: Float32Array, topK: number, scratch?: Uint32Array): number {
  const d = abs.length;
  const kf = topK > 1 ? topK / 100 : topK;
  const k = d - Math.trunc(d * kf);
  if (!(k >= 1 && k <= d)) {
    throw new MergeMethodError(
      `ties (pcb): top-k ${topK} of ${d} entries leaves kthvalue rank ${k} out of [1, ${d}]`,
    );
  }
  return selectKth(abs, k - 1, scratch);
}

export function tiesPcbMerge(tasks: readonly Float32Array[], options: TiesPcbOptions): Float32Array {
  const n = tasks.length;
  if (n === 0) throw new MergeMethodError("ties (pcb): needs at least one task vector");
  const d = tasks[0].length;
  tasks.forEach((t, i) => {
    if (t.length !== d)
      throw new MergeMethodError(`ties (pcb): task ${i} has ${t.length} entries, task 0 has ${d}`);
  });
  const ks = typeof options.topK === "number" ? new Array<number>(n).fill(options.topK) : options.topK;
  if (ks.length !== n) throw new MergeMethodError(`ties (pcb): ${ks.length} top-k values for ${n} tasks`);
  // Trim: thresholds per row (the trimmed values are recomputed on the fly below, never stored).
  const thr = new Float32Array(n);
  const abs = new Float32Array(d);
  const scratch = createSelectScratch();
  for (let i = 0; i < n; i++) {
    const t = tasks[i];
    for (let k = 0; k < d; k++) abs[k] = Math.abs(t[k]);
    thr[i] = tiesPcbThreshold(abs, ks[i], scratch);
  }
  // Elect: column sums of the trimmed rows (float32 like the reference), then the majority sign.
  const sign = new Float32Array(d);
  let signSum = 0;
  for (let k = 0; k < d; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const x = tasks[i][k];
      if (Math.abs(x) >= thr[i]) s = Math.fround(s + x);
    }
    const sg = s > 0 ? 1 : s < 0 ? -1 : 0;
    sign[k] = sg;
    signSum += sg;
  }
  const majority = signSum > 0 ? 1 : signSum < 0 ? -1 : 0;
  // Disjoint mean.
  const out = new Float32Array(d);
  for (let k = 0; k < d; k++) {
    const s = sign[k] === 0 ? majority : sign[k];
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const x = tasks[i][k];
      if (Math.abs(x) < thr[i]) continue;
      if (s > 0 ? x > 0 : x < 0) {
        sum = Math.fround(sum + x);
        count++;
      }
    }
    out[k] = sum / (count > 0 ? count : 1);
  }
  return out;
}
