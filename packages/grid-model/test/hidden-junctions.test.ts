// Unmetered zero-injection junctions (docs/identification.md, "Hidden junctions"): the children of a hidden junction
// share the drop of its branch, which no tree of the metered buses represents; the insertion step puts the junction
// back where the shared-parameter fit says it is.
import { describe, expect, it } from "vitest";
import { basisSeries } from "../src/identify/gram.js";
import { HiddenScorer, insertHiddenJunctions } from "../src/identify/hidden.js";
import {
  buildFeeder,
  evaluateIdentification,
  type Feeder,
  identifyGrid,
  lossCorrection,
  type MeterSeries,
  MetricsError,
  nameHiddenJunctions,
  type SmartMeterData,
} from "../src/index.js";
import { zeroInjectionMeterData } from "./identify-fixtures.js";

// s ─ a ─ h ─ c ─ f        h: junction without load and without meter
//     │   └ d
//     └ e
/** A 4.16 kV radial feeder rooted at "s": buses as [name, kW, kvar] (no load when absent), branches as [from, to, Ω, Ω]. */
function radial(
  id: string,
  buses: readonly (readonly [string, number?, number?])[],
  branches: readonly (readonly [string, string, number, number])[],
): Feeder {
  return buildFeeder({
    id,
    baseKvLl: 4.16,
    baseMva: 1,
    root: "s",
    buses: buses.map(([name, pKw, qKvar]) =>
      pKw === undefined ? { name } : { name, pKw, qKvar: qKvar ?? 0 },
    ),
    branches: branches.map(([from, to, rOhm, xOhm]) => ({ from, to, rOhm, xOhm })),
  });
}

const feeder = radial(
  "hj7",
  [["s"], ["a", 300, 120], ["h"], ["c", 250, 100], ["d", 200, 90], ["e", 150, 70], ["f", 120, 50]],
  [
    ["s", "a", 0.2, 0.4],
    ["a", "h", 0.3, 0.5],
    ["h", "c", 0.25, 0.2],
    ["h", "d", 0.3, 0.25],
    ["a", "e", 0.2, 0.15],
    ["c", "f", 0.15, 0.1],
  ],
);

const meterData = (f: Feeder, seed: number, samples = 1440, meters: "load" | "all" = "load") =>
  zeroInjectionMeterData(f, seed, samples, meters);

/** The series of the metered buses only (what identifyGrid keeps). */
function meteredSeries(d: SmartMeterData): MeterSeries {
  const keep = d.busNames.flatMap((_, j) => (d.metered[j] ? [j] : []));
  return {
    busNames: keep.map((j) => d.busNames[j]!),
    root: keep.indexOf(d.root),
    samples: d.samples,
    vm: keep.map((j) => d.vm[j]!),
    p: keep.map((j) => d.p[j]!),
    q: keep.map((j) => d.q[j]!),
  };
}

