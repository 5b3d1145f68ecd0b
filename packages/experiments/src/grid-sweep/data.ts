/** Helpers of the grid sweep on simulated data: prefixes for re-metering, wrong buses, LP regression samples. */
import type { BranchSamples, Feeder, SmartMeterData } from "@x/grid-model";
import type { Grid } from "./types.js";

/** Branch regression samples of evenly spaced branches on the true tree (exact flows from the measured loads). */
export function sampleBranches(grid: Grid, d: SmartMeterData, f: Feeder, count: number): BranchSamples[] {
  // Stage 2 on the true tree with LS gives the flows; rebuild y, a, b, c per chosen branch.
  const est = grid.identifyImpedances(d, f.parent, { method: "ls", keepCurrents: true });
  const picks = est.filter((_, k) => k % Math.max(1, Math.floor(est.length / count)) === 0).slice(0, count);
  return picks.map((e) => {
    const T = d.samples;
    const vi = d.vm[e.parent]!;
    const vj = d.vm[e.bus]!;
    const l = e.l!;
    const y = new Float64Array(T);
    const a = new Float64Array(T);
    const b = new Float64Array(T);
    const c = new Float64Array(T);
    // Receiving-end flows from the subtree sums (loads plus downstream estimated losses).
    const P = new Float64Array(T);
    const Q = new Float64Array(T);
    const sub = subtree(f, e.bus);
    const lossOf = new Map(est.map((x) => [x.bus, x]));
    for (const k of sub) {
      const pk = d.p[k]!;
      const qk = d.q[k]!;
      const lk = k === e.bus ? undefined : lossOf.get(k);
      for (let t = 0; t < T; t++) {
        P[t] = P[t]! + pk[t]! + (lk ? lk.r * lk.l![t]! : 0);
        Q[t] = Q[t]! + qk[t]! + (lk ? lk.x * lk.l![t]! : 0);
      }
    }
    for (let t = 0; t < T; t++) {
      y[t] = vi[t]! * vi[t]! - vj[t]! * vj[t]!;
      a[t] = 2 * P[t]!;
      b[t] = 2 * Q[t]!;
      c[t] = l[t]!;
    }
    return { y, a, b, c };
  });
}

/**
 * Buses whose estimated edge to their parent is not a true edge (undirected), ignoring zero-impedance switches
 * (evaluateIdentification merges those, so their two ends are interchangeable).
 */
export function wrongBuses(f: Feeder, parent: Int32Array): string[] {
  const truth = new Set<string>();
  const zero = new Uint8Array(f.parent.length);
  for (const br of f.branches) {
    truth.add(`${Math.min(br.from, br.to)}-${Math.max(br.from, br.to)}`);
    if (Math.hypot(br.rPu, br.xPu) <= 2e-5) zero[br.from] = zero[br.to] = 1;
  }
  const out: string[] = [];
  for (let j = 0; j < parent.length; j++) {
    const p = parent[j]!;
    if (p < 0 || zero[j] || zero[p]) continue;
    if (!truth.has(`${Math.min(j, p)}-${Math.max(j, p)}`)) out.push(f.buses[j]!.name);
  }
  return out;
}

/** The first T intervals of a simulation that kept its noise-free truth (for re-metering). */
export function prefixData(d: SmartMeterData, T: number): SmartMeterData {
  const cut = (a: readonly Float64Array[]) => a.map((s) => s.slice(0, T));
  const truth = d.truth!;
  return {
    ...d,
    samples: T,
    startMinute: d.startMinute.slice(0, T),
    vm: cut(d.vm),
    p: cut(d.p),
    q: cut(d.q),
    truth: { ...truth, samples: T, vm: cut(truth.vm), p: cut(truth.p), q: cut(truth.q) },
  };
}

export function subtree(f: Feeder, root: number): number[] {
  const out = [root];
  for (let h = 0; h < out.length; h++) out.push(...f.children[out[h]!]!);
  return out;
}

export function sliceSamples(s: BranchSamples, T: number): BranchSamples {
  return { y: s.y.subarray(0, T), a: s.a.subarray(0, T), b: s.b.subarray(0, T), c: s.c.subarray(0, T) };
}
