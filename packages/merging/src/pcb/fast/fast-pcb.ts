// PCB streaming-global's fast path: the stored bytes of every merged tensor (base + task models, BF16,
// F16 or F32) in one shared WebAssembly memory, and three WebAssembly SIMD passes over them on all cores:
//   magnitude: the per-task clamp ranks of |T| by value windows from a sample (windows.ts);
//   scores:    the drop threshold's window, the maximum and the candidates (scores ≥ the window's
//              low end, exact, with positions) of every task; most elements are ruled out by a cheap
//              float32 bound, the others get the exact score of score.ts;
//   merge:     θ₀ + λ·Σ λ_i T̃_i W_i / max(Σ W_i, 1e-12) from the candidates, encoded, per tensor.
// Every statistic is the exact order statistic / maximum, and every output element is computed by the
// same float32 operations as reference mode, so the result is bit-identical to it. Inputs the fast
// path does not reproduce exactly (non-finite values, nan_guard "off" with a constant row) raise
// FastPcbUnsupported before any output exists; the caller then takes the general streaming path.

import { bf16ToF32, f16ToF32, StreamingQuantile } from "@x/tensor-core";
import { FastGlobalUnsupported } from "../../method.js";
import { expTable } from "../exp32.js";
import { clampIndices, dropIndex, PcbError, type ResolvedPcbOptions } from "../options.js";
import { MagnitudeStats, ScoreStats } from "../score.js";
import {
  ECACHE_ENTRIES,
  instantiateKernels,
  type KernelLayout,
  MAX_TASKS,
  type ParamField,
  type PcbKernels,
  readLayout,
} from "./kernels.js";
import { MAX_MEMORY_BYTES, SharedArena } from "./memory.js";
import { type KernelJob, KernelThreads } from "./threads.js";
import {
  isPoint,
  lowerBound,
  type Resolution,
  resolveRank,
  roomFor,
  type ValueWindow,
  windowsFromSample,
} from "./windows.js";

export type FastFormat = "BF16" | "F32" | "F16";
/** The kernels' codes of the formats (Params.fmt and Params.outFmt in pcb.c). */
const FORMAT_CODE: Record<FastFormat, number> = { BF16: 0, F32: 1, F16: 2 };

/** Whether the kernels read (and write) dtype `d`. */
export function isFastFormat(d: string): d is FastFormat {
  return Object.hasOwn(FORMAT_CODE, d);
}

/** Inputs outside what the fast path reproduces exactly; the caller falls back to the general path. */
export class FastPcbUnsupported extends FastGlobalUnsupported {
  override name = "FastPcbUnsupported";
}

export interface FastPcbSpec {
  /** The merged tensors in flat (reference key) order. */
  readonly tensors: readonly { readonly name: string; readonly numel: number }[];
  readonly numTasks: number;
  /** Stored dtype of every input tensor. */
  readonly format: FastFormat;
  readonly options: ResolvedPcbOptions;
  readonly threads: number;
  /** Sampled positions for the windows (default 2^17). */
  readonly sampleSize?: number;
  /** Window half-width in standard deviations of the sample rank (default 6); tests shrink it to force misses. */
  readonly windowWidth?: number;
  /** Elements per merge range, i.e. per each of the two output buffers (default MERGE_RANGE_ELEMENTS). */
  readonly mergeRange?: number;
  /** Scales the room of window collections and candidate lists (default 1); tests shrink it to force overflows. */
  readonly roomScale?: number;
}

export interface FastPcbHooks {
  /** How each statistic was found: first window, a widened one, or the exact sweep. */
  onPaths?(paths: { magnitude: string[]; threshold: string[] }): void;
}

/** Per tensor: the outer λ and the per-task λ_i. */
export interface FastSegment {
  readonly lambda: number;
  readonly weights: readonly number[];
}

const DEFAULT_SAMPLE = 1 << 17;
/** Elements of one merge range (output buffer) unless a single tensor is larger. */
export const MERGE_RANGE_ELEMENTS = 1 << 22;
const esize = (f: FastFormat) => (f === "F32" ? 4 : 2);
const WIN = { a: 0, b: 4, sureBelow: 8, below: 12, le: 16, coll: 20, cap: 24, fill: 28 } as const;
/**
 * The score kernel's proof bound K for a window starting at a (see Win.sureBelow in pcb.c), in units of
 * 2^-23: c·h² + L(|T|) + L(|S|) < K implies B < a, with 2 · 0.0097 for the errors of the kernel's two
 * logarithms L (each offset by 127) and 1.1e-3 for the float32 roundings of c·h² (relative ≤ 1e-6 of at
 * most 23), of the kernel's sums (≤ 2^-15 in these units) and of B itself. −∞ when a ≤ 0.
 */
export function sureBelowBound(a: number): number {
  if (!(a > 0)) return Number.NEGATIVE_INFINITY;
  const k = (Math.log2(a) + 254 - 2 * 0.0097 - 1.1e-3) * 2 ** 23;
  const f = Math.fround(k);
  return f > k ? f - Math.abs(f) * 2 ** -23 : f;
}

/** Bytes of shared memory the fast path needs besides candidates and windows (inputs + output). */
export function fastPcbCoreBytes(
  total: number,
  numTasks: number,
  format: FastFormat,
  range = MERGE_RANGE_ELEMENTS,
): number {
  return (numTasks + 1) * (total + 8) * esize(format) + 2 * (Math.min(total, range) + 8) * 4;
}

