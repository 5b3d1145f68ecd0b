import { describe, expect, it } from "vitest";
import { fitImpedancesJoint, identifyGrid, identifyImpedances } from "../src/identify/index.js";
import { type Feeder, ieee37 } from "../src/index.js";
import { generateMeterData } from "./identify-fixtures.js";

function medianErrors(f: Feeder, est: { bus: number; r: number; x: number }[]): { r: number; x: number } {
  const med = (a: number[]) => a.sort((u, v) => u - v)[a.length >> 1]!;
  const r: number[] = [];
  const x: number[] = [];
  for (const e of est) {
    const br = f.branches[e.bus - 1]!;
    r.push(Math.abs(e.r / br.rPu - 1));
    x.push(Math.abs(e.x / br.xPu - 1));
  }
  return { r: med(r), x: med(x) };
}

describe("joint impedance fit", () => {
  const f = ieee37();

  it("recovers r and x of every branch from noise-free AC data (after loss correction)", () => {
    const d = generateMeterData(f, { samples: 1500, seed: 11 });
    const est = fitImpedancesJoint(d, f.parent);
    expect(est).toHaveLength(f.branches.length);
    for (const e of est) {
      const br = f.branches[e.bus - 1]!;
      expect(e.parent).toBe(f.parent[e.bus]);
      expect(Math.abs(e.r / br.rPu - 1)).toBeLessThan(1e-3);
      expect(Math.abs(e.x / br.xPu - 1)).toBeLessThan(1e-2);
    }
  });

  it("beats the per-branch LS sweep on noisy data (shared voltage noise used once)", () => {
    const d = generateMeterData(f, { samples: 3000, seed: 12, sigmaV: 3.3e-4, sigmaPq: 1.7e-3 });
    const joint = medianErrors(f, fitImpedancesJoint(d, f.parent));
    const ls = medianErrors(f, identifyImpedances(d, f.parent, { method: "ls" }));
    expect(joint.r).toBeLessThan(ls.r);
    expect(joint.x).toBeLessThan(ls.x);
  });

  it("is available as the pipeline's stage 2 (method 'joint') and refuses the conductor library", () => {
    const d = generateMeterData(f, { samples: 1500, seed: 13 });
    const model = identifyGrid(d, { method: "joint" });
    expect(model.impedance.method).toBe("joint");
    expect(model.branches).toHaveLength(f.branches.length);
    expect(() => identifyGrid(d, { method: "joint", library: [] })).toThrow(/library/);
  });
});
