// PCB "streaming-global" mode: the reference's whole-model statistics computed in passes, so no
// n × D matrix has to fit in memory. The task vectors are read from the checkpoints twice in all:
//   pass 1 (reads tensors): T_i = θ_i − θ₀ into the task store; top-16-bit histogram of |T_i|;
//   pass 2 (store only):    refine |T_i| → clamp bounds lo_i, hi_i;
//   pass 3 (store only):    balance scores B_i, computed once per element, overwrite T_i in the
//                           store; their maximum, and the scores inside a value window that a
//                           sample of columns says holds the drop threshold's rank (rank-window.ts);
//   pass 4:                 drop threshold t_i = exact selection among the window's scores; only if
//                           the rank fell outside the window, two sweeps of histogram refinement;
//   merge (reads tensors):  per tensor, T from the checkpoints and B from the store → W, T̃, τ.
// The store lives in memory under `memoryBudget` bytes, else in a self-deleting temp file
// (see task-store.ts). Kernels and statistics are those of reference mode, so the output is
// bit-identical to it. Working memory besides the store and the pipeline's read buffers: a few
// chunk-sized rows, the merge's num/den rows of the current tensor, and n histograms of 64 Ki float64.

import { availableParallelism } from "node:os";
import { StreamingQuantile } from "@x/tensor-core";
import { ReadBuffers } from "../buffers.js";
import type {
  GlobalMergeContext,
  GlobalMergeSession,
  GlobalPass,
  TensorMergeInput,
  TensorVisit,
} from "../method.js";
import { checkVisit, flatLayout } from "../methods/task-matrix.js";
import { lowerBound } from "./fast/windows.js";
import { clampIndices, dropIndex, PcbError, type ResolvedPcbOptions } from "./options.js";
import { RankWindow, windowCapacity, windowFromSample } from "./rank-window.js";
import {
  accumulateKept,
  accumulateKeptAt,
  accumulateWeighted,
  finishMerged,
  MagnitudeStats,
  ScoreStats,
} from "./score.js";
import { sampleScores, scoreChunk } from "./score-pass.js";
import { StoreThreads } from "./score-threads.js";
import { createTaskStore, STORE_CHUNK, sharedRowsOf, type TaskStore } from "./task-store.js";

export interface StreamingPcbHooks {
  /** Called with the global statistics once known (tests, reporting). */
  onStats?(mag: MagnitudeStats, score: ScoreStats): void;
  /** Called with the number of threads that refined the magnitude quantiles (pass 2). */
  onRefineThreads?(threads: number): void;
  /** Called with the number of threads that computed the balance scores. */
  onScoreThreads?(threads: number): void;
  /** Called with, per task, how many score positions the merge visits (undefined: it scans every score). */
  onPositions?(counts: readonly (number | undefined)[]): void;
  /** Called with how each task's drop threshold was found: inside the sampled window, or by sweeping. */
  onThresholdPath?(paths: readonly ("window" | "sweep")[]): void;
}

export interface StreamingPcbOptions {
  /** Bytes the task store may take in memory (n·D·4); above it the store spills to a temp file. */
  readonly memoryBudget: number;
  /** Directory of the spill file (default: the OS temp directory). */
  readonly spillDir?: string;
  /** Columns per chunk of the store passes and the merge (default STORE_CHUNK; tests use tiny ones). */
  readonly chunk?: number;
  /**
   * Threads for the store-only passes (magnitude refinement, balance scores) when the store is in memory (default: os.availableParallelism(),
   * capped at the number of chunks); needs the built package (dist/pcb/score-worker.js), else it runs
   * on the calling thread. Same output for any count.
   */
  readonly threads?: number;
  /**
   * Slack of the drop-threshold window, as a share of the sample on each side of the estimated rank
   * (default 0.03). A negative value disables the window (always two refinement sweeps; tests).
   */
  readonly windowSlack?: number;
}

