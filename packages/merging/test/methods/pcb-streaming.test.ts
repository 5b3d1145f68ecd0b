// PCB streaming-global must reproduce reference mode exactly, with the task store in memory or
// spilled to a temp file. (Its exact streaming quantiles are tested in tensor-core.)

import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import { getMethod, MergeMethodError } from "../../src/index.js";
import { runMethod, toyModel } from "./helpers.js";

describe("pcb streaming-global", () => {
  const shapes = {
    "layers.0.w": [16, 12],
    "layers.0.b": [16],
    "layers.1.w": [8, 16],
    emb: [20, 8],
    norm: [8],
  };

  for (const inter of ["canonical", "vision", "pairwise"] as const) {
    it(`is bit-identical to reference mode (${inter}, tensors visited in shuffled order)`, () => {
      for (const seed of [1, 2, 3]) {
        const model = toyModel(seed, 4, shapes);
        const params = { ratio: 0.15, lambda: 1.3, inter };
        const modelParams = [{ weight: 1.2 }, { weight: 0.9 }, { weight: 1 }, { weight: 1.1 }];
        const rng = new Rng(seed);
        const ref = runMethod(getMethod("pcb"), model, { params, modelParams });
        const str = runMethod(getMethod("pcb"), model, {
          params: { ...params, mode: "streaming-global" },
          modelParams,
          order: () => rng.shuffle([...model]),
        });
        for (const t of model) expect(str.get(t.name)).toEqual(ref.get(t.name));
      }
    });
  }

  it("is bit-identical on ties-heavy inputs with nan_guard on, and reproduces the NaN with it off", () => {
    const model = toyModel(9, 3, { a: [30], b: [5, 6] });
    // Quantize deltas to a coarse grid (many ties, exact zeros); make task 2 all-zero.
    for (const t of model) {
      t.models.forEach((m, i) => {
        for (let k = 0; k < m.length; k++)
          m[k] = i === 2 ? t.base[k] : t.base[k] + Math.round((m[k] - t.base[k]) * 50) / 50;
      });
    }
    for (const guard of ["on", "off"] as const) {
      const params = { ratio: 0.2, nan_guard: guard };
      const ref = runMethod(getMethod("pcb"), model, { params });
      const str = runMethod(getMethod("pcb"), model, { params: { ...params, mode: "streaming-global" } });
      for (const t of model) expect(str.get(t.name)).toEqual(ref.get(t.name));
      if (guard === "off") expect(Number.isNaN(ref.get("a")![0])).toBe(true);
    }
    expect(() => runMethod(getMethod("pcb"), model, { params: { mode: "streaming-global" } })).toThrow(
      /task 2/,
    );
  });

  it("rejects a tensor that was not announced and a pass that skipped tensors", () => {
    const model = toyModel(4, 2, { a: [10], b: [10] });
    const method = getMethod("pcb");
    const ctx = {
      tensors: model.map((t) => ({ name: t.name, shape: t.shape })),
      numModels: 2,
      modelParams: [{ weight: 1 }, { weight: 1 }],
      params: {
        weight: 1,
        lambda: 1,
        mode: "streaming-global",
        ratio: 0.1,
        clamp_quantile: 0.01,
        inter: "canonical",
        nan_guard: "error",
        memory_budget: 1e9,
        spill_dir: "",
        threads: 1,
      },
      seed: 0,
    };
    const s1 = method.beginGlobal!(ctx);
    expect(() =>
      s1.passes[0].visit({ name: "zzz", shape: [10], base: model[0].base, models: model[0].models }),
    ).toThrow(MergeMethodError);
    const s2 = method.beginGlobal!(ctx);
    s2.passes[0].visit({ ...model[0] });
    expect(() => s2.passes[0].finish()).toThrow(/visited 10 elements.*hold 20/);
  });
});