/**
 * Estimated total bytes: inputs, the two output buffers (a merge range or the largest tensor each),
 * candidate lists (8 bytes per candidate, room for 1.35 × the kept share), window collections (room
 * for 1.5 × ≈ 3 % of the task elements at 4 bytes) and small tables.
 */
export function fastPcbBytes(
  total: number,
  numTasks: number,
  format: FastFormat,
  ratio: number,
  largest = 0,
): number {
  return (
    fastPcbCoreBytes(total, numTasks, format, Math.max(MERGE_RANGE_ELEMENTS, largest)) +
    Math.ceil(numTasks * total * 8 * Math.min(1, ratio * 1.35 + 0.01)) +
    Math.ceil(numTasks * total * 0.2) +
    (64 << 20)
  );
}

export class FastPcb {
  readonly total: number;
  readonly starts: number[];
  private readonly n: number;
  private readonly arena: SharedArena;
  private readonly kernels: PcbKernels;
  private readonly layout: KernelLayout;
  private readonly threads: KernelThreads;
  private readonly inputs: number[];
  private readonly params: number[];
  private readonly ranges: [number, number][];
  /** The score pass's thread ranges (owners of the candidate lists); set by scoreStats. */
  private scoreRanges: [number, number][] = [];
  private readonly scratch: number[];
  private readonly ecache: number[] = [];
  private readonly expOff: number;
  private readonly expLen: number;
  private readonly shufOff: number;
  /** The two output buffers merge ranges alternate between (byte offsets), elements each, bytes per element. */
  private outBufs: number[] = [];
  private outCap = 0;
  private outBytes = 0;
  /** Per tensor of the current merge: its output buffer and the first position of its range. */
  private outAt: { buf: number; start: number }[] = [];
  private rangeNo = 0;
  private mag?: MagnitudeStats;
  private score?: ScoreStats;
  private closed = false;
  /** Passes run again with exact room after a window collection or candidate list overflowed. */
  reruns = 0;

  constructor(
    readonly spec: FastPcbSpec,
    private readonly hooks: FastPcbHooks = {},
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
    const largest = Math.max(...spec.tensors.map((t) => t.numel));
    if (fastPcbBytes(total, n, spec.format, spec.options.ratio, largest) > MAX_MEMORY_BYTES)
      throw new FastPcbUnsupported("pcb fast path: the model does not fit a 4 GiB WebAssembly memory");
    this.total = total;
    const es = esize(spec.format);
    this.arena = new SharedArena(fastPcbCoreBytes(total, n, spec.format) + (8 << 20));
    const threads = Math.max(1, Math.min(16, Math.floor(spec.threads), Math.ceil(total / 65536)));
    this.kernels = instantiateKernels(this.arena.memory, this.arena.stackTop(0));
    const tmp = this.arena.alloc(256);
    this.layout = readLayout(this.kernels, this.arena.memory, tmp);
    this.threads = new KernelThreads(this.kernels, this.arena, threads, {
      k0: this.layout.field.k0,
      k1: this.layout.field.k1,
    });
    const used = this.threads.size;
    // Swizzle indices that pack the 32-bit lanes selected by a 4-bit mask to the front.
    const shuf = this.arena.alloc(256);
    const sb = this.arena.u8(shuf, 256);
    sb.fill(0x80);
    for (let m = 0; m < 16; m++) {
      let o = 0;
      for (let j = 0; j < 4; j++) {
        if (!((m >> j) & 1)) continue;
        for (let b = 0; b < 4; b++) sb[16 * m + 4 * o + b] = 4 * j + b;
        o++;
      }
    }
    this.shufOff = shuf;
    const table = expTable(n);
    this.expLen = table.length;
    this.expOff = this.arena.alloc(table.length * 8);
    this.arena.f64(this.expOff, table.length).set(table);
    this.params = [];
    this.scratch = [];
    this.ranges = [];
    for (let t = 0; t < used; t++) {
      this.params.push(this.arena.alloc(this.layout.paramsSize));
      this.scratch.push(this.arena.alloc(this.kernels.scratch_bytes(n)));
      this.ecache.push(this.arena.alloc(8 * ECACHE_ENTRIES * n));
      const k0 = t === 0 ? 0 : Math.floor((total * t) / used / 4) * 4;
      const k1 = t === used - 1 ? total : Math.floor((total * (t + 1)) / used / 4) * 4;
      this.ranges.push([k0, k1]);
    }
    // Inputs padded to whole SIMD groups (the kernels read up to 3 elements past a range's end).
    this.inputs = Array.from({ length: n + 1 }, () => this.arena.alloc((total + 8) * es));
    this.reads = new Uint8Array(spec.tensors.length);
  }

  /** Where tensor `index`'s stored bytes of input `slot` (0 = base, 1 + i = task i) go. */
  inputView(slot: number, index: number): Uint8Array {
    const es = esize(this.spec.format);
    return this.arena.u8(this.inputs[slot]! + this.starts[index]! * es, this.spec.tensors[index]!.numel * es);
  }

  private jobs(ranges: readonly [number, number][] = this.ranges): KernelJob[] {
    return this.params.map((params, t) => ({ params, k0: ranges[t]![0], k1: ranges[t]![1] }));
  }

  get threadCount(): number {
    return this.params.length;
  }

  // -- parameter blocks ------------------------------------------------------------------------

