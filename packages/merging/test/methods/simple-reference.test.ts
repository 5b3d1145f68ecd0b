// Dense straightforward references for linear, slerp, model_stock, fisher; permutation invariance
// where the method is order-free, and DARE's order dependence only through its seeded masks.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getMethod } from "../../src/index.js";
import { expectAllClose, runMethod, type ToyTensor, toyModel } from "./helpers.js";

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
};
const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));

function naiveSlerp(t: number, v0: Float32Array, v1: Float32Array): number[] {
  const n0 = norm(v0);
  const n1 = norm(v1);
  const u0 = Array.from(v0, (x) => (n0 > 1e-8 ? x / n0 : x));
  const u1 = Array.from(v1, (x) => (n1 > 1e-8 ? x / n1 : x));
  const c = dot(u0, u1);
  if (Math.abs(c) > 0.9995) return Array.from(v0, (x, k) => (1 - t) * x + t * v1[k]);
  const th = Math.acos(c);
  return Array.from(v0, (x, k) => (Math.sin((1 - t) * th) * x + Math.sin(t * th) * v1[k]) / Math.sin(th));
}

function naiveModelStock(base: Float32Array, models: Float32Array[]): number[] {
  const offs = models.map((m) => Array.from(m, (v, k) => v - base[k]));
  const cos: number[] = [];
  for (let i = 0; i < offs.length; i++) {
    for (let j = i + 1; j < offs.length; j++) {
      cos.push(
        Math.min(1, Math.max(-1, dot(offs[i], offs[j]) / Math.max(norm(offs[i]) * norm(offs[j]), 1e-6))),
      );
    }
  }
  const c = cos.reduce((a, b) => a + b, 0) / cos.length;
  const n = models.length;
  const t = (n * c) / (1 + (n - 1) * c);
  return Array.from(base, (b, k) => t * (models.reduce((s, m) => s + m[k], 0) / n) + (1 - t) * b);
}

