import type { BranchSamples } from "./branch-fit.js";
import { weightedMedian } from "./stats.js";

/** One conductor type: per-length positive-sequence impedance in pu per km on the feeder base. */
export interface LibraryConductor {
  readonly id: string;
  readonly rPuPerKm: number;
  readonly xPuPerKm: number;
}

export interface LibraryFit {
  readonly conductor: string;
  /** Other library ids with the same R/X (within 0.5 %), indistinguishable from data. */
  readonly ties: readonly string[];
  readonly lengthKm: number;
  readonly r: number;
  readonly x: number;
  readonly loss: number;
}

/**
 * Groups entries with the same R/X ratio (within tol): data only identify the ratio and the
 * length × |z'| product, so such entries form one "type family".
 */
export function dedupeLibrary(
  lib: readonly LibraryConductor[],
  tol = 0.005,
): { rep: LibraryConductor; members: string[] }[] {
  const groups: { rep: LibraryConductor; members: string[] }[] = [];
  for (const c of lib) {
    const ratio = c.rPuPerKm / c.xPuPerKm;
    const g = groups.find((g) => {
      const gr = g.rep.rPuPerKm / g.rep.xPuPerKm;
      const gz = Math.hypot(g.rep.rPuPerKm, g.rep.xPuPerKm);
      const cz = Math.hypot(c.rPuPerKm, c.xPuPerKm);
      return Math.abs(ratio / gr - 1) <= tol && Math.abs(cz / gz - 1) <= tol;
    });
    if (g) g.members.push(c.id);
    else groups.push({ rep: c, members: [c.id] });
  }
  return groups;
}

/**
 * Conductor-library fit by enumeration: for each type k the model is
 * y = L g + L² h with g = a r' + b x', h = c |z'|²; the length L is fitted by LAD (weighted
 * median of (y − L² h)/g, weights |g|) or LS (closed form) with the L² term from the previous
 * pass; the type with the smallest loss wins. Exact enumeration, no solver.
 */
export function fitBranchLibrary(
  s: BranchSamples,
  library: readonly LibraryConductor[],
  kind: "lad" | "ls",
  bounds: { minKm: number; maxKm: number } = { minKm: 1e-4, maxKm: 100 },
): LibraryFit {
  const T = s.y.length;
  const ratio = new Float64Array(T);
  const weight = new Float64Array(T);
  let best: LibraryFit | undefined;
  for (const { rep, members } of dedupeLibrary(library)) {
    const rp = rep.rPuPerKm;
    const xp = rep.xPuPerKm;
    const z2 = rp * rp + xp * xp;
    let L = 0;
    for (let pass = 0; pass < 3; pass++) {
      if (kind === "lad") {
        let m = 0;
        for (let t = 0; t < T; t++) {
          const g = s.a[t]! * rp + s.b[t]! * xp;
          if (g === 0) continue;
          ratio[m] = (s.y[t]! - L * L * s.c[t]! * z2) / g;
          weight[m] = Math.abs(g);
          m++;
        }
        L = m > 0 ? weightedMedian(ratio, weight, m) : 0;
      } else {
        let num = 0;
        let den = 0;
        for (let t = 0; t < T; t++) {
          const g = s.a[t]! * rp + s.b[t]! * xp;
          num += g * (s.y[t]! - L * L * s.c[t]! * z2);
          den += g * g;
        }
        L = den > 0 ? num / den : 0;
      }
      L = Math.min(bounds.maxKm, Math.max(bounds.minKm, L));
    }
    let loss = 0;
    for (let t = 0; t < T; t++) {
      const e = s.y[t]! - L * (s.a[t]! * rp + s.b[t]! * xp) - L * L * s.c[t]! * z2;
      loss += kind === "lad" ? Math.abs(e) : e * e;
    }
    if (!best || loss < best.loss) {
      best = { conductor: members[0]!, ties: members.slice(1), lengthKm: L, r: L * rp, x: L * xp, loss };
    }
  }
  if (!best) throw new Error("conductor library is empty");
  return best;
}