  private setU32(p: number, f: ParamField, v: number, i = 0): void {
    this.arena.view().setUint32(p + this.layout.field[f] + 4 * i, v, true);
  }
  private setF32(p: number, f: ParamField, v: number, i = 0): void {
    this.arena.view().setFloat32(p + this.layout.field[f] + 4 * i, v, true);
  }
  private getU32(p: number, f: ParamField, i = 0): number {
    return this.arena.view().getUint32(p + this.layout.field[f] + 4 * i, true);
  }
  private getF32(p: number, f: ParamField, i = 0): number {
    return this.arena.view().getFloat32(p + this.layout.field[f] + 4 * i, true);
  }
  private winAddr(p: number, w: number): number {
    return p + this.layout.field.win + w * this.layout.winSize;
  }

  /** Common fields: inputs, range, scratch, and (once known) the magnitude statistics. */
  private base(p: number, inputs: readonly number[], k0: number, k1: number, scratch: number): void {
    const dv = this.arena.view();
    this.setU32(p, "fmt", FORMAT_CODE[this.spec.format]);
    this.setU32(p, "n", this.n);
    this.setU32(p, "k0", k0);
    this.setU32(p, "k1", k1);
    inputs.forEach((a, s) => {
      this.setU32(p, "in", a, s);
    });
    this.setU32(p, "scratch", scratch);
    this.setU32(p, "bad", 0);
    this.setU32(p, "absMaxBits", 0);
    this.setF32(p, "nf", this.n);
    this.setU32(p, "expTab", this.expOff);
    this.setU32(p, "shuf", this.shufOff);
    const t = this.params.indexOf(p);
    if (t >= 0) this.setU32(p, "ecache", this.ecache[t]!);
    dv.setFloat64(p + this.layout.field.expLen, this.expLen, true);
    const m = this.mag;
    if (!m) return;
    const zeroRangeOn = this.spec.options.nanGuard === "on";
    for (let i = 0; i < this.n; i++) {
      this.setF32(p, "lo", m.lo[i]!, i);
      this.setF32(p, "hi", m.hi[i]!, i);
      this.setF32(p, "mn", m.min[i]!, i);
      this.setF32(p, "rg", m.range[i]!, i);
      this.setU32(p, "zr", zeroRangeOn && m.range[i] === 0 ? 1 : 0, i);
    }
  }

  private setWin(
    p: number,
    w: number,
    win: { a: number; b: number; sureBelow?: number },
    coll: number,
    cap: number,
  ): void {
    const dv = this.arena.view();
    const at = this.winAddr(p, w);
    dv.setFloat32(at + WIN.a, win.a, true);
    dv.setFloat32(at + WIN.b, win.b, true);
    dv.setFloat32(at + WIN.sureBelow, win.sureBelow ?? Number.NEGATIVE_INFINITY, true);
    dv.setUint32(at + WIN.below, 0, true);
    dv.setUint32(at + WIN.le, 0, true);
    dv.setUint32(at + WIN.coll, coll, true);
    dv.setUint32(at + WIN.cap, cap, true);
    dv.setUint32(at + WIN.fill, 0, true);
  }

  /**
   * A window's counts after a pass: below a, inside [a, b], and the collected values (undefined when
   * the collection overflowed; empty for a point window, which collects nothing).
   */
  private readWin(
    p: number,
    w: number,
  ): { below: number; inWin: number; fill: number; values?: Float32Array } {
    const dv = this.arena.view();
    const at = this.winAddr(p, w);
    const below = dv.getUint32(at + WIN.below, true);
    const inWin = dv.getUint32(at + WIN.le, true) - below;
    const cap = dv.getUint32(at + WIN.cap, true);
    const fill = dv.getUint32(at + WIN.fill, true);
    const coll = dv.getUint32(at + WIN.coll, true);
    const values =
      cap === 0 ? new Float32Array(0) : fill <= cap ? this.arena.f32(coll, fill).slice() : undefined;
    return { below, inWin, fill, values };
  }

  /** Room for the sampled values in [a, b] of each of `ranges` (0 for a point window); see roomFor. */
  private roomsFor(
    values: Float32Array,
    a: number,
    b: number,
    point: boolean,
    ranges: readonly [number, number][] = this.ranges,
    factor?: number,
  ): number[] {
    const idx = this.sampleIndices(ranges);
    return ranges.map(([k0, k1], t) => {
      if (point) return 0;
      const [j0, j1] = idx[t]!;
      let c = 0;
      for (let j = j0; j < j1; j++) if (values[j]! >= a && values[j]! <= b) c++;
      return Math.ceil(roomFor(j1 > j0 ? c / (j1 - j0) : 1, k1 - k0, factor) * (this.spec.roomScale ?? 1));
    });
  }

  /** Buffers reused across attempts, grown (by a fresh allocation) when too small. */
  private readonly buffers = new Map<string, { off: number; bytes: number }>();
  private buffer(key: string, bytes: number): number {
    const b = this.buffers.get(key);
    if (b && b.bytes >= bytes) return b.off;
    const off = this.arena.alloc(Math.max(bytes, 16));
    this.buffers.set(key, { off, bytes: Math.max(bytes, 16) });
    return off;
  }

  // -- sample ------------------------------------------------------------------------------------

  private sample?: { m: number; slots: number[]; decoded: Float32Array[]; pos: Uint32Array };
  /** The sampled positions (sorted), where their stored inputs go, and which tensors are gathered. */
  private sampling?: { m: number; pos: Uint32Array; slots: number[]; done: Uint8Array };
  /** Inputs read so far per tensor (see inputRead). */
  private readonly reads: Uint8Array;

