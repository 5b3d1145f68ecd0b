import { CholeskyDecomposition, Matrix } from "ml-matrix";
import { gramOf } from "../identify/gram.js";
import { interpolateMissing, type MeterSeries } from "../identify/meter-data.js";
import { solveSpd } from "../identify/normal-equations.js";

/**
 * Missing readings filled with their conditional expectation given the other readings of the same sample, under a
 * joint Gaussian model of all series (v = |V|², p, q of every metered bus) whose mean and covariance are estimated
 * from the data by a few expectation–maximisation rounds (the first round starts from interpolation in time).
 * Voltages are linear in the loads on any radial feeder, so a missing voltage is predicted almost to meter
 * precision from the loads and the other voltages, and a missing load from the voltages it moves — without
 * knowing the topology, so the fill cannot bias the tree it is used to find. With the precision matrix
 * Λ = Σ⁻¹, E[z_m | z_o] = μ_m − Λ_mm⁻¹ Λ_mo (z_o − μ_o): one small solve per sample in the number of missing
 * readings. See docs/bad-data.md.
 */
export interface ImputeOptions {
  /** EM rounds (default 3). */
  readonly rounds?: number;
}

export function imputeMissing(data: MeterSeries, opts: ImputeOptions = {}): MeterSeries {
  const N = data.busNames.length;
  const T = data.samples;
  const root = data.root;
  // Columns: v of metered buses, p and q of non-root buses that vary.
  const cols: { kind: 0 | 1 | 2; bus: number; src: Float64Array }[] = [];
  const varies = (s: Float64Array) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let t = 0; t < T; t++) {
      const a = s[t]!;
      if (Number.isNaN(a)) continue;
      lo = Math.min(lo, a);
      hi = Math.max(hi, a);
    }
    return hi - lo > 1e-12 * Math.max(1, Math.abs(hi));
  };
  for (let j = 0; j < N; j++) {
    const vm = data.vm[j]!;
    if (vm.some((a) => !Number.isNaN(a)) && varies(vm))
      cols.push({ kind: 0, bus: j, src: Float64Array.from(vm, (a) => a * a) });
  }
  for (const [kind, all] of [
    [1, data.p],
    [2, data.q],
  ] as const)
    for (let j = 0; j < N; j++)
      if (j !== root && all[j]!.some((a) => !Number.isNaN(a)) && varies(all[j]!))
        cols.push({ kind, bus: j, src: all[j]! });
  const K = cols.length;
  const missing = cols.map((c) => {
    const idx: number[] = [];
    for (let t = 0; t < T; t++) if (Number.isNaN(c.src[t]!)) idx.push(t);
    return idx;
  });
  if (missing.every((m) => m.length === 0) || K === 0) return data;
  const cur = cols.map((c) => interpolateMissing(c.src));
  // Missing cells per sample.
  const bySample: number[][] = Array.from({ length: T }, () => []);
  missing.forEach((idx, c) => {
    for (const t of idx) bySample[t]!.push(c);
  });
  const rounds = opts.rounds ?? 3;
  for (let round = 0; round < rounds; round++) {
    const G = gramOf(cur, T);
    const mean = cur.map((x) => x.reduce((s, a) => s + a, 0) / T);
    const S = new Matrix(K, K);
    let trace = 0;
    for (let a = 0; a < K; a++) trace += G[a * K + a]! / T - mean[a]! ** 2;
    const ridge = 1e-10 * (trace / K);
    for (let a = 0; a < K; a++)
      for (let b = a; b < K; b++) {
        const v = G[a * K + b]! / T - mean[a]! * mean[b]! + (a === b ? ridge : 0);
        S.set(a, b, v);
        S.set(b, a, v);
      }
    const chol = new CholeskyDecomposition(S);
    if (!chol.isPositiveDefinite()) break;
    const L = chol.solve(Matrix.eye(K, K)); // Λ
    const dev = new Float64Array(K);
    for (let t = 0; t < T; t++) {
      const m = bySample[t]!;
      if (m.length === 0) continue;
      for (let a = 0; a < K; a++) dev[a] = cur[a]![t]! - mean[a]!;
      // Λ_mm α = −Λ_mo d_o, where d_o are the observed deviations (missing ones excluded).
      const miss = new Set(m);
      const M = m.map((a) => m.map((b) => L.get(a, b)));
      const rhs = m.map((a) => {
        let s = 0;
        for (let b = 0; b < K; b++) if (!miss.has(b)) s -= L.get(a, b) * dev[b]!;
        return s;
      });
      const z = solveSpd(M, rhs);
      if (!z) continue;
      m.forEach((a, i) => {
        cur[a]![t] = mean[a]! + z[i]!;
      });
    }
  }
  const vm = data.vm.map((s) => Float64Array.from(s));
  const p = data.p.map((s) => Float64Array.from(s));
  const q = data.q.map((s) => Float64Array.from(s));
  cols.forEach((c, a) => {
    const dst = c.kind === 0 ? vm[c.bus]! : c.kind === 1 ? p[c.bus]! : q[c.bus]!;
    for (const t of missing[a]!) dst[t] = c.kind === 0 ? Math.sqrt(Math.max(0, cur[a]![t]!)) : cur[a]![t]!;
  });
  return { busNames: data.busNames, root, samples: T, vm, p, q };
}
