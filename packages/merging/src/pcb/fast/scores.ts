// The score statistics: per task, the drop threshold t_i = s[⌊D(1−r)⌋] and the maximum of the balance
// scores, and the candidates (exact scores ≥ the window's low end, with positions) the merge reads.
// Scores certainly below a window are ruled out by a proven float32 bound (sureBelowBound); the others
// are computed exactly.

import { StreamingQuantile } from "@x/tensor-core";
import { dropIndex } from "../options.js";
import { type MagnitudeStats, ScoreStats } from "../score.js";
import { type PerThread, resolveWindow, roomsFor, runPass } from "./pass.js";
import type { KernelMagnitude, Slab } from "./slab.js";
import { type FastPcbState, FastPcbUnsupported } from "./state.js";
import {
  isPoint,
  lowerBound,
  type Resolution,
  roomFor,
  type ValueWindow,
  windowsFromSample,
} from "./windows.js";

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

/**
 * Score-pass ranges of a resident slab with equal expected cost: a position costs about 1 per task to
 * classify plus 7 per task whose score may lie at or above the window (exact scoring), as seen in the
 * sample. Equal position counts left one thread with twice the work where task vectors concentrate.
 */
function balancedRanges(
  fp: FastPcbState,
  slab: Slab,
  samples: readonly Float32Array[],
  lows: readonly number[],
): [number, number][] {
  const T = slab.params.length;
  const [[j0, j1]] = fp.sample.indices([[slab.p0, slab.p1]]) as [[number, number]];
  if (j1 - j0 < T) return slab.equalRanges(slab.p0, slab.p1);
  const pos = fp.sample.pos;
  const m = j1 - j0;
  const cum = new Float64Array(m + 1);
  for (let j = 0; j < m; j++) {
    let w = fp.n;
    for (let i = 0; i < fp.n; i++) if (samples[i]![j0 + j]! >= lows[i]!) w += 7;
    cum[j + 1] = cum[j]! + w;
  }
  const bounds = [slab.p0];
  for (let t = 1; t < T; t++) {
    const j = Math.min(m - 1, lowerBound(cum, (cum[m]! * t) / T));
    const b = slab.p0 + Math.floor((pos[j0 + j]! - slab.p0) / 4) * 4;
    bounds.push(Math.max(bounds[t - 1]!, Math.min(b, slab.p1)));
  }
  bounds.push(slab.p1);
  return bounds.slice(0, T).map((k0, t) => [k0, bounds[t + 1]!]);
}

type ScoreWindow = ValueWindow & { sureBelow: number };

/**
 * Room of a streamed slab's candidate lists per window, thread and task, from the share of sampled
 * scores at or above each window's low end inside that window's thread range (candidates concentrate
 * where task vectors are large, so one share for the whole slab does not do).
 */
function streamedCaps(
  fp: FastPcbState,
  slab: Slab,
  samples: readonly Float32Array[],
  wins: readonly ScoreWindow[],
): number[][][] {
  return slab.windows().map(([a, b]) => {
    const ranges = slab.equalRanges(a, b);
    return fp.sample.indices(ranges).map(([j0, j1], t) => {
      const len = ranges[t]![1] - ranges[t]![0];
      return wins.map((w, i) => {
        let c = 0;
        for (let j = j0; j < j1; j++) if (samples[i]![j]! >= w.a) c++;
        const share = j1 > j0 ? Math.min(1, (c + 1) / (j1 - j0)) : 1;
        return Math.ceil((roomFor(share, len, 1.6) + 4096) * (fp.spec.roomScale ?? 1));
      });
    });
  });
}

async function scorePass(
  fp: FastPcbState,
  mag: KernelMagnitude,
  wins: ScoreWindow[],
  winCaps: PerThread[],
  candCaps: PerThread[],
  samples: readonly Float32Array[],
): Promise<{ res: Resolution[]; candOverflow: boolean; bad: boolean }> {
  const perWindow = fp.slabs.map((slab) => (slab.resident ? [] : streamedCaps(fp, slab, samples, wins)));
  const bad = await runPass(
    fp,
    "score_pass",
    mag,
    (slab, s, p, t) => {
      for (let i = 0; i < fp.n; i++) {
        const cap = winCaps[i]![s]![t]!;
        slab.setWin(p, i, wins[i]!, slab.buffer(`win-${t}-${i}`, cap * 4), cap);
        // A streamed slab's lists hold one window's candidates (kept after each window while the
        // budget allows, else its merge recomputes them); 4 spare slots: the kernel stores whole
        // vectors of packed candidates.
        const cc = slab.resident ? candCaps[i]![s]![t]! : Math.max(...perWindow[s]!.map((w) => w[t]![i]!));
        slab.setU32(p, "candPos", slab.buffer(`pos-${t}-${i}`, (cc + 4) * 4), i);
        slab.setU32(p, "candVal", slab.buffer(`val-${t}-${i}`, (cc + 4) * 4), i);
        slab.setU32(p, "candCap", cc, i);
        slab.setU32(p, "candCount", 0, i);
        slab.setF32(p, "maxB", Number.NEGATIVE_INFINITY, i);
      }
    },
    (s, a, b) => (fp.slabs[s]!.resident ? fp.scoreRanges[s]! : fp.slabs[s]!.equalRanges(a, b)),
    (slab, s, w, ranges) => {
      fp.kept.keepWindow(slab, s, w, ranges, (t, i) => perWindow[s]![w]![t]![i]!);
    },
    (slab, s, w) => {
      slab.params.forEach((p, t) => {
        for (let i = 0; i < fp.n; i++) slab.setU32(p, "candCap", perWindow[s]![w]![t]![i]!, i);
      });
    },
  );
  let candOverflow = false;
  const k = dropIndex(fp.total, fp.spec.options.ratio);
  const res = wins.map((w, i) => {
    fp.slabs.forEach((slab, s) => {
      if (!slab.resident) return;
      slab.params.forEach((p, t) => {
        const count = slab.getU32(p, "candCount", i);
        if (count > candCaps[i]![s]![t]!) candOverflow = true;
        candCaps[i]![s]![t] = Math.max(candCaps[i]![s]![t]!, count);
      });
    });
    return resolveWindow(fp, i, w, k, winCaps[i]!);
  });
  return { res, candOverflow, bad };
}