  private samplePlan() {
    if (this.sampling) return this.sampling;
    const D = this.total;
    const m = Math.min(D, this.spec.sampleSize ?? DEFAULT_SAMPLE);
    const pos = new Uint32Array(m);
    let x = (0x9e3779b9 ^ D) >>> 0 || 1;
    for (let j = 0; j < m; j++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      pos[j] = m === D ? j : Math.floor((x / 4294967296) * D);
    }
    pos.sort();
    const es = esize(this.spec.format);
    const slots = Array.from({ length: this.n + 1 }, () => this.arena.alloc((m + 8) * es));
    this.sampling = { m, pos, slots, done: new Uint8Array(this.spec.tensors.length) };
    return this.sampling;
  }

  /**
   * Input `slot` of tensor `index` is in its view. Once all of a tensor's inputs are, its sampled
   * positions are gathered (while the other tensors are still being read, instead of afterwards).
   */
  inputRead(slot: number, index: number): void {
    if (slot < 0 || slot > this.n) throw new PcbError(`pcb fast path: no input slot ${slot}`);
    if (++this.reads[index]! === this.n + 1) this.sampleTensor(index);
  }

  /** Gathers the stored inputs of tensor `index`'s sampled positions (once). */
  private sampleTensor(index: number): void {
    const { pos, slots, done } = this.samplePlan();
    if (done[index]) return;
    done[index] = 1;
    const start = this.starts[index]!;
    const j0 = lowerBound(pos, start);
    const j1 = lowerBound(pos, start + this.spec.tensors[index]!.numel);
    if (j0 === j1) return;
    const D = this.total;
    for (let s = 0; s <= this.n; s++) {
      if (esize(this.spec.format) === 2) {
        const src = this.arena.u16(this.inputs[s]!, D);
        const dst = this.arena.u16(slots[s]!, pos.length);
        for (let j = j0; j < j1; j++) dst[j] = src[pos[j]!]!;
      } else {
        const src = this.arena.f32(this.inputs[s]!, D);
        const dst = this.arena.f32(slots[s]!, pos.length);
        for (let j = j0; j < j1; j++) dst[j] = src[pos[j]!]!;
      }
    }
  }

  /** Sampled positions' inputs, as stored (for the score kernel) and decoded (for |T|). */
  private takeSample() {
    if (this.sample) return this.sample;
    const { m, pos, slots } = this.samplePlan();
    for (let t = 0; t < this.spec.tensors.length; t++) this.sampleTensor(t);
    const decoded = slots.map((off) => this.decode(off, 0, m, new Float32Array(m)));
    this.sample = { m, slots, decoded, pos };
    return this.sample;
  }

  /** The sample indices inside each of `ranges` (the sampled positions are sorted). */
  private sampleIndices(ranges: readonly [number, number][]): [number, number][] {
    const { pos } = this.takeSample();
    return ranges.map(([k0, k1]) => [lowerBound(pos, k0), lowerBound(pos, k1)]);
  }

  /**
   * Score-pass ranges of equal expected cost: a position costs about 1 per task to classify plus 7 per
   * task whose score may lie at or above the window (exact scoring), as seen in the sample. Equal
   * position counts left one thread with twice the work where task vectors concentrate in some tensors.
   */
  private balancedRanges(samples: readonly Float32Array[], lows: readonly number[]): [number, number][] {
    const { pos, m } = this.takeSample();
    const T = this.params.length;
    const cum = new Float64Array(m + 1);
    for (let j = 0; j < m; j++) {
      let w = this.n;
      for (let i = 0; i < this.n; i++) if (samples[i]![j]! >= lows[i]!) w += 7;
      cum[j + 1] = cum[j]! + w;
    }
    const bounds = [0];
    for (let t = 1; t < T; t++) {
      const j = Math.min(m - 1, lowerBound(cum, (cum[m]! * t) / T));
      const b = Math.floor(pos[j]! / 4) * 4;
      bounds.push(Math.max(bounds[t - 1]!, Math.min(b, this.total)));
    }
    bounds.push(this.total);
    return bounds.slice(0, T).map((k0, t) => [k0, bounds[t + 1]!]);
  }

  // -- magnitude statistics ----------------------------------------------------------------------

  /** Fills every thread's parameter block (`setup` adds the pass's own fields) and runs `kernel` on all. */
  private async runPass(
    kernel: "mag_pass" | "score_pass",
    setup: (p: number, t: number) => void,
    ranges: readonly [number, number][] = this.ranges,
  ): Promise<void> {
    this.params.forEach((p, t) => {
      const [k0, k1] = ranges[t]!;
      this.base(p, this.inputs, k0, k1, this.scratch[t]!);
      setup(p, t);
    });
    await this.threads.run(kernel, this.jobs(ranges));
  }

  /**
   * Window `w`'s element of rank `r` from every thread's counts and collection; `caps[t]` becomes the
   * exact room of a thread whose collection overflowed (for the rerun).
   */
  private resolveWindow(w: number, win: { a: number; b: number }, r: number, caps: number[]): Resolution {
    let below = 0;
    let inWin = 0;
    const colls: (Float32Array | undefined)[] = [];
    this.params.forEach((p, t) => {
      const x = this.readWin(p, w);
      below += x.below;
      inWin += x.inWin;
      if (!x.values) caps[t] = x.fill;
      colls.push(x.values);
    });
    return resolveRank(r, win, below, inWin, colls);
  }

