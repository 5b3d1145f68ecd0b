// The realism benchmark's zero-injection cell on the IEEE 13-bus feeder: junctions without load, metered for |V|
// (P = Q = 0). The unloaded leaf 680 carries no current, so its |V| equals its parent 671's; placed by its voltage
// match, the tree is exact, and its branch is reported as not identifiable.
import { describe, expect, it } from "vitest";
import { builtinFeeder, evaluateIdentification, identifyGrid } from "../../src/index.js";
import { zeroInjectionMeterData } from "../identify-fixtures.js";

describe("ieee13 with zero-injection junctions", () => {
  it("exact at T = 1 440 on seeds 1 and 2 (both 11 of 12 edges before), 680 a leaf of 671 / 692", () => {
    const f = builtinFeeder("ieee13");
    for (const seed of [1, 2]) {
      const d = zeroInjectionMeterData(f, seed);
      const model = identifyGrid(d);
      const m = evaluateIdentification(f, model.branches);
      expect(m.exactTree).toBe(true);
      const leaf = model.zeroInjection.find((z) => z.bus === "680")!;
      expect(leaf.role).toBe("leaf");
      // 671 and 692 are one node (the 1e-4 Ω switch between them).
      expect(["671", "692"]).toContain(leaf.parent);
      expect(model.branches.find((b) => b.to === "680")!.identifiable).toBe(false);
      for (const z of model.zeroInjection) expect(z.consistent).toBe(true);
      expect(
        model.zeroInjection
          .filter((z) => z.role === "junction")
          .map((z) => z.bus)
          .sort(),
      ).toEqual(["632", "633", "684"]);
    }
  });
});
