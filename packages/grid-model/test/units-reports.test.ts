import { describe, expect, it } from "vitest";
import {
  formatEvaluation,
  formatIdentificationSummary,
  formatSimulationSummary,
  type GridModel,
  GridUnitError,
  type IdentificationMetrics,
  identificationSummary,
  meterNoiseSigmas,
  parseImpedancePu,
  parseMinutes,
  parseRate,
  parseReadingUnits,
  parseVoltageStep,
  parseZipFractions,
  REALISTIC,
  simulationEffects,
} from "../src/index.js";

describe("meter units", () => {
  it("reads rates, durations and register steps", () => {
    expect(parseRate("0.1%")).toBeCloseTo(0.001, 15);
    expect(parseRate("0.002")).toBe(0.002);
    expect(parseRate("60%", 1)).toBeCloseTo(0.6, 15);
    expect([parseMinutes("15"), parseMinutes("15min"), parseMinutes("1h"), parseMinutes("90s")]).toEqual([
      15, 15, 60, 1.5,
    ]);
    expect(parseVoltageStep("0.23V")).toBeCloseTo(0.001, 15);
    expect(parseVoltageStep("0.0004pu")).toBe(0.0004);
    expect(parseZipFractions("0.4, 0.3, 0.3")).toEqual({ z: 0.4, i: 0.3, p: 0.3 });
    expect(parseImpedancePu("0.001,0.002")).toEqual({ rPu: 0.001, xPu: 0.002 });
    expect(parseReadingUnits("p=KW,v=kv")).toEqual({ p: "kW", v: "kV" });
    expect(parseReadingUnits("q=Mvar")).toEqual({ q: "Mvar" });
  });

  it("refuses what it cannot read, saying what was expected", () => {
    const bad: [() => unknown, RegExp][] = [
      [() => parseRate("abc"), /fraction or a percentage such as 0\.1%, got 'abc'/],
      [() => parseRate("0.6"), /0\.6 is a fraction > 0\.5; did you mean 0\.6%\?/],
      [() => parseRate("100%", 1), /must be below 100%/],
      [() => parseMinutes("0.5"), /between 1min and 24h/],
      [() => parseMinutes("2d"), /duration such as 15min or 1h/],
      [() => parseVoltageStep("1mV"), /expected e\.g\. 0\.1V or 0\.0004pu/],
      [() => parseZipFractions("1,1,1"), /must sum to 1, got '1,1,1' \(sum 3\)/],
      [() => parseZipFractions("0.5,0.5"), /three fractions z,i,p/],
      [() => parseZipFractions("0.5,-0.5,1"), /three fractions z,i,p >= 0/],
      [() => parseImpedancePu("0.1"), /r,x in pu/],
      [() => parseImpedancePu("0.1,x"), /r,x in pu/],
      [() => parseReadingUnits("p=furlongs"), /expected p=W\|kW\|MW\|pu.*got 'p=furlongs'/],
      [() => parseReadingUnits("w=kW"), /got 'w=kW'/],
    ];
    for (const [f, re] of bad) {
      expect(f).toThrow(GridUnitError);
      expect(f).toThrow(re);
    }
  });

  it("turns accuracy classes into σ (class = 3σ) and defaults P/Q noise to 5 × |V| noise, at most 20 %", () => {
    const c = meterNoiseSigmas(0.003, undefined, "class");
    expect(c.pqNoise).toBeCloseTo(0.015, 15);
    expect(c.voltageSigma).toBeCloseTo(0.001, 15);
    expect(c.powerSigma).toBeCloseTo(0.005, 15);
    expect(meterNoiseSigmas(0.1, undefined, "sigma")).toEqual({
      pqNoise: 0.2,
      voltageSigma: 0.1,
      powerSigma: 0.2,
    });
    expect(meterNoiseSigmas(0.01, 0.03, "sigma").powerSigma).toBe(0.03);
  });
});