  private async magnitudePass(wins: ValueWindow[][], caps: number[][][]): Promise<Resolution[][]> {
    await this.runPass("mag_pass", (p, t) => {
      for (let i = 0; i < this.n; i++) {
        for (let j = 0; j < 2; j++) {
          const cap = caps[i]![j]![t]!;
          this.setWin(p, 2 * i + j, wins[i]![j]!, this.buffer(`mag-${t}-${i}-${j}`, cap * 4), cap);
        }
      }
    });
    for (const p of this.params) {
      if (this.getU32(p, "bad") > 0) {
        throw new FastPcbUnsupported("pcb fast path: a task vector has non-finite values");
      }
    }
    const ranks = clampIndices(this.total, this.spec.options.clampQuantile);
    return wins.map((ws, i) => ws.map((w, j) => this.resolveWindow(2 * i + j, w, ranks[j]!, caps[i]![j]!)));
  }

  private async magnitudeStats(): Promise<MagnitudeStats> {
    const { n, total: D } = this;
    const s = this.takeSample();
    const ranks = clampIndices(D, this.spec.options.clampQuantile);
    const abs = Array.from({ length: n }, (_, i) => {
      const x0 = s.decoded[0]!;
      const xi = s.decoded[1 + i]!;
      const a = new Float32Array(s.m);
      for (let j = 0; j < s.m; j++) a[j] = Math.abs(xi[j]! - x0[j]!);
      return a;
    });
    const lo = new Float32Array(n);
    const hi = new Float32Array(n);
    const done: boolean[][] = Array.from({ length: n }, () => [false, false]);
    const paths: string[] = Array.from({ length: 2 * n }, () => "sweep");
    const width = this.spec.windowWidth ?? 6;
    for (const widen of [1, 8]) {
      const wins = abs.map((a) =>
        windowsFromSample(a, ranks, D, width * widen).map((w) =>
          // |T| ≥ 0: the bit-pattern compares of the kernel need a ≥ +0.
          w.a === Number.NEGATIVE_INFINITY || w.a < 0 ? { ...w, a: 0 } : w,
        ),
      );
      const caps = wins.map((ws, i) => ws.map((w) => this.roomsFor(abs[i]!, w.a, w.b, isPoint(w))));
      let res = await this.magnitudePass(wins, caps);
      if (res.some((r) => r.some((x) => x.kind === "overflow"))) {
        this.reruns++;
        res = await this.magnitudePass(wins, caps);
      }
      res.forEach((rr, i) => {
        rr.forEach((r, j) => {
          if (done[i]![j] || r.kind !== "found") return;
          (j === 0 ? lo : hi)[i] = r.value;
          done[i]![j] = true;
          paths[2 * i + j] = widen === 1 ? "window" : "widened";
        });
      });
      if (done.every((d) => d[0] && d[1])) break;
    }
    for (let i = 0; i < n; i++) {
      if (done[i]![0] && done[i]![1]) continue;
      const [a, b] = this.magnitudeSweep(i);
      lo[i] = a;
      hi[i] = b;
    }
    this.magPaths = paths;
    return new MagnitudeStats(lo, hi, this.spec.options.nanGuard);
  }

  private magPaths: string[] = [];

  /** Exact clamp bounds of task i by histogram refinement over decoded rows (when the windows missed). */
  private magnitudeSweep(i: number): [number, number] {
    const q = this.spec.options.clampQuantile;
    const sel = new StreamingQuantile((d) => clampIndices(d, q), { abs: true });
    const feed = (add: (row: Float32Array) => void) => this.forTaskRows(i, add);
    feed((r) => sel.addTop(r));
    sel.finishTop();
    feed((r) => sel.addLow(r));
    const [a, b] = sel.finishLow();
    return [a!, b!];
  }

  /** T_i = fround(θ_i − θ₀) in chunks of 64 Ki positions. */
  private forTaskRows(i: number, add: (row: Float32Array) => void): void {
    const D = this.total;
    const chunk = 1 << 16;
    const row = new Float32Array(chunk);
    const x0 = new Float32Array(chunk);
    for (let k = 0; k < D; k += chunk) {
      const len = Math.min(chunk, D - k);
      this.decode(this.inputs[0]!, k, len, x0);
      this.decode(this.inputs[1 + i]!, k, len, row);
      for (let j = 0; j < len; j++) row[j] = row[j]! - x0[j]!;
      add(row.subarray(0, len));
    }
  }

  /** Elements [k, k + len) of the stored array at byte offset `at`, decoded into the front of `out`. */
  private decode(at: number, k: number, len: number, out: Float32Array): Float32Array {
    const dst = out.subarray(0, len);
    if (this.spec.format === "BF16") return bf16ToF32(this.arena.u16(at + 2 * k, len), dst);
    if (this.spec.format === "F16") return f16ToF32(this.arena.u16(at + 2 * k, len), dst);
    dst.set(this.arena.f32(at + 4 * k, len));
    return dst;
  }

  // -- score statistics --------------------------------------------------------------------------

