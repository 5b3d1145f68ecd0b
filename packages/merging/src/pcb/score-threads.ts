// PCB streaming-global's store-only passes over an in-memory task store on several threads: the
// balance scores (pass 3) and the magnitude refinement (pass 2). The columns are cut into contiguous
// ranges (multiples of the chunk); the calling thread works on the first range itself while workers
// take the others, then it absorbs their results in range order: histogram counts (exact integer
// sums), drop-threshold windows (counts and kept scores; the order of kept values does not matter
// to a selection) and maxima (combined in column order, which fixes the choice between −0 and +0).
// Every element is computed by the same code whatever the split, so results do not depend on the
// thread count. `finish()` of a global pass is synchronous, so the calling thread blocks in
// Atomics.wait while the workers run.

import type { Worker } from "node:worker_threads";
import type { StreamingLowPlan, StreamingQuantile } from "@x/tensor-core";
import { findBuiltScript, startWorker } from "../threads.js";
import type { NanGuard, PcbInter } from "./options.js";
import { PcbError } from "./options.js";
import type { RankWindow } from "./rank-window.js";
import type { MagnitudeStats } from "./score.js";
import { scoreChunk } from "./score-pass.js";

/** What every worker job carries, all arrays over SharedArrayBuffers. */
interface RangeJob {
  readonly rows: readonly Float32Array[];
  readonly start: number;
  readonly end: number;
  readonly chunk: number;
  /** [state, progress]: state 0 running, 1 done, 2 failed (message in `error`); progress counts chunks. */
  readonly status: Int32Array;
  readonly error: Uint8Array;
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

/** The built worker script (dist/pcb/score-worker.js), also when running from src; undefined if not built. */
export function findScoreWorker(): URL | undefined {
  return findBuiltScript(import.meta.url, ["./score-worker.js", "../../dist/pcb/score-worker.js"]);
}

const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number): T => make(new SharedArrayBuffer(bytes));

/**
 * Runs `local` on the first column range here and jobs from `makeJob` on workers for the others,
 * then `absorb`s the jobs in range order. Returns the number of threads used (1 when the worker
 * script is missing or there is a single chunk).
 */
function runRanges<J extends StoreJob>(
  d: number,
  threads: number,
  chunk: number,
  local: (start: number, end: number) => void,
  makeJob: (base: RangeJob) => J,
  absorb: (job: J) => void,
): number {
  const chunks = Math.ceil(d / chunk);
  const url = threads > 1 && chunks > 1 ? findScoreWorker() : undefined;
  const parts = url ? Math.min(threads, chunks) : 1;
  const per = Math.ceil(chunks / parts) * chunk;
  if (parts === 1) {
    local(0, d);
    return 1;
  }
  const workers: Worker[] = [];
  const jobs: J[] = [];
  try {
    for (let p = 1; p < parts && p * per < d; p++) {
      const job = makeJob({
        rows: [],
        start: p * per,
        end: Math.min(d, (p + 1) * per),
        chunk,
        status: shared((b) => new Int32Array(b), 8),
        error: shared((b) => new Uint8Array(b), 4096),
      });
      const w = startWorker(url as URL, undefined, true);
      w.postMessage(job);
      workers.push(w);
      jobs.push(job);
    }
    local(0, Math.min(d, per));
    for (const job of jobs) {
      // Wait in range order. A worker that died without reporting would block forever: give up when
      // it has not finished a single chunk for two minutes.
      let seen = -1;
      let idle = 0;
      while (Atomics.load(job.status, 0) === 0) {
        if (Atomics.wait(job.status, 0, 0, 10_000) !== "timed-out") continue;
        const progress = Atomics.load(job.status, 1);
        idle = progress === seen ? idle + 1 : 0;
        seen = progress;
        if (idle >= 12)
          throw new PcbError("pcb streaming-global: a store worker made no progress for 2 minutes");
      }
      if (job.status[0] === 2) {
        const msg = new TextDecoder().decode(job.error.slice()).replace(/\0+$/, "");
        throw new PcbError(`pcb streaming-global: store worker failed: ${msg}`);
      }
      absorb(job);
    }
    return jobs.length + 1;
  } finally {
    for (const w of workers) void w.terminate();
  }
}

/**
 * Scores every column of `rows` (shared-memory task rows, T in, B out) on up to `threads` threads,
 * raising `max` and feeding `wins`; returns the number of threads used.
 */
export function scoreStoreThreaded(
  rows: readonly Float32Array[],
  threads: number,
  chunk: number,
  mag: MagnitudeStats,
  inter: PcbInter,
  guard: NanGuard,
  max: Float32Array,
  wins: readonly RankWindow[],
): number {
  const n = rows.length;
  const d = rows[0].length;
  const colSum = new Float32Array(Math.min(chunk, d));
  return runRanges<ScoreJob>(
    d,
    threads,
    chunk,
    (start, end) => {
      for (let a = start; a < end; a += chunk) {
        const e = Math.min(end, a + chunk);
        scoreChunk(
          rows.map((r) => r.subarray(a, e)),
          mag,
          inter,
          guard,
          colSum,
          max,
          wins,
          a,
        );
      }
    },
    (base) => ({
      ...base,
      kind: "score",
      rows,
      lo: mag.lo,
      hi: mag.hi,
      inter,
      guard,
      winLo: Float64Array.from(wins, (w) => w.lo),
      winHi: Float64Array.from(wins, (w) => w.hi),
      below: shared((b) => new Float64Array(b), n * 8),
      count: shared((b) => new Float64Array(b), n * 8),
      // Pages of a shared buffer are committed only when written: room for the whole window is cheap.
      cand: wins.map((w) => shared((b) => new Float32Array(b), w.cand.length * 4)),
      max: shared((b) => new Float32Array(b), n * 4),
      pos: wins.map((w) => shared((b) => new Int32Array(b), w.pos.length * 4)),
      posCount: shared((b) => new Float64Array(b), n * 8),
    }),
    (job) => {
      for (let i = 0; i < n; i++) {
        const c = job.count[i];
        wins[i].absorb(job.below[i], c, job.cand[i], c > job.cand[i].length);
        if (job.max[i] > max[i]) max[i] = job.max[i];
        wins[i].absorbPositions(job.pos[i], job.posCount[i]);
      }
    },
  );
}

/**
 * Feeds every column of `rows` (shared-memory task rows) to the pass-2 selectors `sels` (one per
 * row, in phase "low") on up to `threads` threads; returns the number of threads used.
 */
export function refineStoreThreaded(
  rows: readonly Float32Array[],
  threads: number,
  chunk: number,
  sels: readonly StreamingQuantile[],
): number {
  const n = rows.length;
  return runRanges<LowJob>(
    rows[0].length,
    threads,
    chunk,
    (start, end) => {
      for (let a = start; a < end; a += chunk) {
        const e = Math.min(end, a + chunk);
        for (let i = 0; i < n; i++) sels[i].addLow(rows[i], a, e);
      }
    },
    (base) => {
      const plans = sels.map((s) => s.lowPlan());
      return {
        ...base,
        kind: "low",
        rows,
        plans,
        counts: plans.map((p) => shared((b) => new Float64Array(b), p.slots * 65536 * 8)),
      };
    },
    (job) => {
      for (let i = 0; i < n; i++) sels[i].absorbLowCounts(job.counts[i], job.end - job.start);
    },
  );
}
