import { describe, expect, it } from "vitest";
import { branchLoss } from "../src/identify/branch-fit.js";
import {
  accuracyClassSigma,
  builtinFeeder,
  createLpSolver,
  evaluateIdentification,
  findSpikes,
  fitBranchLad,
  fitBranchRobust,
  identifyGrid,
  imputeMissing,
  type MeterSeries,
  simulateSmartMeters,
  testResiduals,
} from "../src/index.js";
import { chiSquaredQuantile } from "../src/robust/residuals.js";
import { generateMeterData } from "./identify-fixtures.js";

const f13 = builtinFeeder("ieee13");
const clean = simulateSmartMeters(f13, {
  samples: 1500,
  seed: 7,
  meters: "all",
  junctionLoad: 0.02,
  voltageSigma: accuracyClassSigma(0.1),
  powerSigma: accuracyClassSigma(0.5),
});

/** A copy of the data with single readings multiplied by a factor. */
function corrupt(d: MeterSeries, cells: [string, "v" | "p" | "q", number, number][]): MeterSeries {
  const vm = d.vm.map((s) => Float64Array.from(s));
  const p = d.p.map((s) => Float64Array.from(s));
  const q = d.q.map((s) => Float64Array.from(s));
  for (const [bus, k, t, factor] of cells) {
    const j = d.busNames.indexOf(bus);
    const s = (k === "v" ? vm : k === "p" ? p : q)[j]!;
    s[t] = s[t]! * factor;
  }
  return { ...d, vm, p, q };
}