/** Exact drop thresholds of all tasks from two sweeps of emitted scores. */
async function thresholdSweep(fp: FastPcbState, mag: KernelMagnitude): Promise<number[]> {
  const r = fp.spec.options.ratio;
  const zeroRangeOn = fp.spec.options.nanGuard === "on";
  const sels = Array.from({ length: fp.n }, () => new StreamingQuantile((d) => [dropIndex(d, r)]));
  const chunk = 1 << 16;
  const sweep = (add: (s: StreamingQuantile, row: Float32Array) => void) =>
    fp.forEachWindow((slab, a, b) => {
      const inputs = slab.inputPointers();
      for (let k = a; k < b; k += chunk) {
        const rows = slab.emitScores(inputs, k, Math.min(b, k + chunk), mag, zeroRangeOn);
        rows.forEach((row, i) => {
          add(sels[i]!, row);
        });
      }
    });
  await sweep((s, row) => s.addTop(row));
  for (const s of sels) s.finishTop();
  await sweep((s, row) => s.addLow(row));
  return sels.map((s) => s.finishLow()[0]!);
}

export async function scoreStats(
  fp: FastPcbState,
  mag: MagnitudeStats,
): Promise<{ score: ScoreStats; paths: string[] }> {
  const { n, total: D } = fp;
  const host = fp.slabs[0]!;
  const zeroRangeOn = fp.spec.options.nanGuard === "on";
  const samples = host.emitScores(fp.sample.slots, 0, fp.sample.size, mag, zeroRangeOn);
  if (samples.some((row) => row.some((v) => Number.isNaN(v))))
    throw new FastPcbUnsupported("pcb fast path: NaN balance scores");
  const k = dropIndex(D, fp.spec.options.ratio);
  const thr = new Float32Array(n);
  const found: boolean[] = new Array(n).fill(false);
  const paths: string[] = new Array(n).fill("sweep");
  const width = fp.spec.windowWidth ?? 6;
  const rangesOf = (s: number) => (fp.slabs[s]!.resident ? fp.scoreRanges[s] : undefined);
  const caps = (wins: ScoreWindow[]) => ({
    win: wins.map((w, i) => roomsFor(fp, samples[i]!, w.a, w.b, isPoint(w), rangesOf)),
    cand: wins.map((w, i) =>
      roomsFor(fp, samples[i]!, w.a, Number.POSITIVE_INFINITY, false, rangesOf, 1.25).map((rs) =>
        rs.map((r) => Math.ceil((r * 1.02 + 4096) * (fp.spec.roomScale ?? 1))),
      ),
    ),
  });
  const windowsAt = (widen: number): ScoreWindow[] =>
    samples.map((row) => {
      const w = windowsFromSample(row, [k], D, width * widen)[0]!;
      return { ...w, sureBelow: sureBelowBound(w.a) };
    });
  const first = windowsAt(1);
  // The score pass's thread ranges of each resident slab (the owners of its candidates), balanced by the sample.
  fp.scoreRanges = fp.slabs.map((slab) =>
    slab.resident
      ? balancedRanges(
          fp,
          slab,
          samples,
          first.map((w) => w.a),
        )
      : [],
  );
  for (const widen of [1, 8]) {
    fp.kept.clear();
    const wins = widen === 1 ? first : windowsAt(widen);
    const c = caps(wins);
    let out = await scorePass(fp, mag, wins, c.win, c.cand, samples);
    if (out.candOverflow || out.res.some((r) => r.kind === "overflow")) {
      fp.reruns++;
      fp.kept.clear();
      out = await scorePass(fp, mag, wins, c.win, c.cand, samples);
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
    // at the thresholds to collect the candidates (and the maxima).
    const t = await thresholdSweep(fp, mag);
    t.forEach((v, i) => {
      thr[i] = v;
    });
    const wins = Array.from(t, (v) => ({ a: v, b: v, share: 0, above: 1, sureBelow: sureBelowBound(v) }));
    fp.kept.clear();
    const c = caps(wins);
    let out = await scorePass(fp, mag, wins, c.win, c.cand, samples);
    if (out.candOverflow) {
      fp.reruns++;
      fp.kept.clear();
      out = await scorePass(fp, mag, wins, c.win, c.cand, samples);
    }
    if (out.bad || out.candOverflow) throw new FastPcbUnsupported("pcb fast path: score pass failed");
  }
  const max = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let m = Number.NEGATIVE_INFINITY;
    for (const slab of fp.slabs) {
      for (const p of slab.params) {
        const v = slab.getF32(p, "maxB", i);
        if (v > m) m = v;
      }
    }
    max[i] = m;
  }
  return { score: new ScoreStats(thr, max, fp.spec.options.nanGuard), paths };
}
