// PCB streaming-global must reproduce reference mode exactly; its exact streaming selection must
// equal sort-and-index on arbitrary float32 streams.

import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getMethod, MergeMethodError, PcbError, StreamingSelect } from "../../src/index.js";
import { runMethod, toyModel } from "./helpers.js";

describe("StreamingSelect", () => {
  it("equals sorted[k] over chunked streams (negatives, ±0, ties, NaN, ±Inf)", () => {
    const value = fc.oneof(
      fc.float({ noNaN: false }),
      fc.constantFrom(0, -0, 1, -1, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN),
      fc.integer({ min: -3, max: 3 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(value, { minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }),
        (chunks, fractions) => {
          const parts = chunks.map((c) => Float32Array.from(c));
          const all = Float32Array.from(parts.flatMap((p) => Array.from(p)));
          fc.pre(all.length > 0);
          const sorted = all.slice().sort();
          const ranksOf = (d: number) => fractions.map((q) => Math.min(d - 1, Math.floor(q * d)));
          const sel = new StreamingSelect(ranksOf);
          for (const p of parts) sel.addTop(p);
          sel.finishTop();
          for (const p of [...parts].reverse()) sel.addLow(p); // any order in pass 2
          const got = sel.finishLow();
          const want = ranksOf(all.length).map((k) => sorted[k]);
          expect(got).toEqual(want); // toEqual distinguishes −0 from +0 and matches NaN
        },
      ),
      { numRuns: 300 },
    );
  });

  it("detects a pass 2 that saw a different stream length", () => {
    const sel = new StreamingSelect(() => [0]);
    sel.addTop(new Float32Array([1, 2, 3]));
    sel.finishTop();
    sel.addLow(new Float32Array([1, 2]));
    expect(() => sel.finishLow()).toThrow(PcbError);
  });
});

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
