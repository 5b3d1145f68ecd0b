// Value windows around order statistics, chosen from a sample so that one counting pass over all
// elements finds the exact statistic: the pass counts the elements below the window and collects
// those inside; the rank then lies inside the window (selection among the collected values) or the
// window missed (the caller widens it or falls back to an exact sweep). The sample only decides
// speed, never the result.

import { selectKth, selectKths } from "@x/tensor-core";

export interface ValueWindow {
  readonly a: number;
  readonly b: number;
  /** Share of the sample inside [a, b]. */
  readonly share: number;
  /** Share of the sample ≥ a. */
  readonly above: number;
}

/** First index of ascending `s` whose value is ≥ x (NaN-free). */
export function lowerBound(s: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The windows for ranks `ks` of `total` elements from the (unsorted) sample `values`: each ± `width`
 * standard deviations of the sample rank (binomial), plus 0.7 · `width` elements (width 0: a single
 * sample value). The window ends are order statistics of the sample found by radix selection (one
 * histogram pass for all of them, instead of sorting the sample); shares are counted in one scan.
 */
export function windowsFromSample(
  values: Float32Array,
  ks: readonly number[],
  total: number,
  width: number,
): ValueWindow[] {
  const m = values.length;
  const ends = ks.map((k) => {
    const p = Math.min(1, Math.max(0, (k + 0.5) / total));
    const c = Math.floor(p * m);
    const d = Math.ceil(width * (Math.sqrt(m * p * (1 - p)) + 0.7));
    return [c - d, c + d] as const;
  });
  const want = ends.flat().filter((j) => j >= 0 && j < m);
  const got = want.length > 0 ? selectKths(values, want) : [];
  const at = (j: number) => got[want.indexOf(j)]!;
  const wins = ends.map(([lo, hi]) => ({
    a: lo < 0 ? Number.NEGATIVE_INFINITY : at(lo),
    b: hi >= m ? Number.POSITIVE_INFINITY : at(hi),
  }));
  const inside = new Array<number>(wins.length).fill(0);
  const atOrAbove = new Array<number>(wins.length).fill(0);
  for (let j = 0; j < m; j++) {
    const v = values[j]!;
    for (let w = 0; w < wins.length; w++) {
      if (v >= wins[w]!.a) {
        atOrAbove[w]!++;
        if (v <= wins[w]!.b) inside[w]!++;
      }
    }
  }
  return wins.map((w, i) => ({ ...w, share: inside[i]! / m, above: atOrAbove[i]! / m }));
}

/**
 * Room for an expected share of `len` elements: generous (`factor` × the mean), since an overflow
 * costs a whole pass. Window collections use 1.5×: heavy ties (BF16 task vectors) put atoms at the
 * window ends that a sample share underestimates, and their room costs only address space (the
 * kernels write just the values they meet). Candidate lists, ≈ 10 % of the elements and well
 * estimated, use 1.25× (they decide how large a model fits a WebAssembly memory).
 */
export function roomFor(share: number, len: number, factor = 1.5): number {
  const mean = share * len;
  return Math.ceil(factor * mean + 8 * Math.sqrt(mean) + 4096);
}

/** Whether a window holds a single value (then nothing is collected, counting suffices). */
export function isPoint(w: { a: number; b: number }): boolean {
  return Object.is(w.a, w.b);
}

export type Resolution =
  | { readonly kind: "found"; readonly value: number }
  | { readonly kind: "missed" }
  | { readonly kind: "overflow" };

/**
 * The element of rank `r` given a window's totals: `below` elements < a, `inWin` in [a, b], and the
 * collected values of each thread (undefined for a thread whose collection overflowed).
 */
export function resolveRank(
  r: number,
  w: { a: number; b: number },
  below: number,
  inWin: number,
  collected: readonly (Float32Array | undefined)[],
): Resolution {
  if (r < below || r >= below + inWin) return { kind: "missed" };
  if (isPoint(w)) return { kind: "found", value: w.a };
  if (collected.some((c) => c === undefined)) return { kind: "overflow" };
  const all = new Float32Array(inWin);
  let o = 0;
  for (const c of collected) {
    all.set(c!, o);
    o += c!.length;
  }
  return { kind: "found", value: selectKth(all, r - below) };
}
