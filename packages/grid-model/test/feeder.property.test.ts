import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildFeeder,
  distflowResidual,
  type FeederInput,
  feederToJson,
  linDistFlow,
  nominalLoadsPu,
  parseFeederJson,
  pathSumMatrices,
  solvePowerFlow,
} from "../src/index.js";

/** Random radial feeder input: random tree, shuffled lists, random branch orientation, impedances in pu. */
const feederInput = fc
  .integer({ min: 2, max: 40 })
  .chain((n) =>
    fc.record({
      parents: fc.tuple(...Array.from({ length: n - 1 }, (_, k) => fc.integer({ min: 0, max: k }))),
      r: fc.array(fc.double({ min: 1e-4, max: 0.03, noNaN: true }), { minLength: n - 1, maxLength: n - 1 }),
      x: fc.array(fc.double({ min: 0, max: 0.03, noNaN: true }), { minLength: n - 1, maxLength: n - 1 }),
      p: fc.array(fc.double({ min: 0, max: 0.01, noNaN: true }), { minLength: n, maxLength: n }),
      q: fc.array(fc.double({ min: 0, max: 0.008, noNaN: true }), { minLength: n, maxLength: n }),
      flip: fc.array(fc.boolean(), { minLength: n - 1, maxLength: n - 1 }),
      busOrder: fc.shuffledSubarray(
        Array.from({ length: n }, (_, i) => i),
        { minLength: n, maxLength: n },
      ),
      branchOrder: fc.shuffledSubarray(
        Array.from({ length: n - 1 }, (_, i) => i),
        { minLength: n - 1, maxLength: n - 1 },
      ),
    }),
  )
  .map(({ parents, r, x, p, q, flip, busOrder, branchOrder }): FeederInput => {
    const name = (i: number) => `b${i}`;
    return {
      id: "random",
      baseKvLl: 10,
      baseMva: 1,
      root: name(0),
      buses: busOrder.map((i) => ({
        name: name(i),
        pKw: i === 0 ? 0 : p[i] * 1000,
        qKvar: i === 0 ? 0 : q[i] * 1000,
      })),
      branches: branchOrder.map((k) => {
        const [a, b] = [name(parents[k]), name(k + 1)];
        return { name: `e${k + 1}`, from: flip[k] ? b : a, to: flip[k] ? a : b, rPu: r[k], xPu: x[k] };
      }),
    };
  });

describe("feeder invariants (property)", () => {
  it("buildFeeder yields BFS numbering, branch k feeding bus k+1, and keeps every impedance", () => {
    fc.assert(
      fc.property(feederInput, (input) => {
        const f = buildFeeder(input);
        expect(f.buses[0].name).toBe(input.root);
        for (let j = 1; j < f.buses.length; j++) {
          expect(f.parent[j]).toBeLessThan(j);
          expect(f.depth[j]).toBe(f.depth[f.parent[j]] + 1);
          const br = f.branches[j - 1];
          expect(br.to).toBe(j);
          expect(br.from).toBe(f.parent[j]);
          const src = input.branches.find((b) => b.name === br.name)!;
          expect(new Set([src.from, src.to])).toEqual(new Set([f.buses[br.from].name, f.buses[br.to].name]));
          expect(br.rPu).toBeCloseTo(src.rPu!, 14);
        }
        for (let k = 0; k + 1 < f.buses.length; k++) {
          // BFS: depth never decreases along the numbering.
          expect(f.depth[k + 1]).toBeGreaterThanOrEqual(f.depth[k]);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("AC sweep: DistFlow holds, power balances, losses ≥ 0, voltages drop under load", () => {
    fc.assert(
      fc.property(feederInput, (input) => {
        const f = buildFeeder(input);
        const loads = nominalLoadsPu(f);
        const pf = solvePowerFlow(f, loads, { tol: 1e-13 });
        expect(distflowResidual(f, pf, loads)).toBeLessThan(1e-11);
        let sp = 0;
        let sq = 0;
        for (let j = 1; j < f.buses.length; j++) {
          sp += loads.p[j];
          sq += loads.q[j];
          expect(pf.vm[j]).toBeLessThanOrEqual(pf.vm[f.parent[j]] + 1e-12);
        }
        expect(pf.lossP).toBeGreaterThanOrEqual(0);
        expect(pf.rootP).toBeCloseTo(sp + pf.lossP, 11);
        expect(pf.rootQ).toBeCloseTo(sq + pf.lossQ, 11);
        // LinDistFlow (no losses) never predicts lower voltages than AC for pure loads… and is close.
        const lin = linDistFlow(f, loads.p, loads.q, 1);
        for (let j = 0; j < f.buses.length; j++) {
          expect(Math.sqrt(lin.v[j])).toBeGreaterThanOrEqual(pf.vm[j] - 1e-12);
          expect(Math.sqrt(lin.v[j]) - pf.vm[j]).toBeLessThan(0.02);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("path-sum matrices reproduce LinDistFlow and JSON round-trips", () => {
    fc.assert(
      fc.property(feederInput, (input) => {
        const f = buildFeeder(input);
        const { p, q } = nominalLoadsPu(f);
        const { m, R, X } = pathSumMatrices(f);
        const lin = linDistFlow(f, p, q, 1);
        for (let i = 0; i < m; i++) {
          let s = 0;
          for (let k = 0; k < m; k++) s += R[i * m + k] * p[k + 1] + X[i * m + k] * q[k + 1];
          expect(1 - 2 * s).toBeCloseTo(lin.v[i + 1], 12);
        }
        const g = parseFeederJson(JSON.stringify(feederToJson(f)));
        expect(Array.from(g.parent)).toEqual(Array.from(f.parent));
        for (let k = 0; k < f.branches.length; k++)
          expect(g.branches[k].xPu).toBeCloseTo(f.branches[k].xPu, 15);
      }),
      { numRuns: 100 },
    );
  });
});
