import { describe, expect, it } from "vitest";
import {
  builtinFeeder,
  nominalLoadsPu,
  REALISTIC,
  simulateSmartMeters,
  solvePowerFlow,
} from "../src/index.js";

const f = builtinFeeder("ieee13");

describe("realistic simulation options", () => {
  it("ZIP loads: constant impedance draws |V|² times the nominal power, and the meters see what is drawn", () => {
    const nom = nominalLoadsPu(f);
    const pq = solvePowerFlow(f, nom);
    const z = solvePowerFlow(f, { ...nom, zip: { z: 1, i: 0, p: 0 } });
    expect(z.rootP).toBeLessThan(pq.rootP); // voltages below 1 pu: less load
    let drawn = 0;
    for (let j = 1; j < f.buses.length; j++) drawn += nom.p[j]! * z.vm[j]! ** 2;
    expect(z.rootP).toBeCloseTo(drawn + z.lossP, 9);
    expect(() => solvePowerFlow(f, { ...nom, zip: { z: 0.5, i: 0.2, p: 0.2 } })).toThrow(/sum to 1/);
    const d = simulateSmartMeters(f, { samples: 20, seed: 1, zip: { z: 1, i: 0, p: 0 }, keepTruth: true });
    const d0 = simulateSmartMeters(f, { samples: 20, seed: 1, keepTruth: true });
    const j = f.buses.findIndex((b) => b.name === "675");
    // Same load draws, scaled by |V|² (interval means, so to the variation of |V| within the interval).
    expect(d.truth!.p[j]![5]! / d0.truth!.p[j]![5]!).toBeCloseTo(d.truth!.vm[j]![5]! ** 2, 3);
    expect(d.meta.zip).toBe("1 0 0");
  });

  it("defaults leave today's numbers unchanged; clock offsets shift each meter's window", () => {
    const a = simulateSmartMeters(f, { samples: 30, seed: 2, keepTruth: true });
    const b = simulateSmartMeters(f, { samples: 30, seed: 2, clockOffsetMinutes: 0, keepTruth: true });
    expect(Array.from(b.truth!.vm[5]!)).toEqual(Array.from(a.truth!.vm[5]!));
    const c = simulateSmartMeters(f, { samples: 30, seed: 2, clockOffsetMinutes: 5, keepTruth: true });
    const offsets = c.meta.clock_offsets_min!.split(" ").map(Number);
    expect(offsets[0]).toBe(0); // the substation is the reference
    expect(offsets.some((o) => o !== 0)).toBe(true);
    expect(Math.max(...offsets.map(Math.abs))).toBeLessThanOrEqual(5);
    const k = offsets.findIndex((o) => o !== 0);
    expect(c.truth!.vm[k]![10]).not.toBe(a.truth!.vm[k]![10]);
  });

  it("the realistic preset gives reverse flow, quantised voltages, zero-injection junctions and gaps", () => {
    const d = simulateSmartMeters(f, { samples: 96 * 3, seed: 3, ...REALISTIC });
    const j = d.busNames.indexOf("632"); // a junction: metered voltage, zero injection
    expect(d.metered[j]).toBe(true);
    expect(d.p[j]!.every((x) => x === 0 || Number.isNaN(x))).toBe(true);
    const step = 0.1 / 230;
    const v = d.vm[d.busNames.indexOf("675")]!.find((x) => !Number.isNaN(x))!;
    expect(Math.abs(v / step - Math.round(v / step))).toBeLessThan(1e-6);
    const negative = d.p.some((s, b) => b !== d.root && s.some((x) => x < 0));
    expect(negative).toBe(true); // PV exceeds the load at midday somewhere
    const missing = d.vm.reduce((n, s, b) => n + (b === d.root ? 0 : s.filter(Number.isNaN).length), 0);
    expect(missing).toBeGreaterThan(0);
  });
});
