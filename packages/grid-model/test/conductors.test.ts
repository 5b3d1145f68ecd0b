import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  builtinFeeder,
  conductorById,
  conductorLibrary,
  conductorsPu,
  selectConductors,
} from "../src/index.js";

const REF = new URL("../../../../shared/data/feeders/conductor_library.json", import.meta.url);

describe("conductor library", () => {
  const lib = conductorLibrary();

  it("has 29 IEEE and 33 pandapower entries with unique ids and positive R, X", () => {
    expect(lib.filter((c) => c.family === "ieee").length).toBe(29);
    expect(lib.filter((c) => c.family === "pandapower").length).toBe(33);
    expect(new Set(lib.map((c) => c.id)).size).toBe(lib.length);
    for (const c of lib) {
      expect(c.rOhmPerKm).toBeGreaterThan(0);
      expect(c.xOhmPerKm).toBeGreaterThan(0);
      expect(c.source.length).toBeGreaterThan(10);
    }
  });

  it("the 13/37-bus feeder branches use exactly their configuration's per-km impedance", () => {
    for (const id of ["ieee13", "ieee37"]) {
      const f = builtinFeeder(id);
      for (const br of f.branches) {
        if (br.kind !== "line") continue;
        const code = br.conductor!.replace(/^mtx/, "");
        const c =
          id === "ieee13" && code === "606"
            ? conductorById("ieee13-mtx606")!
            : conductorById(`ieee-${code}`)!;
        // 13-bus mtx codes are in Ω/mi, IEEELineCodes in Ω/kft: same published configuration, 4-digit rounding.
        expect(br.rOhm / br.lengthKm! / c.rOhmPerKm).toBeCloseTo(1, 3);
        expect(br.xOhm / br.lengthKm! / c.xOhmPerKm).toBeCloseTo(1, 3);
      }
    }
  });

  it("filters by family/frequency and removes phase-rotation duplicates", () => {
    const ieee3 = selectConductors({ family: "ieee", threePhaseOnly: true });
    expect(ieee3.every((c) => c.nphases === 3 && c.frequencyHz === 60)).toBe(true);
    const dedup = selectConductors({ family: "ieee", dedupeTol: 1e-6 });
    // 1–6 are rotations of one configuration, 7/8, 9/10/11 (= 605), 302/303 and 603/604 identical.
    expect(dedup.find((c) => c.id === "ieee-2")).toBeUndefined();
    expect(dedup.find((c) => c.id === "ieee-1")).toBeDefined();
    expect(dedup.length).toBeLessThan(selectConductors({ family: "ieee" }).length);
    const pu = conductorsPu(builtinFeeder("ieee69"), dedup);
    expect(pu[0].rPuPerKm).toBeCloseTo(dedup[0].rOhmPerKm / 16.02756, 6);
  });

  it.skipIf(!existsSync(REF))("matches the reference conductor_library.json", () => {
    const ref = JSON.parse(readFileSync(REF, "utf8"));
    expect(ref.entries.length).toBe(lib.length);
    for (const e of ref.entries) {
      const c = conductorById(e.id);
      expect(c, e.id).toBeDefined();
      expect(c!.rOhmPerKm).toBeCloseTo(e.r1_ohm_per_km, 5);
      expect(c!.xOhmPerKm).toBeCloseTo(e.x1_ohm_per_km, 5);
      expect(c!.nphases).toBe(e.nphases);
    }
  });
});