  /** Exact scores of every task at positions [k0, k1) of `inputs` (n rows of k1 − k0). */
  private emitScores(inputs: readonly number[], k0: number, k1: number): Float32Array[] {
    const p = this.params[0]!;
    this.base(p, inputs, k0, k1, this.scratch[0]!);
    const len = k1 - k0;
    const out = this.buffer("emit", this.n * len * 4);
    this.kernels.score_emit(p, out);
    return Array.from({ length: this.n }, (_, i) => this.arena.f32(out + 4 * i * len, len).slice());
  }

  private async scorePass(
    wins: (ValueWindow & { sureBelow: number })[],
    winCaps: number[][],
    candCaps: number[][],
  ): Promise<{ res: Resolution[]; candOverflow: boolean; bad: boolean }> {
    await this.runPass(
      "score_pass",
      (p, t) => {
        for (let i = 0; i < this.n; i++) {
          const cap = winCaps[i]![t]!;
          this.setWin(p, i, wins[i]!, this.buffer(`win-${t}-${i}`, cap * 4), cap);
          const cc = candCaps[i]![t]!;
          // 4 spare slots: the kernel stores whole vectors of packed candidates.
          this.setU32(p, "candPos", this.buffer(`pos-${t}-${i}`, (cc + 4) * 4), i);
          this.setU32(p, "candVal", this.buffer(`val-${t}-${i}`, (cc + 4) * 4), i);
          this.setU32(p, "candCap", cc, i);
          this.setU32(p, "candCount", 0, i);
          this.setF32(p, "maxB", Number.NEGATIVE_INFINITY, i);
        }
      },
      this.scoreRanges,
    );
    const bad = this.params.some((p) => this.getU32(p, "bad") > 0);
    let candOverflow = false;
    const k = dropIndex(this.total, this.spec.options.ratio);
    const res = wins.map((w, i) => {
      this.params.forEach((p, t) => {
        const count = this.getU32(p, "candCount", i);
        if (count > candCaps[i]![t]!) candOverflow = true;
        candCaps[i]![t] = Math.max(candCaps[i]![t]!, count);
      });
      return this.resolveWindow(i, w, k, winCaps[i]!);
    });
    return { res, candOverflow, bad };
  }