describe("hidden junctions", () => {
  it("puts the one unmetered junction back under its name, with its branch impedances, on every seed", () => {
    for (const seed of [1, 2, 3]) {
      const d = meterData(feeder, seed);
      expect(d.metered[feeder.buses.find((b) => b.name === "h")!.id]).toBe(false);
      const before = identifyGrid(d, { hiddenJunctions: false });
      // Without the junction: c and d hang from a with the path impedances, but the shared segment a–h carries
      // both flows and the metered tree cannot represent it.
      expect(before.hiddenJunctions).toBeUndefined();
      const model = identifyGrid(d, { hiddenJunctions: true });
      expect(model.hiddenBuses).toEqual(["h"]);
      expect(model.hiddenJunctions).toHaveLength(1);
      const j = model.hiddenJunctions![0]!;
      expect(j).toMatchObject({ bus: "h", parent: "a", candidates: ["h"] });
      expect([...j.children].sort()).toEqual(["c", "d"]);
      expect(j.margin).toBeGreaterThan(j.threshold);
      expect(model.buses).toContain("h");
      const m = evaluateIdentification(feeder, model.branches);
      expect(m.exactTree).toBe(true);
      expect(m.edges).toBe(6);
      // Impedances of the junction's branch and its children's, from the estimated junction voltage.
      for (const to of ["h", "c", "d"]) {
        const est = model.branches.find((b) => b.to === to)!;
        const tru = feeder.branches.find((b) => feeder.buses[b.to]!.name === to)!;
        expect(Math.abs(Math.hypot(est.rPu, est.xPu) / Math.hypot(tru.rPu, tru.xPu) - 1)).toBeLessThan(0.1);
      }
      // The junction is reported as such, not as a zero-injection bus of the data.
      expect(model.zeroInjection).toEqual([]);
    }
  });

  it("leaves fully metered data alone: the same model with the step on or off, and no hiddenJunctions field", () => {
    const d = meterData(feeder, 1, 720, "all");
    const on = identifyGrid(d, { hiddenJunctions: true });
    const off = identifyGrid(d, { hiddenJunctions: false });
    const strip = (m: typeof on) => ({ ...m, seconds: undefined });
    expect(strip(on)).toEqual(strip(off));
    expect("hiddenJunctions" in on).toBe(false);
  });

  it("scores an insertion incrementally exactly as a full evaluation of the extended tree does", () => {
    const d = meterData(feeder, 2, 500);
    const data = meteredSeries(d);
    const N = data.busNames.length;
    const id = (n: string) => data.busNames.indexOf(n);
    // A wrong metered tree on purpose (d under c, f under e), so candidates move grandchildren too.
    const parent = new Int32Array(N).fill(-1);
    for (const [from, to] of [
      ["s", "a"],
      ["a", "c"],
      ["c", "d"],
      ["a", "e"],
      ["e", "f"],
    ] as const)
      parent[id(to)] = id(from);
    const { basis } = basisSeries(data, lossCorrection(data, parent));
    const M = N + 2;
    const block = (o: number) =>
      Array.from({ length: M }, (_, k) => (k < N ? basis[o * N + k]! : new Float64Array(d.samples)));
    const [W, P, Q] = [block(0), block(1), block(2)];
    P[data.root]!.fill(0);
    Q[data.root]!.fill(0);
    const inc = new HiddenScorer(W, P, Q, data.root, 10);
    const full = new HiddenScorer(W, P, Q, data.root, 10);
    let compared = 0;
    // Every insertion of a new bus h = active into the tree `ext` with `hidden` buses, incremental vs full.
    const compareAll = (ext: Int32Array, hidden: Uint8Array, active: number) => {
      expect(inc.prepare(ext, hidden, active)).toBe(true);
      const h = active;
      for (let a = 0; a < active; a++) {
        const nb: number[] = [];
        for (let k = 0; k < active; k++) if (ext[k] === a) nb.push(k);
        for (const c of [...nb]) for (let k = 0; k < active; k++) if (ext[k] === c) nb.push(k);
        for (let mask = 3; mask < 1 << nb.length; mask++) {
          if ((mask & (mask - 1)) === 0) continue;
          const S = nb.filter((_, k) => mask & (1 << k));
          const cand = Int32Array.from(ext);
          cand[h] = a;
          for (const s of S) cand[s] = h;
          const score = inc.candidate(ext, cand, hidden, active, h, a, S);
          if (!Number.isFinite(score)) continue;
          const h2 = Uint8Array.from(hidden);
          h2[h] = 1;
          expect(full.prepare(cand, h2, active + 1)).toBe(true);
          expect(score).toBeCloseTo(full.score(), 12);
          compared++;
        }
      }
    };
    const ext = new Int32Array(M).fill(-1);
    ext.set(parent);
    compareAll(ext, new Uint8Array(M), N);
    const first = compared;
    // With a hidden bus already in place (N under a, holding c and d): chains, a hidden parent, S with a hidden bus.
    ext[N] = id("a");
    ext[id("c")] = N;
    ext[id("d")] = N;
    const hidden = new Uint8Array(M);
    hidden[N] = 1;
    compareAll(ext, hidden, N + 1);
    expect(first).toBeGreaterThan(5);
    expect(compared).toBeGreaterThan(first + 5);
  });

  it("inserts nothing on a tree without a hidden junction (the unmetered bus a series point)", () => {
    // s ─ a ─ m ─ c: m unmetered without load, one child: invisible, harmless.
    const series = radial(
      "series4",
      [["s"], ["a", 300, 120], ["m"], ["c", 250, 100], ["e", 150, 70]],
      [
        ["s", "a", 0.2, 0.4],
        ["a", "m", 0.3, 0.5],
        ["m", "c", 0.25, 0.2],
        ["a", "e", 0.2, 0.15],
      ],
    );
    for (const seed of [1, 2, 3]) {
      const model = identifyGrid(meterData(series, seed), { hiddenJunctions: true });
      expect(model.hiddenBuses).toEqual(["m"]);
      expect(model.hiddenJunctions).toEqual([]);
      expect(evaluateIdentification(series, model.branches).exactTree).toBe(true);
    }
  });

  it("the greedy step stops at the number of unmetered buses; it is off unless asked for", () => {
    const d = meterData(feeder, 1);
    const data = meteredSeries(d);
    const model = identifyGrid(d, { hiddenJunctions: false });
    const byDefault = identifyGrid(d);
    expect({ ...byDefault, seconds: undefined }).toEqual({ ...model, seconds: undefined });
    expect("hiddenJunctions" in byDefault).toBe(false);
    const parent = new Int32Array(data.busNames.length).fill(-1);
    for (const b of model.branches) parent[data.busNames.indexOf(b.to)] = data.busNames.indexOf(b.from);
    expect(insertHiddenJunctions(data, parent, { maxInsertions: 0 }).junctions).toEqual([]);
    const r = insertHiddenJunctions(data, parent, { maxInsertions: 1 });
    expect(r.junctions).toHaveLength(1);
    expect(r.parent).toHaveLength(data.busNames.length + 1);
    expect(r.scoreAfter).toBeLessThan(r.scoreBefore);
  });
});

describe("nameHiddenJunctions", () => {
  it("matches an unnamed junction to the left-out true bus with the same split, and rejects one too many", () => {
    const branches = [
      { from: "s", to: "a", rPu: 1, xPu: 1 },
      { from: "a", to: "hidden-1", rPu: 1, xPu: 1 },
      { from: "hidden-1", to: "c", rPu: 1, xPu: 1 },
      { from: "hidden-1", to: "d", rPu: 1, xPu: 1 },
      { from: "a", to: "e", rPu: 1, xPu: 1 },
      { from: "c", to: "f", rPu: 1, xPu: 1 },
    ];
    const named = nameHiddenJunctions(feeder, branches);
    expect(named.filter((b) => b.from === "h" || b.to === "h")).toHaveLength(3);
    expect(evaluateIdentification(feeder, branches).exactTree).toBe(true);
    const extra = [...branches, { from: "e", to: "hidden-2", rPu: 1, xPu: 1 }];
    expect(() => evaluateIdentification(feeder, extra)).toThrow(MetricsError);
    // A name that is neither a feeder bus nor a placeholder is still an error.
    expect(() => evaluateIdentification(feeder, [{ from: "s", to: "zz", rPu: 1, xPu: 1 }])).toThrow(
      MetricsError,
    );
  });
});
