// PCB streaming-global's fast path: the stored bytes of every merged tensor (base + task models, BF16,
// F16 or F32) in WebAssembly memories, and three WebAssembly SIMD passes over them on all cores:
//   magnitude: the per-task clamp ranks of |T| by value windows from a sample (stats.ts);
//   scores:    the drop threshold's window, the maximum and the candidates (scores ≥ the window's
//              low end, exact, with positions) of every task; most elements are ruled out by a cheap
//              float32 bound, the others get the exact score of score.ts;
//   merge:     θ₀ + λ·Σ λ_i T̃_i W_i / max(Σ W_i, 1e-12) from the candidates, encoded (merge.ts).
// The positions are cut into slabs (layout.ts), each its own memory: resident slabs are read once,
// a streamed slab re-reads its windows in every pass and recomputes its candidates at the merge.
// Every statistic is the exact order statistic / maximum, and every output element is computed by the
// same float32 operations as reference mode, so the result is bit-identical to it whatever the slabs.
// Inputs the fast path does not reproduce exactly (nan_guard "off" with a constant row) raise
// FastPcbUnsupported before any output exists; non-finite inputs raise FastPcbNonFinite with their
// counts. The caller then takes the general streaming path (or reports the values).

import { countNonFiniteStored } from "../../engine/nonfinite.js";
import { PcbError } from "../options.js";
import type { MagnitudeStats, ScoreStats } from "../score.js";
import { KeptCandidates } from "./kept.js";
import { MAX_TASKS } from "./kernels.js";
import {
  esize,
  type FastFormat,
  fastPcbBytes,
  MAX_ARENA_BYTES,
  MERGE_RANGE_ELEMENTS,
  planSlabs,
  type SlabPlan,
} from "./layout.js";
import { FastMerge, type FastMergePiece, type FastSegment } from "./merge.js";
import { Sample } from "./sample.js";
import { Slab } from "./slab.js";
import { type FastPcbHooks, type FastPcbSpec, type FastPcbState, FastPcbUnsupported } from "./state.js";
import { computeStats } from "./stats.js";

export type { FastFormat } from "./layout.js";
export { fastPcbBytes, MERGE_RANGE_ELEMENTS } from "./layout.js";
export type { FastMergePiece, FastSegment } from "./merge.js";
export type { FastPcbHooks, FastPcbSpec, FastPcbState } from "./state.js";
export { FastPcbNonFinite, FastPcbUnsupported } from "./state.js";

const FORMATS: readonly string[] = ["BF16", "F32", "F16"];

/** Whether the kernels read (and write) dtype `d`. */
export function isFastFormat(d: string): d is FastFormat {
  return FORMATS.includes(d);
}

/** Reads stored bytes [byteOffset, byteOffset + target.byteLength) of tensor `index` of input `slot`. */
export type RangeReader = (
  slot: number,
  index: number,
  byteOffset: number,
  target: Uint8Array,
) => Promise<void>;

/** Progress of `load`: bytes read of all resident inputs. */
export type LoadProgress = (p: {
  tensor: number;
  tensorsDone: number;
  bytesDone: number;
  bytesTotal: number;
}) => void;

const DEFAULT_SAMPLE = 1 << 17;

export class FastPcb implements FastPcbState {
  readonly total: number;
  /** Flat start of every tensor. */
  readonly starts: number[];
  readonly n: number;
  readonly slabs: Slab[];
  readonly sample: Sample;
  readonly mergeRange: number;
  /** Passes run again with exact room after a window collection or candidate list overflowed. */
  reruns = 0;
  /** Per slab, the score pass's thread ranges (owners of the resident candidate lists). */
  scoreRanges: [number, number][][] = [];
  mag?: MagnitudeStats;
  score?: ScoreStats;
  /** Candidates of the streamed slab's last score pass, per window (see kept.ts). */
  readonly kept: KeptCandidates;
  private reader?: RangeReader;
  private readConcurrency = 4;
  private closed = false;

