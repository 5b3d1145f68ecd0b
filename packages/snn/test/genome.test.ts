import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  flattenTensors,
  genomeLayout,
  initModel,
  paramTable,
  replaceHead,
  SnnModel,
  sewMlp,
  sewResNet,
  unflattenGenome,
} from "../src/index.js";

describe("genome layout", () => {
  it("SEW-MLP H = 128, K = 2 holds every tensor: D = 169,738 (weights, BN affine and running statistics, head)", () => {
    const spec = sewMlp();
    const layout = genomeLayout(spec);
    const d = 784 * 128 + 4 * 128 * 128 + 5 * 4 * 128 + 10 * 128 + 10;
    expect(layout.length).toBe(d);
    expect(layout.entries.map((e) => e.name).sort()).toEqual(
      paramTable(spec)
        .map((p) => p.name)
        .sort(),
    );
    const roles = new Set(layout.entries.map((e) => e.role));
    for (const r of [
      "weight",
      "bn.weight",
      "bn.bias",
      "bn.running_mean",
      "bn.running_var",
      "fc.weight",
      "fc.bias",
    ])
      expect(roles.has(r as never)).toBe(true);
    // contiguous, in code-point order
    let at = 0;
    for (const e of layout.entries) {
      expect(e.offset).toBe(at);
      at += e.length;
    }
    const names = layout.entries.map((e) => e.name);
    expect(names).toEqual([...names].sort());
  });

  it("conv SEW ResNet names follow spikingjelly (conv1, bn1, layerS.B.{conv,bn}{1,2}, downsample.{0,1}, fc)", () => {
    const names = paramTable(sewResNet()).map((p) => p.name);
    expect(names).toContain("conv1.weight");
    expect(names).toContain("layer1.0.conv2.weight");
    expect(names).toContain("layer2.0.downsample.0.weight");
    expect(names).toContain("layer2.0.downsample.1.running_var");
    expect(paramTable(sewResNet()).find((p) => p.name === "layer2.0.conv1.weight")?.shape).toEqual([
      16, 8, 3, 3,
    ]);
  });

  it("flatten ∘ unflatten is the identity (property)", () => {
    for (const spec of [
      sewMlp({ hidden: 16, blocks: 1 }),
      sewResNet({ stemChannels: 2, stages: [{ channels: 3, blocks: 2, stride: 2 }] }),
    ]) {
      const d = genomeLayout(spec).length;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 1e9 }), (seed) => {
          const g = new Rng(seed).fillNormal(new Float32Array(d)) as Float32Array;
          const views = unflattenGenome(spec, g);
          const back = flattenTensors(spec, views);
          expect(back).toEqual(g);
          // views alias the genome: a write shows up in it
          const first = genomeLayout(spec).entries[0];
          views.get(first.name)![0] = 42;
          return g[first.offset] === 42;
        }),
        { numRuns: 20 },
      );
    }
  });

  it("initModel zero-inits each block's last BN γ for ADD (blocks start as identity) and is seeded", () => {
    const a = initModel(sewMlp({ hidden: 8 }), new Rng(1));
    const b = initModel(sewMlp({ hidden: 8 }), new Rng(1));
    expect(a.genome).toEqual(b.genome);
    expect(Array.from(a.tensor("blocks.0.bn2.weight"))).toEqual(new Array(8).fill(0));
    expect(Array.from(a.tensor("blocks.0.bn1.weight"))).toEqual(new Array(8).fill(1));
    expect(Array.from(a.tensor("bn1.running_var"))).toEqual(new Array(8).fill(1));
    const and = initModel(sewMlp({ hidden: 8, connect: "AND" }), new Rng(1));
    expect(Array.from(and.tensor("blocks.0.bn2.weight"))).toEqual(new Array(8).fill(1));
  });

  it("replaceHead keeps the body and draws a new head of the target size", () => {
    const src = initModel(sewMlp({ hidden: 8, classes: 4 }), new Rng(1));
    const t = replaceHead(src, 6, new Rng(2));
    expect(t.spec.classes).toBe(6);
    expect(t.tensor("fc.weight").length).toBe(48);
    expect(t.tensor("fc1.weight")).toEqual(src.tensor("fc1.weight"));
    expect(t.tensor("blocks.1.bn2.running_mean")).toEqual(src.tensor("blocks.1.bn2.running_mean"));
  });

  it("a genome of the wrong length is refused", () => {
    expect(() => new SnnModel(sewMlp({ hidden: 8 }), new Float32Array(3))).toThrow(/genome has 3 values/);
  });
});
