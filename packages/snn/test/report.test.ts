import { describe, expect, it } from "vitest";
import {
  type CadeReport,
  describeSpec,
  formatCadeReport,
  formatTrainReport,
  sewMlp,
  type TrainReport,
} from "../src/index.js";

const spec = sewMlp({ hidden: 16, blocks: 1, classes: 4 });

describe("formatTrainReport", () => {
  const r: TrainReport = {
    out: "m.safetensors",
    spec,
    parameters: 12345,
    data: "fashion-mnist",
    classes: [5, 7],
    trainImages: 100,
    valImages: 20,
    keepBest: true,
    backend: "wasm",
    steps: 6,
    history: [
      { epoch: 0, loss: 1.23456, lr: 0.1, valAccuracy: 0.5 },
      { epoch: 1, loss: 0.5, lr: 0.05, valAccuracy: null },
    ],
    bestEpoch: 0,
    resumed: true,
    elapsedMs: 1500,
  };

  it("prints the model, the data, the epoch table and what was written", () => {
    expect(formatTrainReport(r).split("\n")).toEqual([
      `${describeSpec(spec)} (12,345 parameters)`,
      "data: fashion-mnist classes 5,7, 100 training images, 20 validation",
      "epoch  loss     lr         validation",
      "1      1.2346   0.100      50.00%",
      "2      0.5000   0.0500     -",
      "6 steps on wasm in 1.5s (resumed); wrote m.safetensors (epoch 1, best by validation)",
    ]);
    const plain = formatTrainReport({ ...r, classes: null, valImages: 0, keepBest: false, resumed: false });
    expect(plain).toContain("data: fashion-mnist, 100 training images, no validation");
    expect(plain).toMatch(/in 1\.5s; wrote m\.safetensors$/);
  });
});

describe("formatCadeReport", () => {
  const r: CadeReport = {
    out: "c.safetensors",
    spec,
    arm: { kind: "constant", f: 0.5, cr: 0.9, jRand: true },
    generations: 3,
    seed: 2,
    engine: "float64",
    data: { fitness: 40, val: 20, test: null },
    initial: { val: [50, 60, 55, 40], bestByVal: 1, bestVal: 60, bestTest: null },
    evaluations: 12,
    accepted: 5,
    selectedScores: { index: 2, fitness: 70, val: 65, test: null },
    queue: { completed: 12 },
    elapsedMs: 61000,
  };

  it("prints the arm, population, data, best initial and selected individual, and the cost", () => {
    expect(formatCadeReport(r).split("\n")).toEqual([
      'CADE arm constant ({"kind":"constant","f":0.5,"cr":0.9,"jRand":true}), 3 generations, seed 2, engine float64',
      `population: 4 × ${describeSpec(spec)}`,
      "data: fitness 40 images, validation 20, test none",
      "best initial individual by validation: #1  validation 60.00%  test -",
      "selected by validation:                #2  validation 65.00%  test -  fitness 70.00%",
      "12 fitness evaluations, 5 children accepted, 12 on workers; 1m01s; wrote c.safetensors",
    ]);
    expect(formatCadeReport({ ...r, queue: null })).toMatch(/5 children accepted; 1m01s/);
  });
});