  constructor(
    readonly spec: FastPcbSpec,
    readonly hooks: FastPcbHooks = {},
  ) {
    const n = spec.numTasks;
    if (n < 1 || n > MAX_TASKS) throw new FastPcbUnsupported(`pcb fast path: ${n} tasks (1 to ${MAX_TASKS})`);
    if (spec.options.inter !== "canonical")
      throw new FastPcbUnsupported(`pcb fast path: inter '${spec.options.inter}'`);
    this.n = n;
    this.starts = [];
    let total = 0;
    for (const t of spec.tensors) {
      this.starts.push(total);
      total += t.numel;
    }
    if (total === 0) throw new PcbError("pcb streaming-global: no tensor elements to merge");
    if (total >= 2 ** 32) throw new FastPcbUnsupported("pcb fast path: more than 2^32 − 1 parameters");
    this.total = total;
    this.mergeRange = Math.max(1, Math.min(spec.mergeRange ?? MERGE_RANGE_ELEMENTS, total));
    const { plans, budget } = this.planSlabs();
    this.slabs = plans.map((p) => new Slab(p, n, spec.format, spec.threads));
    this.kept = new KeptCandidates(Math.max(0, budget - plans.reduce((sum, p) => sum + p.bytes, 0)));
    const streamedFrom = plans.find((p) => !p.resident)?.p0 ?? total;
    this.sample = new Sample(
      this.slabs[0]!,
      total,
      spec.format,
      spec.sampleSize ?? DEFAULT_SAMPLE,
      this.starts,
      streamedFrom,
    );
  }

  private planSlabs(): { plans: SlabPlan[]; budget: number } {
    const { spec } = this;
    const sizes = spec.tensors.map((t) => t.numel);
    const budget =
      spec.memoryBudget ??
      fastPcbBytes(this.total, this.n, spec.format, spec.options.ratio, 0, this.mergeRange);
    const plans = planSlabs(sizes, {
      numTasks: this.n,
      format: spec.format,
      ratio: spec.options.ratio,
      budget,
      mergeRange: this.mergeRange,
      slabElements: spec.slabElements,
      windowElements: spec.windowElements,
      residentFirst: spec.residentFirst,
    });
    if (!plans)
      throw new FastPcbUnsupported("pcb fast path: memory_budget is below its smallest working set");
    for (const p of plans) {
      if (p.bytes > MAX_ARENA_BYTES)
        throw new FastPcbUnsupported("pcb fast path: a slab does not fit a 4 GiB WebAssembly memory");
    }
    return { plans, budget };
  }

  get threadCount(): number {
    return Math.max(...this.slabs.map((s) => s.params.length));
  }

  /** Whether a slab re-reads its windows in every pass. */
  get streams(): boolean {
    return this.slabs.some((s) => !s.resident);
  }

