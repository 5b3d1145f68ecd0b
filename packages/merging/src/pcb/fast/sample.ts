// The sample the fast path chooses its value windows from: the stored inputs at up to 2^17 positions.
// Positions of resident slabs are uniform and gathered from memory as the slabs are read; positions of
// a streamed slab come in short runs read by ranged reads before the first pass (a run costs one read
// per input instead of one per position). The sample decides speed only, never a result.

import { bf16ToF32, f16ToF32 } from "@x/tensor-core";
import { esize, type FastFormat } from "./layout.js";
import type { Slab } from "./slab.js";
import { lowerBound } from "./windows.js";

/** Positions per run of the streamed slab's sample. */
const RUN = 32;

/** Reads stored bytes of input `slot` at flat positions [k, k + len) (inside one tensor) into `target`. */
export type PositionReader = (slot: number, k: number, target: Uint8Array) => Promise<void>;

export class Sample {
  /** Sampled positions, ascending (unique). */
  readonly pos: Uint32Array;
  /** Per input slot, the stored value at each sampled position (in the host slab's memory). */
  readonly slots: number[];
  private readonly gathered: Uint8Array;
  private decodedCache?: Float32Array[];

  constructor(
    private readonly host: Slab,
    private readonly total: number,
    private readonly format: FastFormat,
    size: number,
    /** Flat start of every tensor (for the runs of a streamed slab, which stay inside one tensor). */
    private readonly starts: readonly number[],
    /** Where the streamed slab starts (total when every slab is resident). */
    private readonly streamedFrom: number,
  ) {
    const D = total;
    const m = Math.min(D, size);
    let pos: Uint32Array;
    if (m === D) pos = Uint32Array.from({ length: D }, (_, j) => j);
    else {
      let x = (0x9e3779b9 ^ D) >>> 0 || 1;
      const next = () => {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        return x / 4294967296;
      };
      const uniform: number[] = [];
      const S = streamedFrom;
      for (let j = 0; j < m; j++) {
        const p = Math.floor(next() * D);
        if (p < S) uniform.push(p);
      }
      // The streamed part's share of the sample, in runs of RUN positions inside one tensor.
      const runs: number[] = [];
      const want = Math.round((m * (D - S)) / D);
      for (let r = 0; r * RUN < want && S < D; r++) {
        const p = S + Math.floor(next() * (D - S));
        const t = upperIndex(starts, p);
        const t0 = starts[t]!;
        const t1 = t + 1 < starts.length ? starts[t + 1]! : D;
        const a = Math.max(t0, Math.min(p, t1 - RUN));
        for (let q = a; q < Math.min(t1, a + RUN); q++) runs.push(q);
      }
      // Uniform positions may repeat (harmless); the runs are kept unique and sorted, after them.
      const u = Uint32Array.from(uniform).sort();
      const r = Uint32Array.from(new Set(runs)).sort();
      pos = new Uint32Array(u.length + r.length);
      pos.set(u);
      pos.set(r, u.length);
    }
    this.pos = pos;
    const es = esize(format);
    this.slots = Array.from({ length: host.n + 1 }, () => host.arena.alloc((pos.length + 8) * es));
    this.gathered = new Uint8Array(pos.length);
  }

  get size(): number {
    return this.pos.length;
  }

  /** Gathers the sampled positions in [a, b) from a slab's loaded window. */
  gatherFrom(slab: Slab, a: number, b: number): void {
    const j0 = lowerBound(this.pos, a);
    const j1 = lowerBound(this.pos, b);
    if (j0 === j1) return;
    const es = esize(this.format);
    for (let s = 0; s <= slab.n; s++) {
      const src = slab.view(s, a, b - a);
      if (es === 2) {
        const from = new Uint16Array(src.buffer, src.byteOffset, b - a);
        const dst = this.host.arena.u16(this.slots[s]!, this.pos.length);
        for (let j = j0; j < j1; j++) dst[j] = from[this.pos[j]! - a]!;
      } else {
        const from = new Float32Array(src.buffer, src.byteOffset, b - a);
        const dst = this.host.arena.f32(this.slots[s]!, this.pos.length);
        for (let j = j0; j < j1; j++) dst[j] = from[this.pos[j]! - a]!;
      }
    }
    this.gathered.fill(1, j0, j1);
  }

  /** Reads the streamed part's sampled runs (contiguous positions inside one tensor) with `read`. */
  async readStreamed(read: PositionReader, concurrency: number): Promise<void> {
    const es = esize(this.format);
    const j0 = lowerBound(this.pos, this.streamedFrom);
    // Contiguous runs of sampled positions that stay inside one tensor.
    const runs: [number, number][] = [];
    for (let j = j0; j < this.pos.length; ) {
      let e = j + 1;
      const t = upperIndex(this.starts, this.pos[j]!);
      const tEnd = t + 1 < this.starts.length ? this.starts[t + 1]! : this.total;
      while (e < this.pos.length && this.pos[e] === this.pos[e - 1]! + 1 && this.pos[e]! < tEnd) e++;
      runs.push([j, e]);
      j = e;
    }
    const jobs = runs.flatMap((r) => Array.from({ length: this.host.n + 1 }, (_, s) => ({ r, s })));
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < jobs.length; i = next++) {
        const { r, s } = jobs[i]!;
        const [a, b] = r;
        await read(s, this.pos[a]!, this.host.arena.u8(this.slots[s]! + a * es, (b - a) * es));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, lane));
    this.gathered.fill(1, j0);
  }

  /** Whether every sampled position has been gathered. */
  get complete(): boolean {
    return this.gathered.every((g) => g === 1);
  }

  /** Sampled values of every input decoded to float32 (base first). */
  decoded(): Float32Array[] {
    if (this.decodedCache) return this.decodedCache;
    const m = this.pos.length;
    this.decodedCache = this.slots.map((off) => {
      const out = new Float32Array(m);
      if (this.format === "BF16") return bf16ToF32(this.host.arena.u16(off, m), out);
      if (this.format === "F16") return f16ToF32(this.host.arena.u16(off, m), out);
      out.set(this.host.arena.f32(off, m));
      return out;
    });
    return this.decodedCache;
  }

  /** Indices into the sample of the positions inside each of `ranges`. */
  indices(ranges: readonly [number, number][]): [number, number][] {
    return ranges.map(([k0, k1]) => [lowerBound(this.pos, k0), lowerBound(this.pos, k1)]);
  }
}

/** The index of the last start ≤ p (starts ascending, starts[0] = 0). */
export function upperIndex(starts: readonly number[], p: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= p) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
