// PCB streaming-global's balance-score pass over an in-memory task store on several threads. The
// columns are cut into contiguous ranges (multiples of the chunk); the calling thread scores the
// first range itself while workers score the others, then it absorbs their histogram counts (exact
// integer sums) and maxima in range order. Every element's score is computed by the same code
// whatever the split, and the order-dependent part (the maximum's choice between −0 and +0) is
// combined in column order, so results do not depend on the thread count. `finish()` of a global pass
// is synchronous, so the calling thread blocks in Atomics.wait while the workers run.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { StreamingQuantile } from "@x/tensor-core";
import type { NanGuard, PcbInter } from "./options.js";
import { PcbError } from "./options.js";
import type { MagnitudeStats } from "./score.js";
import { scoreChunk } from "./score-pass.js";

/** One worker's share, all arrays over SharedArrayBuffers. */
export interface ScoreJob {
  readonly rows: readonly Float32Array[];
  readonly start: number;
  readonly end: number;
  readonly chunk: number;
  readonly lo: Float32Array;
  readonly hi: Float32Array;
  readonly inter: PcbInter;
  readonly guard: NanGuard;
  /** Out: n × 65536 pass-1 counts. */
  readonly counts: Float64Array;
  /** Out: per-task maximum over the range. */
  readonly max: Float32Array;
  /** [state, progress]: state 0 running, 1 done, 2 failed (message in `error`); progress counts chunks. */
  readonly status: Int32Array;
  readonly error: Uint8Array;
}

/** The built worker script (dist/pcb/score-worker.js), also when running from src; undefined if not built. */
export function findScoreWorker(): URL | undefined {
  for (const rel of ["./score-worker.js", "../../dist/pcb/score-worker.js"]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}

const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number): T => make(new SharedArrayBuffer(bytes));

/**
 * Scores every column of `rows` (shared-memory task rows, T in, B out) on up to `threads` threads;
 * returns the number of threads used (1 when the worker script is missing or the rows are short).
 */
export function scoreStoreThreaded(
  rows: readonly Float32Array[],
  threads: number,
  chunk: number,
  mag: MagnitudeStats,
  inter: PcbInter,
  guard: NanGuard,
  max: Float32Array,
  sels: readonly StreamingQuantile[],
): number {
  const n = rows.length;
  const d = rows[0].length;
  const chunks = Math.ceil(d / chunk);
  const url = threads > 1 && chunks > 1 ? findScoreWorker() : undefined;
  const parts = url ? Math.min(threads, chunks) : 1;
  const per = Math.ceil(chunks / parts) * chunk;
  const colSum = new Float32Array(Math.min(chunk, d));
  const scoreRange = (start: number, end: number) => {
    for (let a = start; a < end; a += chunk) {
      const e = Math.min(end, a + chunk);
      scoreChunk(
        rows.map((r) => r.subarray(a, e)),
        mag,
        inter,
        guard,
        colSum,
        max,
        sels,
      );
    }
  };
  if (parts === 1) {
    scoreRange(0, d);
    return 1;
  }
  const workers: Worker[] = [];
  const jobs: ScoreJob[] = [];
  try {
    for (let p = 1; p < parts && p * per < d; p++) {
      const job: ScoreJob = {
        rows,
        start: p * per,
        end: Math.min(d, (p + 1) * per),
        chunk,
        lo: mag.lo,
        hi: mag.hi,
        inter,
        guard,
        counts: shared((b) => new Float64Array(b), n * 65536 * 8),
        max: shared((b) => new Float32Array(b), n * 4),
        status: shared((b) => new Int32Array(b), 8),
        error: shared((b) => new Uint8Array(b), 4096),
      };
      const w = new Worker(url as URL);
      w.unref();
      w.postMessage(job);
      workers.push(w);
      jobs.push(job);
    }
    scoreRange(0, Math.min(d, per));
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
          throw new PcbError("pcb streaming-global: a score worker made no progress for 2 minutes");
      }
      if (job.status[0] === 2) {
        const msg = new TextDecoder().decode(job.error.slice()).replace(/\0+$/, "");
        throw new PcbError(`pcb streaming-global: score worker failed: ${msg}`);
      }
      for (let i = 0; i < n; i++) {
        sels[i].absorbTopCounts(job.counts.subarray(i * 65536, (i + 1) * 65536), job.end - job.start);
        if (job.max[i] > max[i]) max[i] = job.max[i];
      }
    }
    return jobs.length + 1;
  } finally {
    for (const w of workers) void w.terminate();
  }
}
