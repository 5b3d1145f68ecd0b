import { describe, expect, it } from "vitest";
import { DemoDataError } from "../src/data/errors.js";
import { parseTourResult, TOUR_FILE } from "../src/data/tour-schema.js";
import { makeTourFixture } from "./fixtures/make-tour.js";

// A fixture as plain JSON, free to corrupt (JSON.parse gives it no type to respect).
const corruptible = () => JSON.parse(JSON.stringify(makeTourFixture()));

function problem(json: unknown): string {
  try {
    parseTourResult(json, TOUR_FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(DemoDataError);
    return (e as Error).message;
  }
  throw new Error("expected a DemoDataError");
}

describe("tour.json contract", () => {
  it("accepts a complete tour, and one whose SNN section did not run", () => {
    const tour = makeTourFixture();
    expect(parseTourResult(JSON.parse(JSON.stringify(tour)))).toEqual(tour);
    const noSnn = parseTourResult(makeTourFixture({ snnNotRun: true }));
    expect(noSnn.snn).toEqual({ status: "not-run", reason: "the @x/snn package is not in this build" });
  });

  it("names the file and the key of a wrong type or value", () => {
    const t = corruptible();
    t.merging.methods[1].perSeed[0].testAccuracy[2] = 1.5;
    expect(problem(t)).toMatch(/^tour\.json: merging\.methods\[1\]\.perSeed\[0\]\.testAccuracy\[2\]: /);
    const v = corruptible();
    v.version = 2;
    expect(problem(v)).toMatch(/^tour\.json: version: /);
    const s = corruptible();
    s.grid = { status: "maybe" };
    expect(problem(s)).toMatch(/^tour\.json: grid\.status: /);
  });

  it("checks lengths that must agree", () => {
    const t = corruptible();
    t.merging.methods[2].perSeed[1].testAccuracy.pop();
    expect(problem(t)).toBe(
      "tour.json: merging.methods[2].perSeed[1].testAccuracy: has 3 values for 4 tasks",
    );
    const e = corruptible();
    e.evolution.runs[0].curve.best.push(0.9);
    expect(problem(e)).toMatch(/evolution\.runs\[0\]\.curve\.best: has 13 values for 12 evaluation counts/);
    const r = corruptible();
    r.snn.rasters[0].spikes[3] = [4];
    expect(problem(r)).toBe("tour.json: snn.rasters[0].spikes[3]: has step 4, beyond timeSteps 4");
  });

  it("rejects trees that do not span the feeder", () => {
    const unknown = corruptible();
    unknown.grid.identifiedTree[3].from = "999";
    expect(problem(unknown)).toBe('tour.json: grid.identifiedTree[3]: bus "999" is not in feeder.buses');
    const twoParents = corruptible();
    twoParents.grid.trueTree[2].to = "633";
    expect(problem(twoParents)).toMatch(/grid\.trueTree\[2\]: bus "633" has two parents/);
    const cycle = corruptible();
    // 632 → 671 replaced by 675 → 671: 671, 692, 675 form a cycle cut off from the root.
    const k = cycle.grid.identifiedTree.findIndex((e: { to: string }) => e.to === "671");
    cycle.grid.identifiedTree[k].from = "675";
    expect(problem(cycle)).toMatch(/grid\.identifiedTree: bus "\d+" does not reach the root "650"/);
  });
});
