import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  branchImpedancesPu,
  builtinFeeder,
  busIndex,
  distflowResidual,
  linDistFlow,
  nominalLoadsPu,
  PowerFlowError,
  pathSumMatrices,
  RadialSweep,
  solvePowerFlow,
  voltageDropReceiving,
} from "../src/index.js";

const SHARED = new URL("../../../../shared/data/feeders/", import.meta.url);
const ref69 = new URL("case69.json", SHARED);

describe("backward/forward sweep on the 69-bus feeder", () => {
  const f = builtinFeeder("ieee69");
  const loads = nominalLoadsPu(f);
  const pf = solvePowerFlow(f, loads);

  it("reproduces the published base case: V_min 0.9092 pu at bus 65, losses ≈ 225 kW", () => {
    let jmin = 0;
    for (let j = 1; j < f.buses.length; j++) if (pf.vm[j] < pf.vm[jmin]) jmin = j;
    expect(f.buses[jmin].name).toBe("65");
    expect(pf.vm[jmin]).toBeCloseTo(0.90919, 4);
    expect(pf.lossP * f.baseMva * 1000).toBeCloseTo(224.99, 1);
    // Substation supply = loads + losses (spec §7.1: 4027.1 kW + j2796.9 kvar).
    expect(pf.rootP * 1e4).toBeCloseTo(4027.1, 0);
    expect(pf.rootQ * 1e4).toBeCloseTo(2796.9, 0);
    expect(pf.converged).toBe(true);
  });

  it("satisfies the DistFlow equations to round-off", () => {
    // The residual is bounded by the sweep's convergence tolerance.
    expect(distflowResidual(f, pf, loads)).toBeLessThan(1e-9);
    const tight = solvePowerFlow(f, loads, { tol: 1e-14 });
    expect(distflowResidual(f, tight, loads)).toBeLessThan(1e-13);
  });

  it("receiving-end DistFlow form closes every branch", () => {
    const { r, x } = branchImpedancesPu(f);
    for (let j = 1; j < f.buses.length; j++) {
      const vi = pf.vm[f.parent[j]] ** 2;
      const vj = pf.vm[j] ** 2;
      const l = (pf.pRecv[j] ** 2 + pf.qRecv[j] ** 2) / vj;
      expect(l).toBeCloseTo(pf.l[j], 12);
      expect(vi - vj - voltageDropReceiving(r[j], x[j], pf.pRecv[j], pf.qRecv[j], l)).toBeCloseTo(0, 12);
    }
  });

  it("LinDistFlow is within 0.004 pu of AC at base load (spec §1: 0.0039)", () => {
    const lin = linDistFlow(f, loads.p, loads.q, 1);
    let worst = 0;
    for (let j = 0; j < f.buses.length; j++)
      worst = Math.max(worst, Math.abs(Math.sqrt(lin.v[j]) - pf.vm[j]));
    expect(worst).toBeGreaterThan(0.003);
    expect(worst).toBeLessThan(0.0045);
  });

  it("path-sum matrices reproduce LinDistFlow: v = v0 − 2Rp − 2Xq", () => {
    const { m, R, X } = pathSumMatrices(f);
    const lin = linDistFlow(f, loads.p, loads.q, 1);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += R[i * m + k] * loads.p[k + 1] + X[i * m + k] * loads.q[k + 1];
      expect(1 - 2 * s).toBeCloseTo(lin.v[i + 1], 12);
    }
  });

  it("a reused solver gives the same answer as a fresh one", () => {
    const sweep = new RadialSweep(f);
    const half = { p: loads.p.map((v) => v / 2), q: loads.q.map((v) => v / 2) };
    sweep.solve(half);
    const again = sweep.solve(loads);
    expect(Array.from(again.vm)).toEqual(Array.from(pf.vm));
  });

  it("non-finite loads raise PowerFlowError instead of returning NaN voltages", () => {
    const bad = { p: loads.p.map((v, j) => (j === 30 ? Number.NaN : v)), q: loads.q };
    expect(() => solvePowerFlow(f, bad)).toThrow(PowerFlowError);
    const heavy = { p: loads.p.map((v) => v * 20), q: loads.q.map((v) => v * 20) };
    expect(() => solvePowerFlow(f, heavy)).toThrow(/did not converge/);
  });

  it("warm start converges to the same solution in fewer sweeps", () => {
    const warm = new RadialSweep(f);
    const cold = new RadialSweep(f);
    let itWarm = 0;
    let itCold = 0;
    for (let k = 0; k < 20; k++) {
      const s = 0.8 + 0.02 * k;
      const l = { p: loads.p.map((v) => v * s), q: loads.q.map((v) => v * s) };
      const a = warm.solve(l, { warmStart: true, v0: 1 + 0.001 * k });
      const b = cold.solve(l, { v0: 1 + 0.001 * k });
      if (k > 0) {
        itWarm += a.iterations;
        itCold += b.iterations;
      }
      for (let j = 0; j < f.buses.length; j++) expect(a.vm[j]).toBeCloseTo(b.vm[j], 9);
    }
    expect(itWarm).toBeLessThan(itCold);
  });

  it.skipIf(!existsSync(ref69))("matches the reference case69.json impedances and loads", () => {
    const ref = JSON.parse(readFileSync(ref69, "utf8"));
    for (const b of ref.buses) {
      const j = busIndex(f, b.name);
      expect(f.buses[j].pKw).toBeCloseTo(b.p_kw, 6);
      expect(f.buses[j].qKvar).toBeCloseTo(b.q_kvar, 6);
    }
    for (const br of ref.branches) {
      const j = busIndex(f, ref.buses[br.to].name);
      expect(f.buses[f.parent[j]].name).toBe(ref.buses[br.from].name);
      expect(f.branches[j - 1].rOhm).toBeCloseTo(br.r_ohm, 9);
      expect(f.branches[j - 1].xOhm).toBeCloseTo(br.x_ohm, 9);
      expect(f.branches[j - 1].rPu).toBeCloseTo(br.r_pu, 9);
    }
  });
});
