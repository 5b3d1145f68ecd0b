import { describe, expect, it } from "vitest";
import { buildGraph, connectTf, SnnConfigError, sewMlp, sewResNet } from "../src/index.js";
import { tfRuntime } from "./helpers.js";

describe("SEW connect functions", () => {
  it("ADD = A + S, AND = A·S, IAND = (1 − A)·S (the paper's form, not S·(1 − A) swapped)", async () => {
    const tf = await tfRuntime();
    const a = [1, 0, 1, 0];
    const s = [1, 1, 0, 0];
    const run = (g: "ADD" | "AND" | "IAND") =>
      tf.tidy(() => Array.from(connectTf(tf, g, tf.tensor1d(a), tf.tensor1d(s)).dataSync()));
    expect(run("ADD")).toEqual([2, 1, 1, 0]);
    expect(run("AND")).toEqual([1, 0, 0, 0]);
    expect(run("IAND")).toEqual([0, 1, 0, 0]);
    // with A ≡ 0, ADD and IAND pass the input through (identity mapping)
    const zero = (g: "ADD" | "IAND") =>
      tf.tidy(() => Array.from(connectTf(tf, g, tf.zeros([4]), tf.tensor1d(s)).dataSync()));
    expect(zero("ADD")).toEqual(s);
    expect(zero("IAND")).toEqual(s);
  });
});

describe("model graphs", () => {
  it("conv SEW ResNet: 28 → 14 → 7 with downsample paths where shape or stride change", () => {
    const g = buildGraph(sewResNet());
    expect(g.blocks.map((b) => (b.unit1.synapse as { outSide: number }).outSide)).toEqual([14, 7]);
    expect(g.blocks.every((b) => b.down !== null)).toBe(true);
    expect(g.features).toBe(16);
    expect(g.poolSize).toBe(49);
    const same = buildGraph(sewResNet({ stemChannels: 8, stages: [{ channels: 8, blocks: 2, stride: 1 }] }));
    expect(same.blocks.map((b) => b.down)).toEqual([null, null]);
  });

  it("SEW-MLP: stem 784 → H, K blocks of two H → H units", () => {
    const g = buildGraph(sewMlp({ hidden: 32, blocks: 3 }));
    expect(g.blocks.length).toBe(3);
    expect(g.stem.size).toBe(32);
  });

  it("bad specs are typed errors naming the field", () => {
    expect(() => sewMlp({ hidden: 0 })).toThrow(/hidden/);
    expect(() => sewMlp({ connect: "OR" as never })).toThrow(SnnConfigError);
    expect(() => sewResNet({ stages: [{ channels: 8, blocks: 1, stride: 3 }] })).toThrow(/stride/);
  });
});
