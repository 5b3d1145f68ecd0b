// linear, slerp, model_stock, passthrough, fisher, regmean; parameter resolution and the registry.

import { Rng } from "@x/tensor-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BUILTIN_METHODS,
  fisherMerge,
  getMethod,
  listMethods,
  MergeMethodError,
  regmeanMerge,
  resolveParams,
} from "../../src/index.js";
import { expectAllClose, runMethod, type ToyTensor, toyModel } from "./helpers.js";

const one = (base: number[], ...models: number[][]): ToyTensor[] => [
  {
    name: "w",
    shape: [base.length],
    base: Float32Array.from(base),
    models: models.map((m) => Float32Array.from(m)),
  },
];

describe("linear", () => {
  it("weighted average, normalized by default; plain sum without normalize", () => {
    const m = one([0, 0], [1, 2], [3, 6]);
    expect(Array.from(runMethod(getMethod("linear"), m).get("w")!)).toEqual([2, 4]);
    const w = runMethod(getMethod("linear"), m, { modelParams: [{ weight: 3 }, { weight: 1 }] }).get("w")!;
    expect(Array.from(w)).toEqual([1.5, 3]);
    const s = runMethod(getMethod("linear"), m, { params: { normalize: false } }).get("w")!;
    expect(Array.from(s)).toEqual([4, 8]);
    expect(() => runMethod(getMethod("linear"), m, { modelParams: [{ weight: 1 }, { weight: -1 }] })).toThrow(
      /sum to 0/,
    );
  });

  it("n identical models give that model; order does not matter", () => {
    const [t] = toyModel(2, 1, { w: [33] });
    const same = [{ ...t, models: [t.models[0], t.models[0], t.models[0]] }];
    expectAllClose(runMethod(getMethod("linear"), same).get("w")!, t.models[0], 1e-7, "identical");
    const model = toyModel(3, 3, { w: [33] });
    const mp = [{ weight: 1 }, { weight: 2 }, { weight: 4 }];
    const a = runMethod(getMethod("linear"), model, { modelParams: mp }).get("w")!;
    const rev = [{ ...model[0], models: [...model[0].models].reverse() }];
    const b = runMethod(getMethod("linear"), rev, { modelParams: [...mp].reverse() }).get("w")!;
    expectAllClose(b, a, 1e-7, "order");
  });
});

describe("slerp", () => {
  it("interpolates along the great circle between orthogonal vectors", () => {
    const m = one([1, 0], [0, 1]);
    const mid = runMethod(getMethod("slerp"), m, { params: { t: 0.5 } }).get("w")!;
    expectAllClose(mid, [Math.SQRT1_2, Math.SQRT1_2], 1e-7, "mid");
    expectAllClose(runMethod(getMethod("slerp"), m, { params: { t: 0 } }).get("w")!, [1, 0], 1e-7, "t=0");
    expectAllClose(runMethod(getMethod("slerp"), m, { params: { t: 1 } }).get("w")!, [0, 1], 1e-7, "t=1");
  });

  it("falls back to lerp for nearly parallel vectors and keeps magnitudes of the originals", () => {
    const m = one([1, 1], [2, 2.0001]);
    expectAllClose(
      runMethod(getMethod("slerp"), m, { params: { t: 0.25 } }).get("w")!,
      [1.25, 1.250025],
      1e-6,
      "lerp",
    );
    // Non-unit, non-parallel: s0·v0 + s1·v1 with angles from the normalized copies.
    const n = one([2, 0], [0, 3]);
    const out = runMethod(getMethod("slerp"), n, { params: { t: 1 / 3 } }).get("w")!;
    const th = Math.PI / 2;
    expectAllClose(out, [2 * Math.sin(th * (2 / 3)), 3 * Math.sin(th / 3)], 1e-6, "scaled");
  });

  it("requires t and exactly one non-base model", () => {
    expect(() => runMethod(getMethod("slerp"), one([1], [2]))).toThrow(/missing required parameter 't'/);
    expect(() => runMethod(getMethod("slerp"), one([1], [2], [3]), { params: { t: 0.5 } })).toThrow(
      /at most 1/,
    );
  });
});

