import { describe, expect, it } from "vitest";
import { DEFAULT_CADE_SCALE } from "../src/cade/experiment.js";
import { formatCadeScale, setCadeScale } from "../src/cade/scale.js";
import { ExperimentOptionError } from "../src/merging-8task/index.js";

describe("setCadeScale", () => {
  it("parses numbers, lists and the engine, keeping earlier settings", () => {
    let s = setCadeScale({}, "generations=40");
    s = setCadeScale(s, "seeds=1, 2,3");
    s = setCadeScale(s, "f0Sweep=0.5,1e-3");
    s = setCadeScale(s, "engine=simd");
    s = setCadeScale(s, "variantSeeds=none");
    expect(s).toEqual({
      generations: 40,
      seeds: [1, 2, 3],
      f0Sweep: [0.5, 1e-3],
      engine: "simd",
      variantSeeds: [],
    });
    expect(setCadeScale({}, "seeds=")).toEqual({ seeds: [] });
    expect(setCadeScale({}, "f0= 0.01")).toEqual({ f0: 0.01 });
  });

  it("refuses unknown keys, bad numbers and engines with a typed error", () => {
    const bad: [string, RegExp][] = [
      ["nope=1", /expected KEY=VALUE with KEY one of hidden, blocks/],
      ["=1", /expected KEY=VALUE/],
      ["generations", /expected KEY=VALUE/],
      ["generations=-1", /expected a number in \[0, Infinity\], got '-1'/],
      ["generations=", /expected a number/],
      ["seeds=1,2.5", /expected an integer in \[0, 9007199254740991\], got '2.5'/],
      ["engine=gpu", /engine is auto, simd or float64, got 'gpu'/],
    ];
    for (const [v, re] of bad) {
      expect(() => setCadeScale({}, v)).toThrow(ExperimentOptionError);
      expect(() => setCadeScale({}, v)).toThrow(re);
    }
  });

  it("formats the default scale with every key once", () => {
    const line = formatCadeScale();
    expect(line).toContain("hidden 64, blocks 1");
    expect(line).toContain("f0Sweep 0.0001,0.01");
    expect(line.split(", ").length).toBeGreaterThanOrEqual(Object.keys(DEFAULT_CADE_SCALE).length);
    expect(formatCadeScale({ ...DEFAULT_CADE_SCALE, f0Sweep: [] })).toContain("f0Sweep none");
  });
});