  private async scoreStats(): Promise<ScoreStats> {
    const { n, total: D } = this;
    const s = this.takeSample();
    const samples = this.emitScores(s.slots, 0, s.m);
    if (samples.some((row) => row.some((v) => Number.isNaN(v))))
      throw new FastPcbUnsupported("pcb fast path: NaN balance scores");
    const k = dropIndex(D, this.spec.options.ratio);
    const thr = new Float32Array(n);
    const found: boolean[] = new Array(n).fill(false);
    const paths: string[] = new Array(n).fill("sweep");
    const width = this.spec.windowWidth ?? 6;
    const caps = (wins: (ValueWindow & { sureBelow: number })[]) => ({
      win: wins.map((w, i) => this.roomsFor(samples[i]!, w.a, w.b, isPoint(w), this.scoreRanges)),
      cand: wins.map((w, i) =>
        this.roomsFor(samples[i]!, w.a, Number.POSITIVE_INFINITY, false, this.scoreRanges, 1.25).map((r) =>
          Math.ceil((r * 1.02 + 4096) * (this.spec.roomScale ?? 1)),
        ),
      ),
    });
    const windowsAt = (widen: number) =>
      samples.map((row) => {
        const w = windowsFromSample(row, [k], D, width * widen)[0]!;
        return { ...w, sureBelow: sureBelowBound(w.a) };
      });
    const first = windowsAt(1);
    // The score pass's thread ranges (and so the owners of the candidates), balanced by the sample.
    this.scoreRanges = this.balancedRanges(
      samples,
      first.map((w) => w.a),
    );
    for (const widen of [1, 8]) {
      const wins = widen === 1 ? first : windowsAt(widen);
      const c = caps(wins);
      let out = await this.scorePass(wins, c.win, c.cand);
      if (out.candOverflow || out.res.some((r) => r.kind === "overflow")) {
        this.reruns++;
        out = await this.scorePass(wins, c.win, c.cand);
      }
      if (out.bad) throw new FastPcbUnsupported("pcb fast path: NaN balance scores");
      // The candidates of this pass must hold every kept score, so all tasks must resolve in one pass.
      if (out.res.every((r) => r.kind === "found")) {
        out.res.forEach((r, i) => {
          thr[i] = (r as { value: number }).value;
          found[i] = true;
          paths[i] = widen === 1 ? "window" : "widened";
        });
        break;
      }
    }
    if (!found.every(Boolean)) {
      // Exact thresholds by histogram refinement over emitted scores, then one pass with point windows
      // at the thresholds to collect the candidates.
      const t = this.thresholdSweep();
      t.forEach((v, i) => {
        thr[i] = v;
      });
      const wins = Array.from(t, (v) => ({ a: v, b: v, share: 0, above: 1, sureBelow: sureBelowBound(v) }));
      const c = caps(wins);
      let out = await this.scorePass(wins, c.win, c.cand);
      if (out.candOverflow) {
        this.reruns++;
        out = await this.scorePass(wins, c.win, c.cand);
      }
      if (out.bad || out.candOverflow) throw new FastPcbUnsupported("pcb fast path: score pass failed");
    }
    const max = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let m = Number.NEGATIVE_INFINITY;
      for (const p of this.params) {
        const v = this.getF32(p, "maxB", i);
        if (v > m) m = v;
      }
      max[i] = m;
    }
    this.hooks.onPaths?.({ magnitude: this.magPaths, threshold: paths });
    return new ScoreStats(thr, max, this.spec.options.nanGuard);
  }

  /** Exact drop thresholds of all tasks from two sweeps of emitted scores. */
  private thresholdSweep(): number[] {
    const r = this.spec.options.ratio;
    const sels = Array.from({ length: this.n }, () => new StreamingQuantile((d) => [dropIndex(d, r)]));
    const chunk = 1 << 16;
    const sweep = (add: (s: StreamingQuantile, row: Float32Array) => void) => {
      for (let k = 0; k < this.total; k += chunk) {
        const rows = this.emitScores(this.inputs, k, Math.min(this.total, k + chunk));
        rows.forEach((row, i) => {
          add(sels[i]!, row);
        });
      }
    };
    sweep((s, row) => s.addTop(row));
    for (const s of sels) s.finishTop();
    sweep((s, row) => s.addLow(row));
    return sels.map((s) => s.finishLow()[0]!);
  }

  /**
   * The global statistics (clamp bounds, drop thresholds, maxima). Throws PcbError for a constant row
   * under nan_guard "error" (as the general path), FastPcbUnsupported for what it does not reproduce.
   */
  async computeStats(): Promise<{ magnitude: MagnitudeStats; score: ScoreStats }> {
    const o = this.spec.options;
    // The workers start up (≈ 70 ms) while this thread takes the sample.
    this.threads.start();
    const mag = await this.magnitudeStats();
    for (let i = 0; i < this.n; i++) {
      if (mag.range[i] === 0 && o.nanGuard === "off")
        throw new FastPcbUnsupported("pcb fast path: constant magnitude row with nan_guard off");
    }
    this.mag = mag;
    // The intra-factor caches hold values for these magnitude statistics only: empty them (no |T| has
    // the bits 0xffffffff).
    for (const c of this.ecache) this.arena.u32(c, 2 * ECACHE_ENTRIES * this.n).fill(0xffffffff);
    const score = await this.scoreStats();
    for (let i = 0; i < this.n; i++) {
      const t = score.threshold[i]!;
      if (!Number.isFinite(t) || !Number.isFinite(score.max[i]!))
        throw new FastPcbUnsupported("pcb fast path: non-finite drop threshold or maximum");
      if (Math.fround(score.max[i]! - t) === 0 && o.nanGuard === "off")
        throw new FastPcbUnsupported("pcb fast path: constant score row with nan_guard off");
    }
    this.score = score;
    // The merge's buffers now, while failing to get memory can still fall back to the general path.
    this.allocOutputs();
    return { magnitude: mag, score };
  }

  // -- merge -------------------------------------------------------------------------------------

  /** Merges every tensor (per-tensor λ in `segments`, aligned with the spec's tensors) into the output. */
  /**
   * Merges every tensor (per-tensor λ in `segments`, aligned with the spec's tensors) and hands each
   * tensor's encoded output to `take` (in order; the view is only valid during the call).
   */
  async merge(
    segments: readonly FastSegment[],
    out: FastFormat,
    take: (index: number, bytes: Uint8Array) => void,
  ): Promise<void> {
    this.beginMerge(segments, out);
    const N = this.spec.tensors.length;
    for (let from = 0; from < N; ) {
      let to = from + 1;
      let elements = this.spec.tensors[from]!.numel;
      while (to < N && elements + this.spec.tensors[to]!.numel <= this.rangeElements)
        elements += this.spec.tensors[to++]!.numel;
      await this.mergeTensors(from, to);
      for (let j = from; j < to; j++) take(j, this.outputView(j));
      from = to;
    }
  }

  /**
   * Starts a merge: per-tensor λ in `segments` (aligned with the spec's tensors), output dtype. Then
   * `mergeTensors` over consecutive tensor ranges, in order, covering all tensors (each range's output
   * can be written while the next one is merged).
   */
  beginMerge(segments: readonly FastSegment[], out: FastFormat): void {
    const { mag, score } = this;
    if (!mag || !score) throw new PcbError("pcb fast path: merge before computeStats");
    if (segments.length !== this.spec.tensors.length)
      throw new PcbError(
        `pcb fast path: ${segments.length} segments for ${this.spec.tensors.length} tensors`,
      );
    // Two output buffers of one merge range each (not the whole model): less memory to touch, and a
    // range can be written while the next one merges into the other buffer.
    this.allocOutputs();
    this.outBytes = esize(out);
    this.outAt = [];
    this.rangeNo = 0;
    const L = this.layout;
    const segOff = this.buffer("segments", segments.length * L.segSize);
    const dv = this.arena.view();
    segments.forEach((sg, g) => {
      if (
        !Number.isFinite(sg.lambda) ||
        sg.weights.length !== this.n ||
        sg.weights.some((w) => !Number.isFinite(w))
      )
        throw new FastPcbUnsupported("pcb fast path: non-finite λ");
      const at = segOff + g * L.segSize;
      dv.setUint32(at, this.starts[g]!, true);
      dv.setUint32(at + 4, this.starts[g]! + this.spec.tensors[g]!.numel, true);
      dv.setFloat64(at + L.segLambda, sg.lambda, true);
      sg.weights.forEach((w, i) => {
        dv.setFloat32(at + L.segLi + 4 * i, w, true);
      });
    });
    const guardOn = this.spec.options.nanGuard === "on";
    this.params.forEach((p, t) => {
      const [k0, k1] = this.ranges[t]!;
      // Keep the candidate fields of the score pass; refresh the rest.
      this.setU32(p, "k0", k0);
      this.setU32(p, "k1", k1);
      this.setU32(p, "scratch", this.scratch[t]!);
      for (let i = 0; i < this.n; i++) {
        const thr = score.threshold[i]!;
        const denom = Math.fround(score.max[i]! - thr);
        this.setF32(p, "thr", thr, i);
        this.setF32(p, "denom", denom, i);
        this.setU32(p, "drop", guardOn && denom === 0 ? 1 : 0, i);
        this.setU32(p, "cursor", 0, i);
      }
      this.setU32(p, "seg", segOff);
      this.setU32(p, "nseg", segments.length);
      this.setU32(p, "outFmt", FORMAT_CODE[out]);
    });
    this.mergedUpTo = 0;
  }

  private mergedUpTo = -1;

  /** The two range-sized output buffers, for float32 (so any output dtype fits). */
  private allocOutputs(): void {
    const cap = this.rangeElements;
    if (this.outCap >= cap) return;
    this.outBufs = [0, 1].map(() => this.arena.alloc((cap + 8) * 4));
    this.outCap = cap;
  }

  /** The most elements one `mergeTensors` range may hold: MERGE_RANGE_ELEMENTS, or the largest tensor. */
  get rangeElements(): number {
    return Math.max(this.spec.mergeRange ?? MERGE_RANGE_ELEMENTS, ...this.spec.tensors.map((t) => t.numel));
  }

  /**
   * Merges tensors [from, to) (after `beginMerge`; ranges in order, from the previous `to`, each of at
   * most `rangeElements` elements). Their outputs stay valid until the range after the next one merges.
   */
  async mergeTensors(from: number, to: number): Promise<void> {
    if (this.mergedUpTo !== from)
      throw new PcbError(`pcb fast path: merge of tensors ${from}..${to} out of order`);
    const p0 = from < this.starts.length ? this.starts[from]! : this.total;
    const p1 = to < this.starts.length ? this.starts[to]! : this.total;
    if (p1 - p0 > this.outCap)
      throw new PcbError(`pcb fast path: a merge range of ${p1 - p0} elements exceeds ${this.outCap}`);
    // The kernel writes position k at out + k·bytes: point `out` below the buffer by the range's start.
    const buf = this.rangeNo % 2;
    const out = (this.outBufs[buf]! - p0 * this.outBytes) >>> 0;
    for (const p of this.params) this.setU32(p, "out", out);
    for (let t = from; t < to; t++) this.outAt[t] = { buf, start: p0 };
    this.rangeNo++;
    // The range is cut into one piece per thread (and at the boundaries of the score pass's thread
    // ranges, whose candidate lists a piece reads). Each piece runs on a copy of its owner's parameter
    // block with the cursors moved to the piece's first candidates; pieces beyond one per thread run
    // in a second round.
    const T = this.params.length;
    const cuts = new Set<number>([p0, p1]);
    for (let t = 1; t < T; t++)
      cuts.add(Math.min(p1, Math.max(p0, p0 + Math.floor(((p1 - p0) * t) / T / 4) * 4)));
    for (const [k0] of this.scoreRanges) if (k0 > p0 && k0 < p1) cuts.add(k0);
    const points = [...cuts].sort((a, b) => a - b);
    const pieces: [number, number][] = [];
    for (let j = 0; j + 1 < points.length; j++)
      if (points[j]! < points[j + 1]!) pieces.push([points[j]!, points[j + 1]!]);
    for (let round = 0; round < pieces.length; round += T) {
      const jobs = pieces
        .slice(round, round + T)
        .map(([a, b], e) => ({ params: this.mergeBlock(e, a), k0: a, k1: b }));
      await this.threads.run("merge_pass", jobs);
    }
    this.mergedUpTo = to;
  }

  private mergeBlocks: number[] = [];

  /**
   * Executing thread `e`'s parameter block for a merge piece starting at position `a`: a copy of the
   * block of the thread whose score-pass range holds `a` (its candidate lists), with this thread's
   * scratch and each task's cursor at its first candidate ≥ a.
   */
  private mergeBlock(e: number, a: number): number {
    const size = this.layout.paramsSize;
    while (this.mergeBlocks.length <= e) this.mergeBlocks.push(this.arena.alloc(size));
    const owner = this.scoreRanges.findIndex(([k0, k1]) => a >= k0 && a < k1);
    const from = this.params[owner]!;
    const to = this.mergeBlocks[e]!;
    this.arena.u8(0, this.arena.memory.buffer.byteLength).copyWithin(to, from, from + size);
    this.setU32(to, "scratch", this.scratch[e]!);
    for (let i = 0; i < this.n; i++) {
      const pos = this.arena.u32(this.getU32(from, "candPos", i), this.getU32(from, "candCount", i));
      this.setU32(to, "cursor", lowerBound(pos, a), i);
    }
    return to;
  }

  /**
   * Tensor `index`'s encoded output (a view into the shared memory), valid from its range's merge until
   * the range after the next one merges.
   */
  outputView(index: number): Uint8Array {
    const at = this.outAt[index];
    if (!at) throw new PcbError(`pcb fast path: tensor ${index} not merged yet`);
    return this.arena.u8(
      this.outBufs[at.buf]! + (this.starts[index]! - at.start) * this.outBytes,
      this.spec.tensors[index]!.numel * this.outBytes,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.threads.close();
  }
}