  /** The tensors overlapping positions [a, b), with the overlap: [tensor, from, to). */
  *parts(a: number, b: number): Generator<[number, number, number]> {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= a) lo = mid;
      else hi = mid - 1;
    }
    for (let t = lo; t < this.starts.length && this.starts[t]! < b; t++) {
      const s = this.starts[t]!;
      const e = s + this.spec.tensors[t]!.numel;
      if (e > a) yield [t, Math.max(a, s), Math.min(b, e)];
    }
  }

  /** Fills slab `slab`'s buffers with positions [a, b) of every input (ranged reads). */
  async loadWindow(
    slab: Slab,
    a: number,
    b: number,
    onBytes?: (bytes: number, tensor: number) => void,
  ): Promise<void> {
    if (slab.holds(a, b)) return;
    if (b - a > slab.plan.window)
      throw new PcbError(
        `pcb fast path: a window of ${b - a} positions exceeds the slab's ${slab.plan.window}`,
      );
    const read = this.reader;
    if (!read) throw new PcbError("pcb fast path: no reader for a streamed window (call load first)");
    const es = esize(this.spec.format);
    slab.setWindow(a, b);
    const jobs: { slot: number; t: number; from: number; to: number }[] = [];
    for (const [t, from, to] of this.parts(a, b))
      for (let slot = 0; slot <= this.n; slot++) jobs.push({ slot, t, from, to });
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < jobs.length; i = next++) {
        const { slot, t, from, to } = jobs[i]!;
        await read(slot, t, (from - this.starts[t]!) * es, slab.view(slot, from, to - from));
        onBytes?.((to - from) * es, t);
      }
    };
    try {
      await Promise.all(
        Array.from({ length: Math.max(1, Math.min(this.readConcurrency, jobs.length)) }, lane),
      );
    } catch (e) {
      slab.setWindow(0, 0);
      throw e;
    }
  }

  /**
   * Reads every resident slab's inputs (once) and the sample (gathered from resident memory, or by
   * ranged reads of short runs in a streamed slab). `read` also serves the streamed slab's windows later.
   */
  async load(read: RangeReader, concurrency = 4, onProgress?: LoadProgress): Promise<void> {
    this.reader = read;
    this.readConcurrency = Math.max(1, Math.floor(concurrency));
    const es = esize(this.spec.format);
    const resident = this.slabs.filter((s) => s.resident);
    const bytesTotal = resident.reduce((s, slab) => s + (slab.p1 - slab.p0) * (this.n + 1) * es, 0);
    let bytesDone = 0;
    const left = this.spec.tensors.map(() => 0);
    for (const slab of resident) for (const [t] of this.parts(slab.p0, slab.p1)) left[t]! += this.n + 1;
    let tensorsDone = 0;
    for (const slab of resident) {
      await this.loadWindow(slab, slab.p0, slab.p1, (bytes, t) => {
        bytesDone += bytes;
        if (--left[t]! === 0) tensorsDone++;
        onProgress?.({ tensor: t, tensorsDone, bytesDone, bytesTotal });
      });
      this.sample.gatherFrom(slab, slab.p0, slab.p1);
    }
    if (this.streams) {
      await this.sample.readStreamed(async (slot, k, target) => {
        const t = [...this.parts(k, k + 1)][0]![0];
        await read(slot, t, (k - this.starts[t]!) * es, target);
      }, this.readConcurrency);
    }
  }

  /** Calls `fn` on every window of every slab, in position order, loading streamed windows first. */
  async forEachWindow(fn: (slab: Slab, a: number, b: number) => void | Promise<void>): Promise<void> {
    for (const slab of this.slabs) {
      for (const [a, b] of slab.windows()) {
        await this.loadWindow(slab, a, b);
        await fn(slab, a, b);
      }
    }
  }

  /**
   * Where the inputs hold NaN or ±Inf: per input slot and tensor, how many (every window read once
   * more for a streamed slab). Empty when every input is finite.
   */
  async locateNonFinite(): Promise<{ slot: number; index: number; count: number }[]> {
    const counts = new Map<string, { slot: number; index: number; count: number }>();
    await this.forEachWindow((slab, a, b) => {
      for (const [t, from, to] of this.parts(a, b)) {
        for (let slot = 0; slot <= this.n; slot++) {
          const c = countNonFiniteStored(this.spec.format, slab.view(slot, from, to - from));
          if (c === 0) continue;
          const key = `${slot}:${t}`;
          const e = counts.get(key) ?? { slot, index: t, count: 0 };
          e.count += c;
          counts.set(key, e);
        }
      }
    });
    return [...counts.values()];
  }

  /**
   * The global statistics (clamp bounds, drop thresholds, maxima). Throws PcbError for a constant row
   * under nan_guard "error" (as the general path), FastPcbUnsupported for what it does not reproduce.
   */
  async computeStats(): Promise<{ magnitude: MagnitudeStats; score: ScoreStats }> {
    if (!this.sample.complete) throw new PcbError("pcb fast path: computeStats before load");
    const stats = await computeStats(this);
    this.mag = stats.magnitude;
    this.score = stats.score;
    return stats;
  }

  /** Starts a merge: per-tensor λ in `segments` (aligned with FastPcbSpec.tensors), output dtype. */
  beginMerge(segments: readonly FastSegment[], out: FastFormat): FastMerge {
    return new FastMerge(this, segments, out);
  }

  /**
   * Merges every tensor and hands each tensor's encoded output to `take` (in order; the bytes are
   * assembled from the merge's pieces, a copy).
   */
  async merge(
    segments: readonly FastSegment[],
    out: FastFormat,
    take: (index: number, bytes: Uint8Array) => void,
  ): Promise<void> {
    const merge = this.beginMerge(segments, out);
    const parts: Uint8Array[] = [];
    for (let pieces = await merge.next(); pieces; pieces = await merge.next()) {
      for (const p of pieces) {
        parts.push(p.bytes.slice());
        if (!p.last) continue;
        const whole = new Uint8Array(parts.reduce((s, b) => s + b.length, 0));
        let o = 0;
        for (const b of parts) {
          whole.set(b, o);
          o += b.length;
        }
        parts.length = 0;
        take(p.index, whole);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slabs.map((s) => s.close()));
  }
}

export type { FastMerge, FastMergePiece as MergePiece };