describe("dense references", () => {
  it("slerp", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.double({ min: 0, max: 1, noNaN: true }), (seed, t) => {
        const model = toyModel(seed, 1, { w: [37] });
        expectAllClose(
          runMethod(getMethod("slerp"), model, { params: { t } }).get("w")!,
          naiveSlerp(t, model[0].base, model[0].models[0]),
          1e-6,
          "slerp",
        );
      }),
      { numRuns: 100 },
    );
  });

  it("model_stock", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 2, max: 5 }), (seed, n) => {
        const model = toyModel(seed, n, { w: [6, 7] });
        const t = model[0];
        expectAllClose(
          runMethod(getMethod("model_stock"), model).get("w")!,
          naiveModelStock(t.base, t.models),
          1e-5,
          "ms",
        );
      }),
      { numRuns: 100 },
    );
  });

  it("linear", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        fc.array(fc.double({ min: 0.1, max: 3, noNaN: true }), { minLength: 1, maxLength: 5 }),
        (seed, ws) => {
          const model = toyModel(seed, ws.length, { w: [29] });
          const t = model[0];
          const sw = ws.reduce((a, b) => a + b, 0);
          const want = Array.from(t.base, (_, k) => t.models.reduce((s, m, i) => s + ws[i] * m[k], 0) / sw);
          const got = runMethod(getMethod("linear"), model, {
            modelParams: ws.map((weight) => ({ weight })),
          }).get("w")!;
          expectAllClose(got, want, 1e-6, "linear");
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("task order", () => {
  const permute = (model: ToyTensor[], perm: number[]) =>
    model.map((t) => ({ ...t, models: perm.map((i) => t.models[i]) }));

  it("model_stock, fisher and regmean do not depend on model order", () => {
    const model = toyModel(12, 3, { w: [5, 8] });
    const perm = [1, 2, 0];
    const fisher = model[0].models.map((m) => m.map((v) => v * v + 0.1));
    const gram = [0, 1, 2].map((i) =>
      Float32Array.from({ length: 64 }, (_, k) => (k % 9 === 0 ? 2 + i : 0.1)),
    );
    const cases: [string, ((t: ToyTensor) => object) | undefined, ((t: ToyTensor) => object) | undefined][] =
      [
        ["model_stock", undefined, undefined],
        ["fisher", () => ({ fisher }), () => ({ fisher: perm.map((i) => fisher[i]) })],
        ["regmean", () => ({ gram }), () => ({ gram: perm.map((i) => gram[i]) })],
      ];
    for (const [name, aux, auxPerm] of cases) {
      const a = runMethod(getMethod(name), model, { aux }).get("w")!;
      const b = runMethod(getMethod(name), permute(model, perm), { aux: auxPerm }).get("w")!;
      expectAllClose(b, a, 1e-6, name);
    }
  });

  it("dare_ties depends on order only through its seeded masks: with masks permuted along, nothing changes", () => {
    const model = toyModel(13, 3, { w: [40] });
    const masks = [0, 1, 2].map((i) =>
      Uint8Array.from({ length: 40 }, (_, k) => ((k * (i + 3)) % 5 < 3 ? 1 : 0)),
    );
    const mp = [
      { density: 0.6, weight: 0.5 },
      { density: 0.6, weight: 1 },
      { density: 0.6, weight: 1.5 },
    ];
    const perm = [2, 0, 1];
    const a = runMethod(getMethod("dare_ties"), model, { modelParams: mp, aux: () => ({ masks }) }).get("w")!;
    const b = runMethod(getMethod("dare_ties"), permute(model, perm), {
      modelParams: perm.map((i) => mp[i]),
      aux: () => ({ masks: perm.map((i) => masks[i]) }),
    }).get("w")!;
    expectAllClose(b, a, 1e-6, "dare_ties");
    // With seeded masks the draw follows model order, so a permutation generally changes the result.
    const c = runMethod(getMethod("dare_ties"), model, { modelParams: mp }).get("w")!;
    const d = runMethod(getMethod("dare_ties"), permute(model, perm), {
      modelParams: perm.map((i) => mp[i]),
    }).get("w")!;
    expect(Array.from(c)).not.toEqual(Array.from(d));
  });
});

describe("nuslerp", () => {
  const rows = (base: number[] | undefined, a: number[], b: number[], shape: number[]): ToyTensor[] => [
    {
      name: "w",
      shape,
      base: Float32Array.from(base ?? a.map(() => 0)),
      models: [Float32Array.from(a), Float32Array.from(b)],
    },
  ];

  it("t = w₂/(w₁ + w₂) along the great circle; flattened by default", () => {
    const m = rows(undefined, [1, 0], [0, 1], [2]);
    const out = runMethod(getMethod("nuslerp"), m, { modelParams: [{ weight: 1 }, { weight: 1 }] }).get("w")!;
    expectAllClose(out, [Math.SQRT1_2, Math.SQRT1_2], 1e-7, "mid");
    const q = runMethod(getMethod("nuslerp"), m, { modelParams: [{ weight: 2 }, { weight: 1 }] }).get("w")!;
    expectAllClose(q, [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)], 1e-7, "third");
  });

  it("interpolates task vectors around a base, per row or per column, and lerps colinear vectors", () => {
    // Rows [1,0]/[0,1] and [1,0]/[2,0] (colinear → lerp). Base shifts everything by 1.
    const m = rows([1, 1, 1, 1], [2, 1, 2, 1], [1, 2, 3, 1], [2, 2]);
    const perRow = runMethod(getMethod("nuslerp"), m, { params: { nuslerp_flatten: false } }).get("w")!;
    expectAllClose(perRow, [1 + Math.SQRT1_2, 1 + Math.SQRT1_2, 1 + 1.5, 1], 1e-6, "rows");
    // Column-wise: columns [1,1]/[0,2] and [0,0]/[1,0] (zero vector: cos 0 → slerp with θ = π/2).
    const perCol = runMethod(getMethod("nuslerp"), m, {
      params: { nuslerp_flatten: false, nuslerp_row_wise: true },
    }).get("w")!;
    const c0 = naiveSlerp(0.5, Float32Array.from([1, 1]), Float32Array.from([0, 2]));
    expectAllClose(
      [perCol[0], perCol[2]],
      c0.map((v) => v + 1),
      1e-6,
      "col0",
    );
  });

  it("agrees with slerp's formula on flattened inputs without a base (away from the lerp threshold)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const [t] = toyModel(seed, 2, { w: [25] });
        const noBase = [{ ...t, base: new Float32Array(25) }];
        const got = runMethod(getMethod("nuslerp"), noBase, {
          modelParams: [{ weight: 1 }, { weight: 3 }],
        }).get("w")!;
        expectAllClose(got, naiveSlerp(0.75, t.models[0], t.models[1]), 1e-5, "nuslerp");
      }),
      { numRuns: 50 },
    );
  });
});
