// Running a kernel pass over every window of every slab, and reading its value windows back: the
// counts below and inside each window, summed over slabs and threads, and the collected values.

import type { KernelMagnitude, Slab } from "./slab.js";
import type { FastPcbState } from "./state.js";
import { type Resolution, resolveRank, roomFor } from "./windows.js";

/** Per slab, per thread: a value (room of a collection, candidate cap). */
export type PerThread = number[][];

/** Sample indices and positions each thread of a slab covers over a whole pass. */
export function coverage(fp: FastPcbState, s: number, ranges: readonly [number, number][] | undefined) {
  const slab = fp.slabs[s]!;
  const T = slab.params.length;
  if (ranges) {
    return fp.sample.indices(ranges).map(([j0, j1], t) => ({ j0, j1, len: ranges[t]![1] - ranges[t]![0] }));
  }
  // A streamed slab splits every window equally: each thread covers ≈ 1/T of the slab.
  const [[j0, j1]] = fp.sample.indices([[slab.p0, slab.p1]]) as [[number, number]];
  return Array.from({ length: T }, () => ({ j0, j1, len: Math.ceil((slab.p1 - slab.p0) / T) }));
}

/** Room for the sampled `values` in [a, b] of every (slab, thread) (0 for a point window). */
export function roomsFor(
  fp: FastPcbState,
  values: Float32Array,
  a: number,
  b: number,
  point: boolean,
  rangesOf: (s: number) => readonly [number, number][] | undefined,
  factor?: number,
): PerThread {
  return fp.slabs.map((_, s) =>
    coverage(fp, s, rangesOf(s)).map(({ j0, j1, len }) => {
      if (point) return 0;
      let c = 0;
      for (let j = j0; j < j1; j++) if (values[j]! >= a && values[j]! <= b) c++;
      return Math.ceil(roomFor(j1 > j0 ? c / (j1 - j0) : 1, len, factor) * (fp.spec.roomScale ?? 1));
    }),
  );
}

/**
 * Runs `kernel` over every window of every slab: `setup` prepares each block once per slab (windows,
 * candidate lists), then each window runs with the block's inputs pointed at it. Returns whether any
 * block flagged non-finite values (magnitude pass) or a NaN score (score pass).
 */
export async function runPass(
  fp: FastPcbState,
  kernel: "mag_pass" | "score_pass",
  mag: KernelMagnitude | undefined,
  setup: (slab: Slab, s: number, p: number, t: number) => void,
  rangesOf: (s: number, a: number, b: number) => [number, number][],
  /** Runs after each window of a streamed slab (e.g. to keep what the window produced). */
  afterWindow?: (slab: Slab, s: number, w: number, ranges: readonly [number, number][]) => void,
  /** Runs before each window of a streamed slab, its blocks set up (e.g. per-window room). */
  beforeWindow?: (slab: Slab, s: number, w: number, ranges: readonly [number, number][]) => void,
): Promise<boolean> {
  const zeroRangeOn = fp.spec.options.nanGuard === "on";
  let bad = false;
  for (let s = 0; s < fp.slabs.length; s++) {
    const slab = fp.slabs[s]!;
    slab.params.forEach((p, t) => {
      slab.resetFlags(p);
      setup(slab, s, p, t);
    });
    for (const [w, [a, b]] of slab.windows().entries()) {
      await fp.loadWindow(slab, a, b);
      const inputs = slab.inputPointers();
      const ranges = rangesOf(s, a, b);
      slab.params.forEach((p, t) => {
        slab.setBase(p, t, inputs, ranges[t]![0], ranges[t]![1], mag, zeroRangeOn);
      });
      if (!slab.resident) beforeWindow?.(slab, s, w, ranges);
      await slab.run(kernel, ranges);
      if (!slab.resident) afterWindow?.(slab, s, w, ranges);
    }
    bad ||= slab.params.some((p) => slab.getU32(p, "bad") > 0);
  }
  return bad;
}

/**
 * Window `w`'s element of rank `r` from every (slab, thread)'s counts and collection; `caps` becomes the
 * exact room of a collection that overflowed (for the rerun).
 */
export function resolveWindow(
  fp: FastPcbState,
  w: number,
  win: { a: number; b: number },
  r: number,
  caps: PerThread,
): Resolution {
  let below = 0;
  let inWin = 0;
  const colls: (Float32Array | undefined)[] = [];
  fp.slabs.forEach((slab, s) => {
    slab.params.forEach((p, t) => {
      const x = slab.readWin(p, w);
      below += x.below;
      inWin += x.inWin;
      if (!x.values) caps[s]![t] = x.fill;
      colls.push(x.values);
    });
  });
  return resolveRank(r, win, below, inWin, colls);
}