describe("bad data: single readings", () => {
  it("the spike screen flags exactly the injected gross readings (×10 P/Q, ×1.2 |V|) and nothing of a whole sample", () => {
    const cells: [string, "v" | "p" | "q", number, number][] = [
      ["675", "p", 100, 10],
      ["611", "q", 200, 10],
      ["634", "v", 300, 1.2],
      ["652", "p", 300, 10],
    ];
    const flags = findSpikes(corrupt(clean, cells));
    const got = new Set(flags.map((r) => `${r.bus}.${r.quantity}.${r.sample}`));
    for (const [b, k, t] of cells) expect(got.has(`${b}.${k}.${t}`)).toBe(true);
    // Genuine load variation rarely trips it: < 0.2 % of the readings.
    expect(flags.length - cells.length).toBeLessThan(0.002 * 1500 * 13 * 3);
    const r = flags.find((x) => x.bus === "634")!;
    expect(r.reason).toMatch(/robust σ from its neighbours' median/);
    expect(r.expected / r.value).toBeCloseTo(1 / 1.2, 1);
  });

  it("the largest normalised residual names a voltage error the spike screen cannot see", () => {
    // A 1 % voltage error is far inside normal variation in time but not in the power-flow equations.
    const d = generateMeterData(f13, { samples: 800, seed: 2, sigmaV: 1e-4, sigmaPq: 3e-4 });
    const bad = corrupt(d, [["671", "v", 400, 1.01]]);
    expect(findSpikes(bad).some((r) => r.bus === "671" && r.sample === 400)).toBe(false);
    const r = new Float64Array(f13.buses.length).fill(Number.NaN);
    const x = new Float64Array(f13.buses.length).fill(Number.NaN);
    for (const br of f13.branches) {
      r[br.to] = br.rPu;
      x[br.to] = br.xPu;
    }
    const res = testResiduals(bad, f13.parent, r, x);
    const hit = res.flags.find((fl) => fl.sample === 400);
    expect(hit).toMatchObject({ bus: "671", quantity: "v", test: "residual" });
    expect(hit!.expected).toBeCloseTo(d.vm[f13.buses.findIndex((b) => b.name === "671")]![400]!, 3);
    expect(res.chiSquaredFailed.before).toBeGreaterThan(res.chiSquaredFailed.after);
  });

  it("chi-squared quantiles match the tables", () => {
    expect(chiSquaredQuantile(10, 0.05)).toBeCloseTo(18.31, 1);
    expect(chiSquaredQuantile(30, 0.001)).toBeCloseTo(59.7, 0);
  });

  it("fills gaps with the conditional expectation, far closer than interpolation in time", () => {
    const d = generateMeterData(f13, { samples: 1000, seed: 3, sigmaV: 1e-4, sigmaPq: 1e-3 });
    const holes = corrupt(d, []);
    const j = 5;
    for (let t = 100; t < 900; t += 7) {
      holes.vm[j]![t] = Number.NaN;
      holes.p[j + 1]![t] = Number.NaN;
    }
    const filled = imputeMissing(holes);
    let errV = 0;
    let n = 0;
    for (let t = 100; t < 900; t += 7) {
      errV += (filled.vm[j]![t]! - d.vm[j]![t]!) ** 2;
      n++;
      expect(Number.isNaN(filled.p[j + 1]![t]!)).toBe(false);
    }
    // i.i.d. loads make interpolation useless here; the joint model predicts |V| to about the meter noise.
    expect(Math.sqrt(errV / n)).toBeLessThan(5e-4);
    expect(holes.vm[j]![100]).toBeNaN(); // inputs are not modified
  });
});

describe("bad data: branch fits", () => {
  it("IRLS reaches the LP's LAD optimum", async () => {
    const solver = await createLpSolver("highs");
    const d = generateMeterData(f13, { samples: 600, seed: 5, sigmaV: 3e-4, sigmaPq: 2e-3 });
    const model = identifyGrid(d, { method: "lad", badData: false });
    expect(model.branches.length).toBe(13);
    // Compare on one branch: LAD loss of the exact model at both estimates.
    const est = identifyGrid(d, { method: "lad", badData: false, lad: { engine: "lp" }, solver });
    for (let k = 0; k < est.branches.length; k++) {
      const a = model.branches[k]!;
      const b = est.branches[k]!;
      expect(a.to).toBe(b.to);
      expect(Math.abs(a.rPu - b.rPu)).toBeLessThan(0.02 * b.rPu + 1e-6);
    }
  });

  it("LAD with rejection resists a leverage point that pulls plain LAD", () => {
    const T = 400;
    const a = Float64Array.from({ length: T }, (_, t) => 0.2 + 0.1 * Math.sin(t / 7));
    const b = Float64Array.from({ length: T }, (_, t) => 0.1 + 0.05 * Math.cos(t / 5));
    const c = Float64Array.from({ length: T }, (_, t) => (a[t]! ** 2 + b[t]! ** 2) / 4);
    const r = 0.01;
    const x = 0.02;
    const y = Float64Array.from(
      { length: T },
      (_, t) => a[t]! * r + b[t]! * x + c[t]! * (r * r + x * x) + 1e-6 * Math.sin(t),
    );
    // A tenfold flow reading: the regressor, not the response, is wrong in 2 % of the samples.
    for (let t = 0; t < T; t += 50) a[t] = a[t]! * 10;
    const s = { y, a, b, c };
    const plain = fitBranchLad(s, undefined);
    const robust = fitBranchRobust(s);
    expect(robust.rejected.length).toBeGreaterThanOrEqual(T / 50);
    expect(Math.abs(robust.r / r - 1)).toBeLessThan(Math.abs(plain.r / r - 1));
    expect(Math.abs(robust.r / r - 1)).toBeLessThan(0.01);
    expect(branchLoss(s, robust.r, robust.x, "lad")).toBeGreaterThan(0);
  });
});

describe("identifyGrid with bad data", () => {
  it("names what it rejected, still finds the 13-bus tree, and reports edge confidence", () => {
    const bad = simulateSmartMeters(f13, {
      samples: 2880,
      seed: 1,
      meters: "all",
      junctionLoad: 0.02,
      voltageSigma: accuracyClassSigma(0.1),
      powerSigma: accuracyClassSigma(0.5),
      missing: 0.05,
      grossErrors: { rate: 0.01 },
    });
    const steps: string[] = [];
    const model = identifyGrid(bad, { onProgress: (p) => steps.push(p.stage) });
    const m = evaluateIdentification(f13, model.branches);
    expect(m.exactTree).toBe(true);
    expect(m.wrongEdges).toEqual([]);
    const report = model.badData!;
    expect(report.readings.length).toBeGreaterThan(800); // ≈ 1 % of 2880 × 13 × 3 readings
    expect(report.missing).toBeGreaterThan(0);
    expect(new Set(report.readings.map((r) => r.test))).toEqual(new Set(["spike", "residual"]));
    for (const b of model.branches) expect(b.confidence).toBeGreaterThan(0.5);
    expect(steps[0]).toBe("screening");
    expect(steps.at(-1)).toBe("impedances");
    expect(JSON.parse(JSON.stringify(model)).badData.readings.length).toBe(report.readings.length);
  });
});

describe("zero-injection junctions", () => {
  it("a known zero injection keeps an unloaded bus off a zero-impedance placement (ieee13, seed 3)", () => {
    const d = simulateSmartMeters(f13, {
      samples: 2880,
      seed: 3,
      meters: "all",
      junctionLoad: 0,
      voltageSigma: accuracyClassSigma(0.1),
      powerSigma: accuracyClassSigma(0.5),
    });
    const withPrior = evaluateIdentification(f13, identifyGrid(d).branches);
    const without = evaluateIdentification(
      f13,
      identifyGrid(d, { topology: { zeroInjectionPrior: 0 } }).branches,
    );
    expect(withPrior.exactTree).toBe(true);
    expect(without.exactTree).toBe(false);
    expect(without.wrongEdges.some((e) => e.to === "680" || e.from === "680")).toBe(true);
  });
});