export function streamingPcbSession(
  ctx: GlobalMergeContext,
  o: ResolvedPcbOptions,
  lambda: number,
  where: string,
  storeOptions: StreamingPcbOptions,
  hooks: StreamingPcbHooks = {},
): GlobalMergeSession {
  const n = ctx.numModels;
  const { total, ranges } = flatLayout(ctx, where);
  if (total === 0) throw new PcbError(`${where}: no tensor elements to merge`);
  const scratch = new ReadBuffers();
  const absSel = Array.from(
    { length: n },
    () => new StreamingQuantile((d) => clampIndices(d, o.clampQuantile), { abs: true }),
  );
  let wins: RankWindow[] = [];
  let positions: (Int32Array | undefined)[] = [];
  const scoreMax = new Float32Array(n).fill(Number.NEGATIVE_INFINITY);
  let store: TaskStore | undefined = createTaskStore(
    n,
    total,
    storeOptions.memoryBudget,
    storeOptions.spillDir,
  );
  const chunk = storeOptions.chunk ?? STORE_CHUNK;
  if (!(Number.isInteger(chunk) && chunk > 0))
    throw new PcbError(`${where}: chunk must be a positive integer, got ${chunk}`);
  const threads = Math.max(1, Math.floor(storeOptions.threads ?? availableParallelism()));
  // Worker threads of the store-only passes (started by the first that splits, ended after the last).
  const workers = new StoreThreads(threads, total, chunk);
  const slack = storeOptions.windowSlack ?? 0.03;
  const seen = new Set<string>();
  let mag: MagnitudeStats | undefined;
  let score: ScoreStats | undefined;

  const storeOf = (): TaskStore => {
    if (!store) throw new PcbError(`${where}: session used after close`);
    return store;
  };
  const ignore = (_t: TensorVisit) => {};

  const passes: GlobalPass[] = [
    {
      label: `${where}: task vectors and magnitude histogram`,
      visit(t) {
        const [start] = checkVisit(t, ranges, n, where);
        if (seen.has(t.name)) throw new PcbError(`${where}: tensor '${t.name}' visited twice in one pass`);
        seen.add(t.name);
        const base = t.base as Float32Array;
        const d = base.length;
        const st = storeOf();
        // Column blocks, so the histogram reads T back from cache.
        for (let a = 0; a < d; a += chunk) {
          const len = Math.min(d, a + chunk) - a;
          for (let i = 0; i < n; i++) {
            const m = t.models[i];
            // In memory, T goes straight into the store; a file store gets it through a scratch row.
            const view = st.view(i, start + a, len);
            const row = view ?? scratch.view(0, len);
            for (let k = 0; k < len; k++) row[k] = m[a + k] - base[a + k];
            if (!view) st.write(i, start + a, row);
            absSel[i].addTop(row); // the selector keys |T|
          }
        }
      },
      finish() {
        for (const s of absSel) {
          if (s.count !== total) {
            throw new PcbError(
              `${where}: a pass visited ${s.count} elements, the announced tensors hold ${total}`,
            );
          }
          s.finishTop();
        }
      },
    },
    {
      label: `${where}: magnitude quantiles`,
      readsTensors: false,
      visit: ignore,
      finish() {
        const st = storeOf();
        const shared = sharedRowsOf(st);
        let used = 1;
        if (shared && threads > 1) used = workers.refine(shared, absSel);
        else {
          st.forEachChunk((_start, rows) => {
            for (let i = 0; i < n; i++) absSel[i].addLow(rows[i]);
            return false;
          }, chunk);
        }
        hooks.onRefineThreads?.(used);
        const lo = new Float32Array(n);
        const hi = new Float32Array(n);
        absSel.forEach((s, i) => {
          [lo[i], hi[i]] = s.finishLow();
        });
        mag = new MagnitudeStats(lo, hi, o.nanGuard);
      },
    },
    {
      label: `${where}: balance scores`,
      readsTensors: false,
      visit: ignore,
      finish() {
        const m = mag as MagnitudeStats;
        const st = storeOf();
        // The drop threshold's value window per task, from the scores of a sample of columns.
        const k = dropIndex(total, o.ratio);
        if (slack >= 0) {
          const samples = sampleScores(
            (i, a, len, buf) => st.read(i, a, len, buf),
            n,
            total,
            m,
            o.inter,
            o.nanGuard,
          );
          const inMemory = sharedRowsOf(st) !== undefined;
          wins = samples.map((smp) => {
            const w = windowFromSample(smp, k, total, slack);
            // In memory, also the positions of the scores not below the window, for the merge: about
            // the share above the rank plus the window's (room for 1.5× that).
            const share = Math.min(1, 1 - k / total + w.fraction);
            const room = inMemory ? Math.min(total, Math.ceil(1.5 * share * total) + 4096) : 0;
            return new RankWindow(
              w.lo,
              w.hi,
              windowCapacity(total, w.fraction),
              undefined,
              new Int32Array(room),
            );
          });
        } else wins = Array.from({ length: n }, () => new RankWindow(Number.NaN, Number.NaN, 0));
        const rows = sharedRowsOf(st);
        let used = 1;
        if (rows && threads > 1) {
          used = workers.score(rows, m, o.inter, o.nanGuard, scoreMax, wins);
        } else {
          st.forEachChunk((_start, slices) => {
            scoreChunk(
              slices,
              m,
              o.inter,
              o.nanGuard,
              scratch.view(2, slices[0].length),
              scoreMax,
              wins,
              _start,
            );
            return true;
          }, chunk);
        }
        hooks.onScoreThreads?.(used);
      },
    },
    {
      label: `${where}: drop thresholds`,
      readsTensors: false,
      visit: ignore,
      finish() {
        const k = dropIndex(total, o.ratio);
        const thr = new Float32Array(n);
        const paths = wins.map((w, i) => {
          const v = w.resolve(k);
          if (v !== undefined) thr[i] = v;
          return v === undefined ? "sweep" : "window";
        });
        // With the threshold inside the window, every kept score (B > t_i ≥ lo, or NaN) is at a
        // recorded position: the merge visits those only.
        positions = wins.map((w, i) => (paths[i] === "window" ? w.positions() : undefined));
        hooks.onPositions?.(positions.map((p) => p?.length));
        wins = [];
        const missed = paths.flatMap((p, i) => (p === "sweep" ? [i] : []));
        if (missed.length > 0) {
          // The sample misled (or the window overflowed): exact histogram refinement, two sweeps.
          const sels = missed.map(() => new StreamingQuantile((d) => [dropIndex(d, o.ratio)]));
          const sweep = (feed: (s: StreamingQuantile, row: Float32Array) => void) =>
            storeOf().forEachChunk((_start, rows) => {
              for (let j = 0; j < missed.length; j++) feed(sels[j], rows[missed[j]]);
              return false;
            }, chunk);
          sweep((s, row) => s.addTop(row));
          for (const s of sels) s.finishTop();
          const shared = sharedRowsOf(storeOf());
          if (shared && threads > 1)
            workers.refine(
              missed.map((i) => shared[i]),
              sels,
            );
          else sweep((s, row) => s.addLow(row));
          missed.forEach((i, j) => {
            thr[i] = sels[j].finishLow()[0];
          });
        }
        workers.close(); // the last store pass
        hooks.onThresholdPath?.(paths);
        score = new ScoreStats(thr, scoreMax, o.nanGuard);
        hooks.onStats?.(mag as MagnitudeStats, score);
      },
    },
  ];

  // A pass that throws ends the store threads too: drivers need not close a session whose pass failed.
  for (const pass of passes) {
    const finish = pass.finish.bind(pass);
    pass.finish = () => {
      try {
        finish();
      } catch (e) {
        workers.close();
        throw e;
      }
    };
  }

  return {
    passes,
    mergeTensor(input: TensorMergeInput): Float32Array {
      if (!mag || !score) throw new PcbError(`${where}: mergeTensor called before all passes finished`);
      const ms = mag;
      const ss = score;
      const [start] = checkVisit(input, ranges, n, where);
      const st = storeOf();
      const base = input.base as Float32Array;
      const d = base.length;
      const num = new Float32Array(d); // Σ λ_i T̃_i W_i, then τ, then the output
      const den = scratch.view(3, d);
      den.fill(0);
      const rows = sharedRowsOf(st);
      // Task by task (each element still receives its tasks' terms in task order).
      for (let i = 0; i < n; i++) {
        const m = input.models[i];
        const li = input.modelParams[i].weight as number; // λ_i inside the sum
        const pos = positions[i];
        if (rows && pos) {
          const p0 = lowerBound(pos, start);
          const p1 = lowerBound(pos, start + d);
          if (accumulateKeptAt(i, m, base, start, rows[i], pos, p0, p1, ms, ss, o.nanGuard, li, num, den))
            continue;
        }
        // Column chunks bound the scratch rows when the store is a file.
        for (let a = 0; a < d; a += chunk) {
          const len = Math.min(d, a + chunk) - a;
          const nu = num.subarray(a, a + len);
          const de = den.subarray(a, a + len);
          const b = st.read(i, start + a, len, scratch.view(4, len));
          // Most entries are dropped (B ≤ t_i): the fast kernel only touches the kept ones.
          if (accumulateKept(i, m, base, a, b, ms, ss, o.nanGuard, li, nu, de)) continue;
          const t = scratch.view(0, len);
          for (let k = 0; k < len; k++) t[k] = m[a + k] - base[a + k];
          accumulateWeighted(i, t, b, ms, ss, o.nanGuard, li, nu, de);
        }
      }
      return finishMerged(num, den, base, lambda); // outer λ: θ₀ + λ·τ
    },
    close() {
      workers.close();
      store?.close();
      store = undefined;
    },
  };
}

/** The type of `streamingPcbSession` (installed into the `pcb` method by `methods/pcb-node.ts`). */
export type StreamingPcbSession = typeof streamingPcbSession;
