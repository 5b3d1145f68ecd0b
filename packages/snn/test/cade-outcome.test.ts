import type { ImageSet } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import {
  accuracyPercent,
  type CadeResult,
  cadeOutcome,
  initModel,
  rankInitialPopulation,
  sewMlp,
} from "../src/index.js";

const spec = sewMlp({ hidden: 8, blocks: 1, classes: 3, timeSteps: 2 });
const rng = new Rng(5);
const set = (n: number): ImageSet => ({
  images: rng.fillUniform(new Float32Array(n * 784)) as Float32Array,
  labels: Uint8Array.from({ length: n }, (_, i) => i % 3),
  count: n,
});
const genomes = [1, 2, 3, 4].map((s) => initModel(spec, new Rng(s)).genome);
const val = set(30);
const test = set(20);

describe("rankInitialPopulation / cadeOutcome", () => {
  it("ranks the initial individuals by validation accuracy, the first on ties", () => {
    const r = rankInitialPopulation(spec, genomes, val, "float64");
    expect(r.val).toEqual(genomes.map((g) => accuracyPercent(spec, g, val, "float64")));
    expect(r.bestVal).toBe(Math.max(...r.val));
    expect(r.bestByVal).toBe(r.val.indexOf(r.bestVal));
  });

  it("reports the selected individual, the best initial one on test, and the children accepted", () => {
    const initial = rankInitialPopulation(spec, genomes, val, "float64");
    const r = {
      population: [genomes[3]!, genomes[2]!, genomes[1]!, genomes[0]!],
      fitness: [10, 20, 30, 40],
      val: [1, 2, 3, 4],
      selected: 2,
      evaluations: 8,
      skipped: 0,
      curve: [],
      history: [{ accepted: 2 }, { accepted: 3 }],
      elapsedMs: 1,
    } as unknown as CadeResult;
    const o = cadeOutcome(spec, r, initial, genomes, test, "float64");
    expect(o.selected).toEqual({
      index: 2,
      fitness: 30,
      val: 3,
      test: accuracyPercent(spec, genomes[1]!, test, "float64"),
    });
    expect(o.initial).toEqual({
      ...initial,
      bestTest: accuracyPercent(spec, genomes[initial.bestByVal]!, test, "float64"),
    });
    expect(o.accepted).toBe(5);
    const noTest = cadeOutcome(spec, r, initial, genomes, null, "float64");
    expect([noTest.selected.test, noTest.initial.bestTest]).toEqual([null, null]);
  });
});
