// PCB "streaming-global" mode: the reference's whole-model statistics computed in passes over the
// tensors, so no n × D matrix is ever held. Per task it keeps two exact streaming selections
// (the magnitude clamp bounds, then the balance-score drop threshold) and the score maximum:
//   pass 1/2: histogram + refine of |T_i| → lo_i, hi_i;
//   pass 3/4: histogram + refine of B_i (needs lo, hi) → t_i, and max B_i;
//   merge:    per tensor, recompute T, B, W with the same kernels as `reference` and combine.
// The kernels and the statistics are identical to reference mode, so the output is bit-identical.
// Memory: O(n · 65536) histogram counts plus a few n × (largest tensor) float32 buffers.

import type {
  GlobalMergeContext,
  GlobalMergeSession,
  GlobalPass,
  TensorMergeInput,
  TensorVisit,
} from "../method.js";
import { checkVisit, flatLayout } from "../methods/task-matrix.js";
import { clampIndices, dropIndex, PcbError, type ResolvedPcbOptions } from "./options.js";
import {
  balanceScores,
  columnScratch,
  combineWeighted,
  MagnitudeStats,
  ScoreStats,
  weightScores,
} from "./score.js";
import { StreamingSelect } from "./streaming-select.js";

/** Task rows T_i = θ_i − θ₀ of one tensor, in reusable buffers. */
class TaskBuffers {
  private rows: Float32Array[] = [];
  private extra: Float32Array[] = [];

  tasks(t: TensorVisit): Float32Array[] {
    const d = (t.base as Float32Array).length;
    if (this.rows.length !== t.models.length || (this.rows[0]?.length ?? -1) < d) {
      this.rows = t.models.map(() => new Float32Array(d));
      this.extra = t.models.map(() => new Float32Array(d));
    }
    const base = t.base as Float32Array;
    return t.models.map((m, i) => {
      const row = this.rows[i].subarray(0, d);
      for (let k = 0; k < d; k++) row[k] = m[k] - base[k];
      return row;
    });
  }

  /** Second set of rows (scores), same length as the last `tasks` call. */
  scratch(d: number): Float32Array[] {
    return this.extra.map((e) => e.subarray(0, d));
  }
}

export interface StreamingPcbHooks {
  /** Called with the global statistics once known (tests, reporting). */
  onStats?(mag: MagnitudeStats, score: ScoreStats): void;
}

export function streamingPcbSession(
  ctx: GlobalMergeContext,
  o: ResolvedPcbOptions,
  lambda: number,
  where: string,
  hooks: StreamingPcbHooks = {},
): GlobalMergeSession {
  const n = ctx.numModels;
  const { total, ranges } = flatLayout(ctx, where);
  if (total === 0) throw new PcbError(`${where}: no tensor elements to merge`);
  const buffers = new TaskBuffers();
  const colScratch = columnScratch(n);
  const absSel = Array.from(
    { length: n },
    () => new StreamingSelect((d) => clampIndices(d, o.clampQuantile)),
  );
  const scoreSel = Array.from({ length: n }, () => new StreamingSelect((d) => [dropIndex(d, o.ratio)]));
  const scoreMax = new Float32Array(n).fill(Number.NEGATIVE_INFINITY);
  let mag: MagnitudeStats | undefined;
  let score: ScoreStats | undefined;
  let abs = new Float32Array(0);

  const visitAbs = (t: TensorVisit, feed: (sel: StreamingSelect, v: Float32Array) => void) => {
    checkVisit(t, ranges, n, where);
    const tasks = buffers.tasks(t);
    const d = tasks[0].length;
    if (abs.length < d) abs = new Float32Array(d);
    const a = abs.subarray(0, d);
    for (let i = 0; i < n; i++) {
      const row = tasks[i];
      for (let k = 0; k < d; k++) a[k] = Math.abs(row[k]);
      feed(absSel[i], a);
    }
  };
  const scoresOf = (t: TensorVisit): { tasks: Float32Array[]; scores: Float32Array[] } => {
    checkVisit(t, ranges, n, where);
    const tasks = buffers.tasks(t);
    const scores = buffers.scratch(tasks[0].length);
    balanceScores(tasks, mag as MagnitudeStats, o.inter, o.nanGuard, scores, colScratch);
    return { tasks, scores };
  };
  const checkCount = (sel: StreamingSelect) => {
    if (sel.count !== total) {
      throw new PcbError(
        `${where}: a pass visited ${sel.count} elements, the announced tensors hold ${total}`,
      );
    }
  };

  const passes: GlobalPass[] = [
    {
      label: `${where}: magnitude histogram`,
      visit: (t) => visitAbs(t, (s, v) => s.addTop(v)),
      finish: () => {
        for (const s of absSel) {
          checkCount(s);
          s.finishTop();
        }
      },
    },
    {
      label: `${where}: magnitude quantiles`,
      visit: (t) => visitAbs(t, (s, v) => s.addLow(v)),
      finish: () => {
        const lo = new Float32Array(n);
        const hi = new Float32Array(n);
        absSel.forEach((s, i) => {
          [lo[i], hi[i]] = s.finishLow();
        });
        mag = new MagnitudeStats(lo, hi, o.nanGuard);
      },
    },
    {
      label: `${where}: score histogram`,
      visit: (t) => {
        const { scores } = scoresOf(t);
        for (let i = 0; i < n; i++) {
          const b = scores[i];
          let m = scoreMax[i];
          for (let k = 0; k < b.length; k++) if (b[k] > m) m = b[k];
          scoreMax[i] = m;
          scoreSel[i].addTop(b);
        }
      },
      finish: () => {
        for (const s of scoreSel) {
          checkCount(s);
          s.finishTop();
        }
      },
    },
    {
      label: `${where}: score quantiles`,
      visit: (t) => {
        const { scores } = scoresOf(t);
        for (let i = 0; i < n; i++) scoreSel[i].addLow(scores[i]);
      },
      finish: () => {
        const thr = Float32Array.from(scoreSel, (s) => s.finishLow()[0]);
        score = new ScoreStats(thr, scoreMax, o.nanGuard);
        hooks.onStats?.(mag as MagnitudeStats, score);
      },
    },
  ];

  return {
    passes,
    mergeTensor(input: TensorMergeInput): Float32Array {
      if (!mag || !score) throw new PcbError(`${where}: mergeTensor called before all passes finished`);
      const { tasks, scores } = scoresOf(input);
      const d = tasks[0].length;
      const weightSum = new Float32Array(d);
      weightScores(tasks, scores, mag, score, o.nanGuard, weightSum);
      const lambdas = input.modelParams.map((p) => p.weight as number);
      const tau = combineWeighted(scores, weightSum, lambdas, new Float32Array(d));
      const base = input.base as Float32Array;
      const out = new Float32Array(d);
      for (let k = 0; k < d; k++) out[k] = base[k] + Math.fround(lambda * tau[k]);
      return out;
    },
  };
}
