// The jobs PCB's store threads run (score-threads.ts posts them, score-worker.ts runs them), in their own
// module so that the two sides do not import each other.

import type { StreamingLowPlan } from "@x/tensor-core";
import type { NanGuard, PcbInter } from "./options.js";

/** What every worker job carries, all arrays over SharedArrayBuffers. */
export interface RangeJob {
  readonly rows: readonly Float32Array[];
  readonly start: number;
  readonly end: number;
  readonly chunk: number;
}

/** Pass 3: score a column range of the store in place. */
export interface ScoreJob extends RangeJob {
  readonly kind: "score";
  readonly lo: Float32Array;
  readonly hi: Float32Array;
  readonly inter: PcbInter;
  readonly guard: NanGuard;
  /** Each task's drop-threshold window bounds (in). */
  readonly winLo: Float64Array;
  readonly winHi: Float64Array;
  /** Out: per task, scores below the window and inside it (the latter may exceed `cand`'s room). */
  readonly below: Float64Array;
  readonly count: Float64Array;
  /** Out: per task, the scores inside the window. */
  readonly cand: readonly Float32Array[];
  /** Out: per-task maximum over the range. */
  readonly max: Float32Array;
  /** Out: per task, positions of the scores not below the window (room as the main thread's) and their count. */
  readonly pos: readonly Int32Array[];
  readonly posCount: Float64Array;
}

/** Pass 2: pass-2 histogram counts of a column range, one selector plan per task. */
export interface LowJob extends RangeJob {
  readonly kind: "low";
  readonly plans: readonly StreamingLowPlan[];
  /** Out: per task, the selector's pass-2 counts. */
  readonly counts: readonly Float64Array[];
}

export type StoreJob = ScoreJob | LowJob;
