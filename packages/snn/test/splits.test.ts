import type { ImageSet } from "@x/datasets";
import { describe, expect, it } from "vitest";
import { indicesByClass, SnnConfigError, splitPerClass } from "../src/index.js";

/** A set with the given labels (images all zero). */
const setOf = (labels: number[]): ImageSet => ({
  images: new Float32Array(labels.length * 784),
  labels: Uint8Array.from(labels),
  count: labels.length,
});

// class 0: 5 images, class 1: 4, class 2: 3, interleaved
const SET = setOf([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0]);

describe("splitPerClass", () => {
  it("holds valPerClass of each class out and trains on the rest, in class order", () => {
    const s = splitPerClass(SET, { valPerClass: 1, seed: 7 });
    expect(s.val).toHaveLength(3);
    expect(s.train).toHaveLength(SET.count - 3);
    expect(s.val.map((i) => SET.labels[i])).toEqual([0, 1, 2]);
    const trainLabels = s.train.map((i) => SET.labels[i]!);
    expect(trainLabels).toEqual([...trainLabels].sort());
    expect(new Set([...s.train, ...s.val]).size).toBe(SET.count);
  });

  it("caps training at trainPerClass and is deterministic in the seed", () => {
    const a = splitPerClass(SET, { valPerClass: 1, trainPerClass: 2, seed: "x" });
    expect(a.train).toHaveLength(6);
    expect(splitPerClass(SET, { valPerClass: 1, trainPerClass: 2, seed: "x" })).toEqual(a);
    const byClass = new Map(indicesByClass(SET));
    for (const i of [...a.train, ...a.val]) expect(byClass.get(SET.labels[i]!)).toContain(i);
    const seeds = [1, 2, 3, 4, 5].map((seed) => JSON.stringify(splitPerClass(SET, { valPerClass: 2, seed })));
    expect(new Set(seeds).size).toBeGreaterThan(1);
  });

  it("refuses a class with too few images, naming it", () => {
    expect(() => splitPerClass(SET, { valPerClass: 2, trainPerClass: 2, seed: 1 })).toThrow(SnnConfigError);
    expect(() => splitPerClass(SET, { valPerClass: 2, trainPerClass: 2, seed: 1 })).toThrow(
      "class 2 has 3 images, fewer than 2 validation + 2 training",
    );
  });
});
