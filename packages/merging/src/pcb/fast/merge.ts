// The fast path's merge: θ₀ + λ·Σ λ_i T̃_i W_i / max(Σ W_i, 1e-12) from the candidates, encoded, in
// steps of at most `mergeRange` positions inside one slab. Each step's output goes into one of two
// buffers of its slab (so a step can be written while the next one merges); a resident slab merges
// from the candidates its score pass kept, a streamed slab reads the step's window and recomputes the
// candidates (scores ≥ the drop threshold) first. The bytes do not depend on the steps or threads.

import { PcbError } from "../options.js";
import type { KeptWindow } from "./kept.js";
import type { FastFormat } from "./layout.js";
import { sureBelowBound } from "./scores.js";
import { FORMAT_CODE, type Slab } from "./slab.js";
import { type FastPcbState, FastPcbUnsupported } from "./state.js";
import { lowerBound, roomFor } from "./windows.js";

/** Per tensor: the outer λ and the per-task λ_i. */
export interface FastSegment {
  readonly lambda: number;
  readonly weights: readonly number[];
}

/** Encoded output of positions of one tensor: valid until the step after the next one merges. */
export interface FastMergePiece {
  readonly index: number;
  readonly bytes: Uint8Array;
  /** Whether this piece ends the tensor. */
  readonly last: boolean;
}

export class FastMerge {
  private readonly outBytes: number;
  /** Per slab: its two output buffers (byte offsets in its memory). */
  private readonly outBufs: number[][] = [];
  private slab = 0;
  private pos: number;
  private step = 0;
  /** Extra parameter blocks per slab, for merge pieces beyond the score pass's owners. */
  private readonly blocks: number[][];

  constructor(
    private readonly fp: FastPcbState,
    segments: readonly FastSegment[],
    out: FastFormat,
  ) {
    const { mag, score } = fp;
    if (!mag || !score) throw new PcbError("pcb fast path: merge before computeStats");
    if (segments.length !== fp.spec.tensors.length)
      throw new PcbError(`pcb fast path: ${segments.length} segments for ${fp.spec.tensors.length} tensors`);
    this.outBytes = out === "F32" ? 4 : 2;
    this.pos = fp.slabs[0]!.p0;
    this.blocks = fp.slabs.map(() => []);
    const guardOn = fp.spec.options.nanGuard === "on";
    for (const slab of fp.slabs) {
      const L = slab.layout;
      const segOff = slab.buffer("segments", segments.length * L.segSize);
      const dv = slab.arena.view();
      segments.forEach((sg, g) => {
        if (
          !Number.isFinite(sg.lambda) ||
          sg.weights.length !== fp.n ||
          sg.weights.some((w) => !Number.isFinite(w))
        )
          throw new FastPcbUnsupported("pcb fast path: non-finite λ");
        const at = segOff + g * L.segSize;
        dv.setUint32(at, fp.starts[g]!, true);
        dv.setUint32(at + 4, fp.starts[g]! + fp.spec.tensors[g]!.numel, true);
        dv.setFloat64(at + L.segLambda, sg.lambda, true);
        sg.weights.forEach((w, i) => {
          dv.setFloat32(at + L.segLi + 4 * i, w, true);
        });
      });
      for (const p of slab.params) {
        for (let i = 0; i < fp.n; i++) {
          const thr = score.threshold[i]!;
          const denom = Math.fround(score.max[i]! - thr);
          slab.setF32(p, "thr", thr, i);
          slab.setF32(p, "denom", denom, i);
          slab.setU32(p, "drop", guardOn && denom === 0 ? 1 : 0, i);
          slab.setU32(p, "cursor", 0, i);
        }
        slab.setU32(p, "seg", segOff);
        slab.setU32(p, "nseg", segments.length);
        slab.setU32(p, "outFmt", FORMAT_CODE[out]);
      }
      // Two output buffers of one step each, for float32 (so any output dtype fits); a streamed slab
      // merges a window per step.
      const cap = slab.resident ? fp.mergeRange : Math.max(fp.mergeRange, slab.plan.window);
      this.outBufs.push([0, 1].map((b) => slab.buffer(`out-${b}`, (cap + 8) * 4)));
    }
  }