describe("x grid reports", () => {
  it("formats a simulation and an identification in one line each", () => {
    expect(
      formatSimulationSummary({
        out: "sm.csv",
        feeder: "ieee13",
        buses: 13,
        meters: 9,
        samples: 100,
        intervalMinutes: 15,
        seed: 1,
        voltageSigma: 0.001 / 3,
        powerSigma: 0.005 / 3,
        missingReadings: 4,
        vmin: 0.95,
        vmax: 1.0,
        seconds: 0.42,
      }),
    ).toBe(
      "wrote sm.csv: ieee13, 9/13 buses metered, 100 × 15 min, |V| 0.9500–1.0000 pu, σ_v 0.0333 %, σ_pq 0.167 %, 4 missing, 0.4 s",
    );
    // The realistic preset, described effect by effect; a clean simulation has none.
    expect(simulationEffects({})).toEqual({});
    const effects = simulationEffects(REALISTIC);
    expect(Object.keys(effects)).toEqual([
      "zip",
      "pv",
      "minuteVariability",
      "voltageStep",
      "energyStep",
      "meters",
      "clockOffset",
      "missing",
      "gross",
    ]);
    expect(effects.gross).toBe("0.1 % of the readings, P/Q ×10, |V| ×1.2");
    expect(effects.zip).toBe("Z 0.4, I 0.3, P 0.3");
    const line = formatSimulationSummary({
      out: "sm.csv",
      feeder: "ieee13",
      buses: 13,
      meters: 13,
      samples: 100,
      intervalMinutes: 15,
      seed: 1,
      voltageSigma: 0,
      powerSigma: 0,
      missingReadings: 0,
      vmin: 0.95,
      vmax: 1.0,
      preset: "realistic",
      effects: { clockOffset: "±2 min", meters: "every bus" },
      seconds: 0.42,
    }).split("\n")[1];
    expect(line).toBe("effects (realistic preset): clockOffset ±2 min; meters every bus");
    const s = {
      out: "m.json",
      feeder: "ieee13",
      buses: 12,
      hiddenBuses: 1,
      unmetered: ["h1"],
      branches: 11,
      samples: 100,
      topology: "likelihood" as const,
      design: "pq" as const,
      method: "lad" as const,
      solver: "highs",
      library: false,
      exactRelaxations: 10,
      seconds: { topology: 0.5, impedance: 1.25, badData: 0 },
      badData: null,
      uncertainEdges: [],
    };
    expect(formatIdentificationSummary(s)).toBe(
      "wrote m.json: 11 branches over 12 buses (1 unmetered left out), 100 samples; topology likelihood (pq) 0.50 s, impedances lad/highs 1.25 s, 10/11 relaxations exact\n" +
        "unmetered buses left out: h1 (the tree joins the metered buses directly; the branches around an unmetered junction are approximations; --hidden-junctions looks for such junctions)",
    );
    expect(
      formatIdentificationSummary({
        ...s,
        buses: 14,
        hiddenBuses: 4,
        unmetered: ["632", "633", "680", "684"],
        hiddenJunctions: [
          { bus: "hidden-1", parent: "650", children: ["634", "645", "670"] },
          { bus: "hidden-2", parent: "671", children: ["611", "652"] },
        ],
      }),
    ).toBe(
      "wrote m.json: 11 branches over 14 buses (4 unmetered, 2 inserted as junctions), 100 samples; topology likelihood (pq) 0.50 s, impedances lad/highs 1.25 s, 10/11 relaxations exact\n" +
        "unmetered buses: 632, 633, 680, 684; junctions inserted: hidden-1 under 650 (634, 645, 670), hidden-2 under 671 (611, 652) (their voltages are estimated; the other unmetered buses are left out)",
    );
    expect(
      formatIdentificationSummary({ ...s, hiddenBuses: 0, unmetered: [], library: true, solver: null }),
    ).toBe(
      "wrote m.json: 11 branches over 12 buses, 100 samples; topology likelihood (pq) 0.50 s, impedances lad conductor library 1.25 s",
    );
  });

  it("names what the bad-data steps rejected and the uncertain edges, with capped lists", () => {
    const reading = (bus: string, quantity: "v" | "p" | "q", test: "spike" | "residual") => ({
      bus,
      quantity,
      sample: 3,
      value: 2,
      expected: 1,
      z: 9,
      test,
      reason: "r",
    });
    const model = {
      buses: ["a", "b", "c"],
      hiddenBuses: [],
      branches: [
        { from: "a", to: "b", rPu: 0.1, xPu: 0.1, samples: 10, confidence: 0.62 },
        { from: "b", to: "c", rPu: 0.1, xPu: 0.1, samples: 10 },
      ],
      samples: 10,
      topology: { method: "likelihood", design: "pq", condition: 1, samplesUsed: 10 },
      impedance: { method: "lad", solver: "highs", library: false, exactRelaxations: 2, maxGap: 0 },
      uncertainEdges: ["a-b", "c-b"],
      badData: {
        readings: [reading("b", "v", "spike"), reading("b", "p", "spike"), reading("c", "q", "residual")],
        meters: [{ bus: "b", flagged: 2, readings: 20, reason: "check" }],
        missing: 4,
        chiSquaredFailed: { before: 1, after: 0 },
        branchRejections: 0,
      },
      zeroInjection: [],
      seconds: { topology: 0.5, impedance: 1.25, badData: 0.1 },
    } as unknown as GridModel;
    const s = identificationSummary(model, "m.json", "f");
    expect(s.badData).toEqual({
      flagged: 3,
      byTest: { spike: 2, residual: 1 },
      byQuantity: { v: 1, p: 1, q: 1 },
      meters: [{ bus: "b", flagged: 2, readings: 20 }],
      largest: [
        { bus: "b", quantity: "v", sample: 3, z: 9, test: "spike" },
        { bus: "b", quantity: "p", sample: 3, z: 9, test: "spike" },
        { bus: "c", quantity: "q", sample: 3, z: 9, test: "residual" },
      ],
      missing: 4,
      branchRejections: 0,
    });
    expect(s.uncertainEdges).toEqual([
      { edge: "a-b", confidence: 0.62 },
      { edge: "c-b", confidence: null },
    ]);
    expect(formatIdentificationSummary(s).split("\n").slice(1)).toEqual([
      "bad data: 3 reading(s) rejected (spike test 2, residual test 1; |V| 1, P 1, Q 1); meters flagged: b (2/20); " +
        "largest: b |V| sample 3 (9.0 σ, spike), b P sample 3 (9.0 σ, spike), c Q sample 3 (9.0 σ, residual)",
      "uncertain edges: a-b (0.62), c-b",
    ]);
    const many = {
      ...s,
      badData: { ...s.badData!, flagged: 0, meters: [], largest: [], branchRejections: 5 },
      uncertainEdges: Array.from({ length: 10 }, (_, i) => ({ edge: `e${i}`, confidence: null })),
    };
    expect(formatIdentificationSummary(many).split("\n").slice(1)).toEqual([
      "bad data: no readings rejected; 5 sample(s) rejected by the branch fits",
      "uncertain edges: e0, e1, e2, e3, e4, e5, e6, e7, +2 more",
    ]);
  });

  it("formats an evaluation, with or without the contracted topology", () => {
    const m = {
      edgeAccuracy: 0.9,
      correctEdges: 9,
      edges: 10,
      exactTree: false,
      mapeR: 1.234,
      mapeX: Number.NaN,
      medianApeR: 0.5,
      medianApeX: 0.75,
      medianApeZ: 0.6,
      within5: 0.8,
      unidentified: 1,
      conductorAccuracy: null,
      lengthMape: null,
      wrongEdges: [],
      missedEdges: [],
      worstBranches: [],
    } as unknown as IdentificationMetrics;
    const text = formatEvaluation("m.json", "ieee13", m, undefined, 0).split("\n");
    expect(text).toEqual([
      "model m.json vs ieee13",
      "  edge accuracy      90.0 % (9/10)",
      "  exact tree         no",
      "  up to contraction  n/a (--contract-drop 0)",
      "  MAPE r / x         1.23 % / n/a",
      "  median APE r / x   0.50 % / 0.75 %",
      "  median |z| error   0.60 % (within 5 %: 80 % of edges)",
      "  unidentifiable     1 flow-free branch(es)",
    ]);
    const mc = {
      edgeAccuracy: 1,
      exactTree: true,
      edges: 8,
      correctEdges: 8,
      estimatedEdges: 8,
      contractedBranches: 2,
      criterion: "drop < 1e-4",
    };
    expect(formatEvaluation("m.json", "ieee13", m, mc, 1e-4).split("\n")[3]).toBe(
      "  up to contraction  edges 100.0 % (8/8), exact yes [2 true branches contracted: drop < 1e-4]",
    );
    expect(formatEvaluation("m.json", "ieee13", m, undefined, 1e-4).split("\n")[3]).toBe(
      "  up to contraction  n/a (model does not cover every bus)",
    );
    const e = (from: string, to: string) => ({ from, to });
    const w = (from: string, to: string, apeZ: number) => ({ ...e(from, to), apeZ, apeR: 0, apeX: 0 });
    const bad = {
      ...m,
      wrongEdges: [
        e("671", "680"),
        e("1", "2"),
        e("3", "4"),
        e("5", "6"),
        e("7", "8"),
        e("9", "10"),
        e("11", "12"),
      ],
      missedEdges: [e("692", "675")],
      worstBranches: [w("632", "645", 12.5), w("645", "646", 3), w("650", "632", 1.25), w("671", "684", 1)],
    } as unknown as IdentificationMetrics;
    expect(formatEvaluation("m.json", "ieee13", bad, undefined, 0).split("\n").slice(8)).toEqual([
      "  wrong edges        671-680, 1-2, 3-4, 5-6, 7-8, 9-10, +1 more",
      "  missed true edges  692-675",
      "  worst |z| errors   632-645 12.50 %, 645-646 3.00 %, 650-632 1.25 %",
    ]);
  });
});
