// PCB streaming-global's store-only passes over an in-memory task store on several threads: the
// balance scores (pass 3) and the magnitude refinement (pass 2). The columns are cut into contiguous
// ranges (multiples of the chunk); the calling thread works on the first range itself while workers
// take the others, then it absorbs their results in range order: histogram counts (exact integer
// sums), drop-threshold windows (counts and kept scores; the order of kept values does not matter
// to a selection) and maxima (combined in column order, which fixes the choice between −0 and +0).
// Every element is computed by the same code whatever the split, so results do not depend on the
// thread count. `finish()` of a global pass is synchronous (drivers call it without awaiting), so the
// workers' calls are posted with `WorkerPool.post` and this thread blocks in `wait()` for them; one
// pool serves a session's store passes (StoreThreads) and ends with them.

import type { StreamingQuantile } from "@x/tensor-core";
import { WorkerPool, workerScript } from "@x/tensor-core/workers";
import type { NanGuard, PcbInter } from "./options.js";
import { PcbError } from "./options.js";
import type { RankWindow } from "./rank-window.js";
import type { MagnitudeStats } from "./score.js";
import { scoreChunk } from "./score-pass.js";
import type scoreWorker from "./score-worker.js";
import type { LowJob, RangeJob, ScoreJob, StoreJob } from "./store-jobs.js";

const POOL = "PCB store threads";

const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number): T => make(new SharedArrayBuffer(bytes));

/**
 * The worker threads of one session's store passes, started at the first pass that splits (the built
 * package's score-worker.js) and ended by `close()`.
 */
export class StoreThreads {
  private pool: WorkerPool<typeof scoreWorker> | undefined;

  /** Up to `threads` threads (this one included) over columns [0, d) cut in multiples of `chunk`. */
  constructor(
    readonly threads: number,
    readonly d: number,
    readonly chunk: number,
  ) {}

  /** Threads a pass uses: no more than the chunks. */
  get parts(): number {
    return Math.max(1, Math.min(this.threads, Math.ceil(this.d / this.chunk)));
  }

  /**
   * Runs `local` on the first column range here and jobs from `makeJob` on workers for the others,
   * then `absorb`s the jobs in range order. Returns the number of threads used.
   */
  private runRanges<J extends StoreJob>(
    local: (start: number, end: number) => void,
    makeJob: (base: RangeJob) => J,
    absorb: (job: J) => void,
  ): number {
    const { d, chunk, parts } = this;
    if (parts === 1) {
      local(0, d);
      return 1;
    }
    const per = Math.ceil(Math.ceil(d / chunk) / parts) * chunk;
    this.pool ??= WorkerPool.open<typeof scoreWorker>({
      script: workerScript(import.meta.url, "./score-worker.js", POOL),
      threads: parts - 1,
      name: POOL,
    });
    const pool = this.pool;
    try {
      const jobs: J[] = [];
      for (let p = 1; p < parts && p * per < d; p++) {
        jobs.push(makeJob({ rows: [], start: p * per, end: Math.min(d, (p + 1) * per), chunk }));
      }
      // Posted before this thread starts its own range, so all ranges run at once.
      const calls = jobs.map((job, j) => pool.post(j, "run", job));
      local(0, Math.min(d, per));
      jobs.forEach((job, j) => {
        calls[j]!.wait();
        absorb(job);
      });
      return jobs.length + 1;
    } catch (e) {
      this.close();
      if (e instanceof PcbError) throw e;
      throw new PcbError(`pcb streaming-global: store worker failed: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Ends the workers (calls in flight are dropped). */
  close(): void {
    void this.pool?.terminate();
    this.pool = undefined;
  }

  /**
   * Scores every column of `rows` (shared-memory task rows, T in, B out) on up to `threads` threads,
   * raising `max` and feeding `wins`; returns the number of threads used.
   */
  score(
    rows: readonly Float32Array[],
    mag: MagnitudeStats,
    inter: PcbInter,
    guard: NanGuard,
    max: Float32Array,
    wins: readonly RankWindow[],
  ): number {
    const { chunk } = this;
    const n = rows.length;
    const colSum = new Float32Array(Math.min(chunk, this.d));
    return this.runRanges<ScoreJob>(
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
  refine(rows: readonly Float32Array[], sels: readonly StreamingQuantile[]): number {
    const { chunk } = this;
    const n = rows.length;
    return this.runRanges<LowJob>(
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
}