  /**
   * The end of the step starting at `a` in `slab`: at most mergeRange positions (and a window of a
   * streamed slab), at a tensor end when one falls inside.
   */
  private stepEnd(slab: Slab, a: number): number {
    // A streamed slab merges window by window (the windows of its score pass, whose candidates it may keep).
    if (!slab.resident) return Math.min(slab.p1, a + slab.plan.window);
    const limit = Math.min(slab.p1, a + this.fp.mergeRange);
    if (limit === slab.p1) return limit;
    let end = limit;
    for (const [, , to] of this.fp.parts(a, limit)) if (to <= limit && to > a) end = to;
    if (end === limit && end - a >= 4) end = a + Math.floor((limit - a) / 4) * 4;
    return end;
  }

  /** Merges the next step; undefined when every tensor is merged. */
  async next(): Promise<FastMergePiece[] | undefined> {
    const { fp } = this;
    while (this.slab < fp.slabs.length && this.pos >= fp.slabs[this.slab]!.p1) {
      this.slab++;
      if (this.slab < fp.slabs.length) this.pos = fp.slabs[this.slab]!.p0;
    }
    if (this.slab >= fp.slabs.length) return undefined;
    const s = this.slab;
    const slab = fp.slabs[s]!;
    const a = this.pos;
    const b = this.stepEnd(slab, a);
    const buf = this.outBufs[s]![this.step % 2]!;
    this.step++;
    // The kernel writes position k at out + k·bytes: point `out` below the buffer by the step's start.
    const out = (buf - a * this.outBytes) >>> 0;
    if (slab.resident) await this.mergeResident(s, a, b, out);
    else {
      const kept = fp.kept.get(s, Math.floor((a - slab.p0) / slab.plan.window));
      if (kept) await this.mergeKept(slab, kept, a, b, out);
      else await this.mergeStreamed(slab, a, b, out);
    }
    this.pos = b;
    const pieces: FastMergePiece[] = [];
    for (const [t, from, to] of fp.parts(a, b)) {
      pieces.push({
        index: t,
        bytes: slab.arena.u8(buf + (from - a) * this.outBytes, (to - from) * this.outBytes),
        last: to === fp.starts[t]! + fp.spec.tensors[t]!.numel,
      });
    }
    return pieces;
  }

  /**
   * A resident slab's step, cut into one piece per thread (and at the boundaries of the score pass's
   * thread ranges, whose candidate lists a piece reads). Each piece runs on a copy of its owner's
   * parameter block with the cursors moved to the piece's first candidates; pieces beyond one per
   * thread run in a second round.
   */
  private async mergeResident(s: number, p0: number, p1: number, out: number): Promise<void> {
    const slab = this.fp.slabs[s]!;
    for (const p of slab.params) slab.setU32(p, "out", out);
    const T = slab.params.length;
    const cuts = new Set<number>([p0, p1]);
    for (let t = 1; t < T; t++)
      cuts.add(Math.min(p1, Math.max(p0, p0 + Math.floor(((p1 - p0) * t) / T / 4) * 4)));
    for (const [k0] of this.fp.scoreRanges[s]!) if (k0 > p0 && k0 < p1) cuts.add(k0);
    const points = [...cuts].sort((x, y) => x - y);
    const pieces: [number, number][] = [];
    for (let j = 0; j + 1 < points.length; j++)
      if (points[j]! < points[j + 1]!) pieces.push([points[j]!, points[j + 1]!]);
    for (let round = 0; round < pieces.length; round += T) {
      const batch = pieces.slice(round, round + T);
      const blocks = batch.map(([a], e) => this.mergeBlock(s, e, a));
      await slab.run("merge_pass", batch, blocks);
    }
  }

  /**
   * Executing thread `e`'s parameter block for a piece starting at position `a`: a copy of the block
   * of the thread whose score-pass range holds `a` (its candidate lists), with this thread's scratch
   * and each task's cursor at its first candidate ≥ a.
   */
  private mergeBlock(s: number, e: number, a: number): number {
    const slab = this.fp.slabs[s]!;
    const size = slab.layout.paramsSize;
    const mine = this.blocks[s]!;
    while (mine.length <= e) mine.push(slab.arena.alloc(size));
    const owner = this.fp.scoreRanges[s]!.findIndex(([k0, k1]) => a >= k0 && a < k1);
    const from = slab.params[owner]!;
    const to = mine[e]!;
    slab.arena.u8(0, slab.arena.memory.buffer.byteLength).copyWithin(to, from, from + size);
    slab.setU32(to, "scratch", slab.getU32(slab.params[e]!, "scratch"));
    slab.setU32(to, "ecache", slab.getU32(slab.params[e]!, "ecache"));
    for (let i = 0; i < this.fp.n; i++) {
      const pos = slab.arena.u32(slab.getU32(from, "candPos", i), slab.getU32(from, "candCount", i));
      slab.setU32(to, "cursor", lowerBound(pos, a), i);
    }
    return to;
  }

