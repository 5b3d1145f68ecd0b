// PCB "streaming-global" mode: the reference's whole-model statistics computed in passes over the
// tensors, so no n × D matrix is ever held. Per task it keeps two exact streaming selections
// (the magnitude clamp bounds, then the balance-score drop threshold) and the score maximum:
//   pass 1/2: histogram + refine of |T_i| → lo_i, hi_i;
//   pass 3/4: histogram + refine of B_i (needs lo, hi) → t_i, and max B_i;
//   merge:    per tensor, recompute T, B, W with the same kernels as `reference` and combine.
// The kernels and the statistics are identical to reference mode, so the output is bit-identical.
// Working memory per tensor of d elements, besides the inputs and the output: 4·d float32 (one task
// row, one score row, column sums, the weight sum); the pairwise variant adds n·d (its inter term
// needs every task's S at once). Histograms: n · 2 · 65536 float64 per selection.

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
  accumulateWeighted,
  columnSums,
  deltaRows,
  finishWeighted,
  MagnitudeStats,
  pairwiseScores,
  ScoreStats,
  scoreRow,
  type TaskRows,
} from "./score.js";
import { StreamingSelect } from "./streaming-select.js";

/** Grow-only float32 scratch buffers by slot, returned at the requested length. */
class Scratch {
  private bufs: Float32Array[] = [];

  get(slot: number, len: number): Float32Array {
    let b = this.bufs[slot];
    if (!b || b.length < len) {
      b = new Float32Array(len);
      this.bufs[slot] = b;
    }
    return b.subarray(0, len);
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
  const scratch = new Scratch();
  const absSel = Array.from(
    { length: n },
    () => new StreamingSelect((d) => clampIndices(d, o.clampQuantile)),
  );
  const scoreSel = Array.from({ length: n }, () => new StreamingSelect((d) => [dropIndex(d, o.ratio)]));
  const scoreMax = new Float32Array(n).fill(Number.NEGATIVE_INFINITY);
  let mag: MagnitudeStats | undefined;
  let score: ScoreStats | undefined;

  const rowsOf = (t: TensorVisit): TaskRows => {
    checkVisit(t, ranges, n, where);
    return deltaRows(t.base as Float32Array, t.models);
  };
  const visitAbs = (t: TensorVisit, feed: (sel: StreamingSelect, v: Float32Array) => void) => {
    const rows = rowsOf(t);
    const buf = scratch.get(0, rows.length);
    for (let i = 0; i < n; i++) {
      const row = rows.row(i, buf);
      for (let k = 0; k < row.length; k++) buf[k] = Math.abs(row[k]);
      feed(absSel[i], buf);
    }
  };
  /** Calls `each(i, T_i, B_i)` for every task of a tensor, holding one row of each at a time. */
  const forEachScore = (t: TensorVisit, each: (i: number, row: Float32Array, b: Float32Array) => void) => {
    const m = mag as MagnitudeStats;
    const rows = rowsOf(t);
    const d = rows.length;
    const tbuf = scratch.get(0, d);
    if (o.inter === "pairwise") {
      const all = Array.from({ length: n }, (_, i) => scratch.get(4 + i, d));
      pairwiseScores(rows, m, o.nanGuard, all, tbuf);
      for (let i = 0; i < n; i++) each(i, rows.row(i, tbuf), all[i]);
      return;
    }
    const colSum = columnSums(rows, m, o.inter, o.nanGuard, scratch.get(1, d), tbuf);
    const b = scratch.get(2, d);
    for (let i = 0; i < n; i++) {
      const row = rows.row(i, tbuf);
      each(i, row, scoreRow(i, row, n, colSum, m, o.nanGuard, b));
    }
  };
  const finishTops = (sels: StreamingSelect[]) => {
    for (const s of sels) {
      if (s.count !== total) {
        throw new PcbError(
          `${where}: a pass visited ${s.count} elements, the announced tensors hold ${total}`,
        );
      }
      s.finishTop();
    }
  };

  const passes: GlobalPass[] = [
    {
      label: `${where}: magnitude histogram`,
      visit: (t) => visitAbs(t, (s, v) => s.addTop(v)),
      finish: () => finishTops(absSel),
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
      visit: (t) =>
        forEachScore(t, (i, _row, b) => {
          let m = scoreMax[i];
          for (let k = 0; k < b.length; k++) if (b[k] > m) m = b[k];
          scoreMax[i] = m;
          scoreSel[i].addTop(b);
        }),
      finish: () => finishTops(scoreSel),
    },
    {
      label: `${where}: score quantiles`,
      visit: (t) => forEachScore(t, (i, _row, b) => scoreSel[i].addLow(b)),
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
      const m = mag;
      const st = score;
      const base = input.base as Float32Array;
      const d = base.length;
      const num = new Float32Array(d); // accumulates Σ λ_i T̃_i W_i, becomes τ, then the output
      const den = scratch.get(3, d);
      den.fill(0);
      forEachScore(input, (i, row, b) => {
        accumulateWeighted(i, row, b, m, st, o.nanGuard, input.modelParams[i].weight as number, num, den);
      });
      const tau = finishWeighted(num, den);
      for (let k = 0; k < d; k++) tau[k] = base[k] + Math.fround(lambda * tau[k]);
      return tau;
    },
  };
}