describe("model_stock", () => {
  it("t = N·cos/(1 + (N−1)·cos) toward the average", () => {
    // Task vectors [1, 0] and [1, 1]: cos = 1/√2.
    const m = one([0, 0], [1, 0], [1, 1]);
    const cos = Math.SQRT1_2;
    const t = (2 * cos) / (1 + cos);
    expectAllClose(runMethod(getMethod("model_stock"), m).get("w")!, [t * 1, t * 0.5], 1e-6, "ms");
  });

  it("identical models give that model; orthogonal task vectors give the base", () => {
    const [t] = toyModel(8, 1, { w: [20] });
    const same = [{ ...t, models: [t.models[0], t.models[0]] }];
    expectAllClose(runMethod(getMethod("model_stock"), same).get("w")!, t.models[0], 1e-6, "same");
    expectAllClose(
      runMethod(getMethod("model_stock"), one([5, 5], [6, 5], [5, 6])).get("w")!,
      [5, 5],
      1e-7,
      "orth",
    );
  });

  it("filter_wise computes one ratio per row", () => {
    const base = new Float32Array(4);
    const rows: ToyTensor[] = [
      {
        name: "w",
        shape: [2, 2],
        base,
        models: [Float32Array.from([1, 0, 1, 0]), Float32Array.from([0, 1, 1, 0])],
      },
    ];
    // Row 0 orthogonal → base; row 1 identical → the model.
    expect(
      Array.from(runMethod(getMethod("model_stock"), rows, { params: { filter_wise: true } }).get("w")!),
    ).toEqual([0, 0, 1, 0]);
  });
});

describe("nearswap", () => {
  it("swaps in near-identical values and interpolates by t / |difference| otherwise", () => {
    const m = one([0, 0, 0, 1], [0.05, 0.5, 0, 1]);
    // diffs 0.05, 0.5, 0, 0 with t = 0.1 → w = 1, 0.2, 1, 1
    expectAllClose(
      runMethod(getMethod("nearswap"), m, { params: { t: 0.1 } }).get("w")!,
      [0.05, 0.1, 0, 1],
      1e-7,
      "ns",
    );
    expect(() => runMethod(getMethod("nearswap"), m, { params: { t: 0 } })).toThrow(/outside|> 0/);
  });
});

describe("passthrough", () => {
  it("copies (optionally scaled) and returns a fresh array", () => {
    const m = one([], [1, -2]);
    const m2 = [{ ...m[0], shape: [2], base: new Float32Array(2) }];
    const out = runMethod(getMethod("passthrough"), m2).get("w")!;
    expect(Array.from(out)).toEqual([1, -2]);
    expect(out).not.toBe(m2[0].models[0]);
    expect(
      Array.from(runMethod(getMethod("passthrough"), m2, { modelParams: [{ scale: 0.5 }] }).get("w")!),
    ).toEqual([0.5, -1]);
  });
});

describe("fisher", () => {
  it("weights parameters by their Fisher information", () => {
    const models = [Float32Array.from([1, 1]), Float32Array.from([3, 3])];
    const fishers = [Float32Array.from([1, 0]), Float32Array.from([1, 1])];
    // Column 0: equal Fisher → mean 2; column 1: model 0 has (almost) no information → ≈ 3.
    expectAllClose(fisherMerge(models, fishers), [2, 3 - 2e-6], 1e-6, "fisher");
    const m = one([], [1, 1], [3, 3]);
    const viaMethod = runMethod(getMethod("fisher"), [{ ...m[0], shape: [2], base: new Float32Array(2) }], {
      aux: () => ({ fisher: fishers }),
    }).get("w")!;
    expectAllClose(viaMethod, [2, 3 - 2e-6], 1e-6, "method");
    expect(() =>
      runMethod(getMethod("fisher"), [{ ...m[0], shape: [2], base: new Float32Array(2) }]),
    ).toThrow(/aux\.fisher/);
  });

  it("equal Fisher diagonals reduce to weighted averaging; normalization is per model", () => {
    const rng = new Rng(1);
    const models = [0, 1, 2].map(() => rng.fillNormal(new Float32Array(50)) as Float32Array);
    const f = new Float32Array(50).fill(2);
    const avg = models[0].map((_, k) => (models[0][k] + models[1][k] + models[2][k]) / 3);
    expectAllClose(fisherMerge(models, [f, f, f]), avg, 1e-6, "avg");
    // Scaling one model's Fisher changes nothing once normalized.
    const f3 = f.map((v) => v * 100);
    expectAllClose(fisherMerge(models, [f, f, f3], { normalize: true, floor: 0 }), avg, 1e-6, "normalized");
  });
});

