import { describe, expect, it } from "vitest";
import { type EvolveRunResult, formatEvolveResult } from "../../src/evolve/index.js";

describe("formatEvolveResult", () => {
  const base: EvolveRunResult = {
    outDir: "/o",
    modelDir: "/o/model",
    resultFile: "/o/evolve-result.json",
    algorithm: "evolver",
    mode: "standalone",
    outputScore: 0.75,
    outputIndex: 2,
    scores: [0.5, 0.6, 0.75],
    evaluations: 30,
    accepted: 4,
    skipped: 0,
    evolvedTensors: 3,
    dim: 100,
  };

  it("names what was written: an individual, the merged population, or the best-weights merge", () => {
    expect(formatEvolveResult(base)).toBe(
      "dev score 0.75 (individual 2), 30 evaluations, 4 accepted; wrote /o/model",
    );
    expect(formatEvolveResult({ ...base, mode: "merge", outputIndex: -1 })).toBe(
      "dev score 0.75 (merged population), 30 evaluations, 4 accepted; wrote /o/model",
    );
    expect(formatEvolveResult({ ...base, algorithm: "cmaes" })).toBe(
      "dev score 0.75 (merge with the best weights), 30 evaluations; wrote /o/model",
    );
  });
});
