// PCB "streaming-global" mode: the reference's whole-model statistics computed in passes, so no
// n × D matrix has to fit in memory. The task vectors are read from the checkpoints twice in all:
//   pass 1 (reads tensors): T_i = θ_i − θ₀ into the task store; top-16-bit histogram of |T_i|;
//   pass 2 (store only):    refine |T_i| → clamp bounds lo_i, hi_i;
//   pass 3 (store only):    balance scores B_i, computed once per element, overwrite T_i in the
//                           store; histogram of B_i and its maximum;
//   pass 4 (store only):    refine B_i → drop threshold t_i;
//   merge (reads tensors):  per tensor, T from the checkpoints and B from the store → W, T̃, τ.
// The store lives in memory under `memoryBudget` bytes, else in a self-deleting temp file
// (see task-store.ts). Kernels and statistics are those of reference mode, so the output is
// bit-identical to it. Working memory besides the store and the pipeline's read buffers: a few
// chunk-sized rows, the merge's num/den rows of the current tensor, and n histograms of 64 Ki float64.

import { StreamingQuantile } from "@x/tensor-core";
import type {
  GlobalMergeContext,
  GlobalMergeSession,
  GlobalPass,
  TensorMergeInput,
  TensorVisit,
} from "../method.js";
import { checkVisit, flatLayout } from "../methods/task-matrix.js";
import { clampIndices, dropIndex, PcbError, type ResolvedPcbOptions } from "./options.js";
import { accumulateKept, accumulateWeighted, finishMerged, MagnitudeStats, ScoreStats } from "./score.js";
import { scoreChunk } from "./score-pass.js";
import { scoreStoreThreaded } from "./score-threads.js";
import { createTaskStore, STORE_CHUNK, sharedRowsOf, type TaskStore } from "./task-store.js";

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
  /** Called with the number of threads that computed the balance scores. */
  onScoreThreads?(threads: number): void;
}

export interface StreamingPcbOptions {
  /** Bytes the task store may take in memory (n·D·4); above it the store spills to a temp file. */
  readonly memoryBudget: number;
  /** Directory of the spill file (default: the OS temp directory). */
  readonly spillDir?: string;
  /** Columns per chunk of the store passes and the merge (default STORE_CHUNK; tests use tiny ones). */
  readonly chunk?: number;
  /**
   * Threads for the balance-score pass (default 1) when the store is in memory; needs the built
   * package (dist/pcb/score-worker.js), else it runs on the calling thread. Same output for any count.
   */
  readonly threads?: number;
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
  const scratch = new Scratch();
  const absSel = Array.from(
    { length: n },
    () => new StreamingQuantile((d) => clampIndices(d, o.clampQuantile), { abs: true }),
  );
  const scoreSel = Array.from({ length: n }, () => new StreamingQuantile((d) => [dropIndex(d, o.ratio)]));
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
  const threads = Math.max(1, Math.floor(storeOptions.threads ?? 1));
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
            const row = view ?? scratch.get(0, len);
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
        storeOf().forEachChunk((_start, rows) => {
          for (let i = 0; i < n; i++) absSel[i].addLow(rows[i]);
          return false;
        }, chunk);
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
        const rows = sharedRowsOf(st);
        let used = 1;
        if (rows && threads > 1) {
          used = scoreStoreThreaded(rows, threads, chunk, m, o.inter, o.nanGuard, scoreMax, scoreSel);
        } else {
          st.forEachChunk((_start, slices) => {
            scoreChunk(slices, m, o.inter, o.nanGuard, scratch.get(2, slices[0].length), scoreMax, scoreSel);
            return true;
          }, chunk);
        }
        hooks.onScoreThreads?.(used);
        for (const s of scoreSel) s.finishTop();
      },
    },
    {
      label: `${where}: drop thresholds`,
      readsTensors: false,
      visit: ignore,
      finish() {
        storeOf().forEachChunk((_start, rows) => {
          for (let i = 0; i < n; i++) scoreSel[i].addLow(rows[i]);
          return false;
        }, chunk);
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
      const ms = mag;
      const ss = score;
      const [start] = checkVisit(input, ranges, n, where);
      const st = storeOf();
      const base = input.base as Float32Array;
      const d = base.length;
      const num = new Float32Array(d); // Σ λ_i T̃_i W_i, then τ, then the output
      const den = scratch.get(3, d);
      den.fill(0);
      // Column chunks bound the scratch rows when the store is a file.
      for (let a = 0; a < d; a += chunk) {
        const len = Math.min(d, a + chunk) - a;
        const nu = num.subarray(a, a + len);
        const de = den.subarray(a, a + len);
        for (let i = 0; i < n; i++) {
          const m = input.models[i];
          const b = st.read(i, start + a, len, scratch.get(4, len));
          const li = input.modelParams[i].weight as number; // λ_i inside the sum
          // Most entries are dropped (B ≤ t_i): the fast kernel only touches the kept ones.
          if (accumulateKept(i, m, base, a, b, ms, ss, o.nanGuard, li, nu, de)) continue;
          const t = scratch.get(0, len);
          for (let k = 0; k < len; k++) t[k] = m[a + k] - base[a + k];
          accumulateWeighted(i, t, b, ms, ss, o.nanGuard, li, nu, de);
        }
      }
      return finishMerged(num, den, base, lambda); // outer λ: θ₀ + λ·τ
    },
    close() {
      store?.close();
      store = undefined;
    },
  };
}