describe("regmean", () => {
  const matmul = (a: Float64Array, b: Float64Array, m: number, k: number, n: number) => {
    const c = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j] += a[i * k + p] * b[p * n + j];
    return c;
  };

  it("solves the least-squares merge: W_M minimizes Σ_i ‖X_i W_Mᵀ − X_i W_iᵀ‖²", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (seed) => {
        const rng = new Rng(seed);
        const out = 3;
        const inp = 4;
        const n = 2;
        const weights = Array.from(
          { length: n },
          () => rng.fillNormal(new Float32Array(out * inp)) as Float32Array,
        );
        const xs = Array.from(
          { length: n },
          () => rng.fillNormal(new Float64Array(10 * inp)) as Float64Array,
        );
        const grams = xs.map((x) => {
          const xt = new Float64Array(inp * 10);
          for (let r = 0; r < 10; r++) for (let c = 0; c < inp; c++) xt[c * 10 + r] = x[r * inp + c];
          return Float32Array.from(matmul(xt, x, inp, 10, inp));
        });
        const merged = regmeanMerge(weights, grams, out, inp, 1);
        // Normal equations: Σ G_i (W_M − W_i)ᵀ = 0.
        const resid = new Float64Array(inp * out);
        for (let i = 0; i < n; i++) {
          for (let r = 0; r < inp; r++) {
            for (let o = 0; o < out; o++) {
              let s = 0;
              for (let c = 0; c < inp; c++)
                s += grams[i][r * inp + c] * (merged[o * inp + c] - weights[i][o * inp + c]);
              resid[r * out + o] += s;
            }
          }
        }
        const scale = grams.reduce((s, g) => s + g.reduce((a, v) => a + Math.abs(v), 0), 0);
        expect(Math.max(...resid.map(Math.abs)) / scale).toBeLessThan(1e-6);
      }),
      { numRuns: 50 },
    );
  });

  it("equal Grams (or α = 0 with equal diagonals) give the plain average; no Gram → average", () => {
    const w1 = Float32Array.from([1, 2, 3, 4]);
    const w2 = Float32Array.from([3, 2, 1, 0]);
    const g = Float32Array.from([2, 0.5, 0.5, 1]);
    expectAllClose(regmeanMerge([w1, w2], [g, g], 2, 2, 0.9), [2, 2, 2, 2], 1e-6, "equal grams");
    const model: ToyTensor[] = [{ name: "bias", shape: [4], base: new Float32Array(4), models: [w1, w2] }];
    expect(Array.from(runMethod(getMethod("regmean"), model).get("bias")!)).toEqual([2, 2, 2, 2]);
    const lin: ToyTensor[] = [{ name: "w", shape: [2, 2], base: new Float32Array(4), models: [w1, w2] }];
    expectAllClose(
      runMethod(getMethod("regmean"), lin, { aux: () => ({ gram: [g, g] }) }).get("w")!,
      [2, 2, 2, 2],
      1e-6,
      "method",
    );
  });

  it("identical models give that model for any Gram", () => {
    const w = Float32Array.from([0.5, -1, 2, 0.25, 3, -2]);
    const g1 = Float32Array.from([3, 1, 0, 1, 2, 0.5, 0, 0.5, 1]);
    const g2 = Float32Array.from([1, 0, 0, 0, 4, 1, 0, 1, 2]);
    expectAllClose(regmeanMerge([w, w], [g1, g2], 2, 3, 0.7), w, 1e-6, "identical");
  });
});

describe("registry and parameter resolution", () => {
  it("lists every built-in method by name", () => {
    const names = listMethods().map((m) => m.name);
    for (const m of BUILTIN_METHODS) expect(names).toContain(m.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "linear",
        "task_arithmetic",
        "ties",
        "dare_linear",
        "dare_ties",
        "breadcrumbs",
        "breadcrumbs_ties",
        "della",
        "della_linear",
        "slerp",
        "model_stock",
        "passthrough",
        "fisher",
        "regmean",
        "pcb",
      ]),
    );
    expect(() => getMethod("nope")).toThrow(/unknown merge method 'nope'.*known: .*pcb/);
  });

  it("fills defaults, lets models override globals, and names unknown or mistyped keys", () => {
    const ties = getMethod("ties");
    const r = resolveParams(ties, { density: 0.5 }, [{}, { density: 0.7, weight: 2 }]);
    expect(r.params).toMatchObject({ normalize: true, rescale: false, lambda: 1, variant: "mergekit" });
    expect(r.modelParams).toEqual([
      { weight: 1, density: 0.5 },
      { weight: 2, density: 0.7 },
    ]);
    expect(() => resolveParams(ties, { densty: 0.5 }, [{}])).toThrow(/unknown parameter\(s\) densty/);
    expect(() => resolveParams(ties, {}, [{ normalize: true }])).toThrow(/'normalize' is global/);
    expect(() => resolveParams(ties, { normalize: "yes" }, [{}])).toThrow(MergeMethodError);
    expect(() => resolveParams(ties, {}, [{ density: 1.5 }])).toThrow(/outside \[0, 1\]/);
    expect(() => resolveParams(getMethod("model_stock"), {}, [{}])).toThrow(/at least 2/);
  });

  it("documents every parameter", () => {
    for (const m of listMethods()) {
      expect(m.description.length).toBeGreaterThan(10);
      for (const p of m.params) expect(p.description.length, `${m.name}.${p.name}`).toBeGreaterThan(5);
    }
  });
});