  /**
   * A streamed slab's step: its window read, the candidates (scores ≥ each drop threshold) recomputed
   * by a score pass with point windows at the thresholds, then the merge of each thread's range from
   * its own candidates.
   */
  private async mergeStreamed(slab: Slab, a: number, b: number, out: number): Promise<void> {
    const { fp } = this;
    const score = fp.score!;
    await fp.loadWindow(slab, a, b);
    const inputs = slab.inputPointers();
    const ranges = slab.equalRanges(a, b);
    const zeroRangeOn = fp.spec.options.nanGuard === "on";
    // Room from the share of sampled scores above each threshold (grown to the exact count on overflow).
    const caps = ranges.map(([k0, k1]) =>
      Array.from({ length: fp.n }, (_, i) => roomFor(this.keptShare(i), k1 - k0, 1.25) + 4096),
    );
    for (let attempt = 0; ; attempt++) {
      slab.params.forEach((p, t) => {
        slab.setBase(p, t, inputs, ranges[t]![0], ranges[t]![1], fp.mag!, zeroRangeOn);
        slab.resetFlags(p);
        slab.setU32(p, "out", out);
        for (let i = 0; i < fp.n; i++) {
          const thr = score.threshold[i]!;
          slab.setWin(p, i, { a: thr, b: thr, sureBelow: sureBelowBound(thr) }, 0, 0);
          const cc = caps[t]![i]!;
          slab.setU32(p, "candPos", slab.buffer(`mpos-${t}-${i}`, (cc + 4) * 4), i);
          slab.setU32(p, "candVal", slab.buffer(`mval-${t}-${i}`, (cc + 4) * 4), i);
          slab.setU32(p, "candCap", cc, i);
          slab.setU32(p, "candCount", 0, i);
          slab.setF32(p, "maxB", Number.NEGATIVE_INFINITY, i);
          slab.setU32(p, "cursor", 0, i);
        }
      });
      await slab.run("score_pass", ranges);
      let overflow = false;
      slab.params.forEach((p, t) => {
        for (let i = 0; i < fp.n; i++) {
          const count = slab.getU32(p, "candCount", i);
          if (count > caps[t]![i]!) {
            overflow = true;
            caps[t]![i] = count;
          }
        }
      });
      if (!overflow) break;
      if (attempt > 0) throw new FastPcbUnsupported("pcb fast path: candidate lists overflowed twice");
      fp.reruns++;
    }
    await slab.run("merge_pass", ranges);
  }

  /** A streamed slab's window merged from the candidates its score pass kept (kept.ts). */
  private async mergeKept(slab: Slab, kept: KeptWindow, a: number, b: number, out: number): Promise<void> {
    const { fp } = this;
    await fp.loadWindow(slab, a, b);
    const inputs = slab.inputPointers();
    const zeroRangeOn = fp.spec.options.nanGuard === "on";
    const ranges = kept.ranges.map(([k0, k1]) => [k0, k1] as [number, number]);
    slab.params.forEach((p, t) => {
      slab.setBase(p, t, inputs, ranges[t]![0], ranges[t]![1], fp.mag!, zeroRangeOn);
      slab.setU32(p, "out", out);
      for (let i = 0; i < fp.n; i++) {
        const pos = kept.pos[t]![i]!;
        const val = kept.val[t]![i]!;
        const pOff = slab.buffer(`mpos-${t}-${i}`, (pos.length + 4) * 4);
        const vOff = slab.buffer(`mval-${t}-${i}`, (val.length + 4) * 4);
        slab.arena.u32(pOff, pos.length).set(pos);
        slab.arena.f32(vOff, val.length).set(val);
        slab.setU32(p, "candPos", pOff, i);
        slab.setU32(p, "candVal", vOff, i);
        slab.setU32(p, "candCount", pos.length, i);
        slab.setU32(p, "cursor", 0, i);
      }
    });
    await slab.run("merge_pass", ranges);
  }

  private readonly shares = new Map<number, number>();

  /** Share of sampled scores ≥ task i's drop threshold (≈ the kept share). */
  private keptShare(i: number): number {
    const cached = this.shares.get(i);
    if (cached !== undefined) return cached;
    const share = Math.min(1, this.fp.spec.options.ratio * 1.1 + 0.01);
    this.shares.set(i, share);
    return share;
  }
}
