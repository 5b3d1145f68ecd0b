// The magnitude statistics: per task, the clamp bounds lo_i = s[⌊Dq⌋] and hi_i = s[⌊D(1−q)−1⌋] of |T_i|,
// found by a counting pass over value windows from the sample (widened once when a rank falls outside),
// else by an exact histogram sweep.

import { bf16ToF32, f16ToF32, StreamingQuantile } from "@x/tensor-core";
import { clampIndices } from "../options.js";
import { MagnitudeStats } from "../score.js";
import { type PerThread, resolveWindow, roomsFor, runPass } from "./pass.js";
import type { Slab } from "./slab.js";
import { FastPcbNonFinite, type FastPcbState, FastPcbUnsupported } from "./state.js";
import { isPoint, type Resolution, type ValueWindow, windowsFromSample } from "./windows.js";

async function magnitudePass(
  fp: FastPcbState,
  wins: ValueWindow[][],
  caps: PerThread[][],
): Promise<Resolution[][]> {
  const bad = await runPass(
    fp,
    "mag_pass",
    undefined,
    (slab, s, p, t) => {
      for (let i = 0; i < fp.n; i++) {
        for (let j = 0; j < 2; j++) {
          const cap = caps[i]![j]![s]![t]!;
          slab.setWin(p, 2 * i + j, wins[i]![j]!, slab.buffer(`mag-${t}-${i}-${j}`, cap * 4), cap);
        }
      }
    },
    (s, a, b) => fp.slabs[s]!.equalRanges(a, b),
  );
  if (bad) {
    const found = await fp.locateNonFinite();
    if (found.length > 0)
      throw new FastPcbNonFinite("pcb fast path: a task vector has non-finite values", found);
    throw new FastPcbUnsupported("pcb fast path: a task vector overflows float32 (θ_i − θ₀ is ±Inf)");
  }
  const ranks = clampIndices(fp.total, fp.spec.options.clampQuantile);
  return wins.map((ws, i) => ws.map((w, j) => resolveWindow(fp, 2 * i + j, w, ranks[j]!, caps[i]![j]!)));
}

/** Elements [k, k + len) of input `slot` in a slab's loaded window, decoded into the front of `out`. */
function decode(
  fp: FastPcbState,
  slab: Slab,
  slot: number,
  k: number,
  len: number,
  out: Float32Array,
): Float32Array {
  const dst = out.subarray(0, len);
  const v = slab.view(slot, k, len);
  if (fp.spec.format === "F32") {
    dst.set(new Float32Array(v.buffer, v.byteOffset, len));
    return dst;
  }
  const u = new Uint16Array(v.buffer, v.byteOffset, len);
  return fp.spec.format === "BF16" ? bf16ToF32(u, dst) : f16ToF32(u, dst);
}

/** T_i = fround(θ_i − θ₀) in chunks of 64 Ki positions, over every window. */
async function forTaskRows(fp: FastPcbState, i: number, add: (row: Float32Array) => void): Promise<void> {
  const chunk = 1 << 16;
  const row = new Float32Array(chunk);
  const x0 = new Float32Array(chunk);
  await fp.forEachWindow((slab, a, b) => {
    for (let k = a; k < b; k += chunk) {
      const len = Math.min(chunk, b - k);
      decode(fp, slab, 0, k, len, x0);
      decode(fp, slab, 1 + i, k, len, row);
      for (let j = 0; j < len; j++) row[j] = row[j]! - x0[j]!;
      add(row.subarray(0, len));
    }
  });
}

/** Exact clamp bounds of task i by histogram refinement over decoded rows (when the windows missed). */
async function magnitudeSweep(fp: FastPcbState, i: number): Promise<[number, number]> {
  const q = fp.spec.options.clampQuantile;
  const sel = new StreamingQuantile((d) => clampIndices(d, q), { abs: true });
  await forTaskRows(fp, i, (r) => sel.addTop(r));
  sel.finishTop();
  await forTaskRows(fp, i, (r) => sel.addLow(r));
  const [a, b] = sel.finishLow();
  return [a!, b!];
}

export async function magnitudeStats(fp: FastPcbState, paths: string[]): Promise<MagnitudeStats> {
  const { n, total: D } = fp;
  const decoded = fp.sample.decoded();
  const m = fp.sample.size;
  const ranks = clampIndices(D, fp.spec.options.clampQuantile);
  const abs = Array.from({ length: n }, (_, i) => {
    const x0 = decoded[0]!;
    const xi = decoded[1 + i]!;
    const a = new Float32Array(m);
    for (let j = 0; j < m; j++) a[j] = Math.abs(xi[j]! - x0[j]!);
    return a;
  });
  const lo = new Float32Array(n);
  const hi = new Float32Array(n);
  const done: boolean[][] = Array.from({ length: n }, () => [false, false]);
  const width = fp.spec.windowWidth ?? 6;
  const equal = () => undefined;
  for (const widen of [1, 8]) {
    const wins = abs.map((a) =>
      windowsFromSample(a, ranks, D, width * widen).map((w) =>
        // |T| ≥ 0: the bit-pattern compares of the kernel need a ≥ +0.
        w.a === Number.NEGATIVE_INFINITY || w.a < 0 ? { ...w, a: 0 } : w,
      ),
    );
    const caps = wins.map((ws, i) => ws.map((w) => roomsFor(fp, abs[i]!, w.a, w.b, isPoint(w), equal)));
    let res = await magnitudePass(fp, wins, caps);
    if (res.some((r) => r.some((x) => x.kind === "overflow"))) {
      fp.reruns++;
      res = await magnitudePass(fp, wins, caps);
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
    const [a, b] = await magnitudeSweep(fp, i);
    lo[i] = a;
    hi[i] = b;
  }
  return new MagnitudeStats(lo, hi, fp.spec.options.nanGuard);
}
