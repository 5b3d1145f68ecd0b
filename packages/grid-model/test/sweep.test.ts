import { describe, expect, it } from "vitest";
import {
  branchImpedancesPu,
  case69,
  createLpSolver,
  evaluateIdentification,
  identifyGrid,
  identifyImpedances,
  ieee13,
  ieee37,
  mergeNegligibleBranches,
} from "../src/index.js";
import { generateMeterData } from "./identify-fixtures.js";

const highs = await createLpSolver("highs");

describe("stage 2 bottom-up sweep", () => {
  const feeders = { ieee13: mergeNegligibleBranches(ieee13()), ieee37: ieee37(), ieee69: case69() };
  it.each(Object.entries(feeders))(
    "is exact on noise-free AC data of %s (spec oracle, rel. error < 1e-6)",
    (_, f) => {
      const z = branchImpedancesPu(f);
      const d = generateMeterData(f, { samples: 400, seed: 11 });
      for (const method of ["ls", "lad"] as const) {
        const est = identifyImpedances(d, f.parent, { method, solver: highs });
        expect(est).toHaveLength(f.branches.length);
        for (const e of est) {
          expect(Math.abs(e.r - z.r[e.bus]!)).toBeLessThan(1e-6 * z.r[e.bus]! + 1e-12);
          expect(Math.abs(e.x - z.x[e.bus]!)).toBeLessThan(1e-6 * z.x[e.bus]! + 1e-12);
        }
      }
    },
  );

  it("handles missing readings and outliers: LAD stays accurate, LS degrades", () => {
    const f = feeders.ieee13;
    const d = generateMeterData(f, {
      samples: 1500,
      sigmaV: 1e-5,
      sigmaPq: 1e-4,
      missing: 0.01,
      outliers: 0.003,
      seed: 12,
    });
    const branches = (method: "lad" | "ls") =>
      identifyImpedances(d, f.parent, { method, solver: highs }).map((e) => ({
        from: f.buses[e.parent]!.name,
        to: f.buses[e.bus]!.name,
        rPu: e.r,
        xPu: e.x,
      }));
    const lad = evaluateIdentification(f, branches("lad"));
    const ls = evaluateIdentification(f, branches("ls"));
    expect(lad.medianApeZ).toBeLessThan(2);
    expect(ls.medianApeZ).toBeGreaterThan(lad.medianApeZ);
  });
});

describe("identifyGrid end to end", () => {
  it("identifies the 13-bus feeder from 0.1%-class meter data (CI end-to-end)", () => {
    const f = mergeNegligibleBranches(ieee13());
    const d = generateMeterData(f, { samples: 2880, sigmaV: 3.3e-4, sigmaPq: 1e-3, seed: 21 });
    const model = identifyGrid(d, { method: "lad", solver: highs, zBaseOhm: f.zBaseOhm });
    const m = evaluateIdentification(f, model.branches);
    expect(m.exactTree).toBe(true);
    expect(m.medianApeZ).toBeLessThan(5);
    expect(model.branches[0]!.rOhm).toBeCloseTo(model.branches[0]!.rPu * f.zBaseOhm, 12);
    expect(JSON.parse(JSON.stringify(model)).format).toBe("x-grid-model/1");
  });
});
