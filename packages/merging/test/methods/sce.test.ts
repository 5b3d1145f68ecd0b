// sce against a straightforward transcription of mergekit's semantics, plus a worked vector.
import fc from "fast-check";
import { describe, it } from "vitest";
import { getMethod } from "../../src/index.js";
import { expectAllClose, runMethod, type ToyTensor, toyModel } from "./helpers.js";

function naiveSce(t: ToyTensor, topk: number): number[] {
  const d = t.base.length;
  const n = t.models.length;
  let deltas = t.models.map((m) => Array.from(m, (v, k) => Math.fround(v - t.base[k])));
  if (topk < 1) {
    const variance = Array.from({ length: d }, (_, k) => {
      const mean = deltas.reduce((s, dl) => s + dl[k], 0) / n;
      return Math.fround(deltas.reduce((s, dl) => s + (dl[k] - mean) ** 2, 0) / n);
    });
    const nz = variance.filter((v) => v !== 0).length;
    const k = Math.trunc(topk * nz);
    const order = variance.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const keep = new Set(order.slice(0, k).map(([, i]) => i));
    deltas = deltas.map((dl) => dl.map((v, i) => (keep.has(i) ? v : 0)));
  }
  let w = deltas.map((dl) => dl.reduce((s, v) => s + v * v, 0) / d);
  const sw = w.reduce((a, b) => a + b, 0);
  w = Math.abs(sw) < 1e-6 ? w.map(() => 1 / n) : w.map((x) => x / sw);
  return Array.from(t.base, (b, k) => {
    const elected = deltas.reduce((s, dl) => s + dl[k], 0) >= 0 ? 1 : -1;
    let mixed = 0;
    let div = 0;
    deltas.forEach((dl, i) => {
      if (Math.sign(dl[k]) === elected) {
        mixed += dl[k] * w[i];
        div += w[i];
      }
    });
    return b + mixed / Math.max(div, 1e-6);
  });
}

describe("sce", () => {
  it("matches the dense transcription", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(1, 0.5, 0.1, 0.01),
        (seed, n, topk) => {
          const model = toyModel(seed, n, { w: [9, 7] });
          const got = runMethod(getMethod("sce"), model, { params: { select_topk: topk } }).get("w")!;
          expectAllClose(got, naiveSce(model[0], topk), 2e-6, "sce");
        },
      ),
      { numRuns: 80 },
    );
  });

  it("worked vector: weights ∝ mean(δ²), minority signs erased", () => {
    const model: ToyTensor[] = [
      {
        name: "w",
        shape: [2],
        base: new Float32Array(2),
        models: [Float32Array.from([1, 1]), Float32Array.from([3, -1])],
      },
    ];
    // w ∝ [1, 5] → [1/6, 5/6]; column 0 both positive → (1/6·1 + 5/6·3) / 1 = 8/3;
    // column 1: Σ = 0 → elected + → only model 0 → 1.
    expectAllClose(runMethod(getMethod("sce"), model).get("w")!, [8 / 3, 1], 1e-6, "sce");
  });

  it("identical models give that model", () => {
    const [t] = toyModel(4, 1, { w: [30] });
    const same = [{ ...t, models: [t.models[0], t.models[0], t.models[0]] }];
    expectAllClose(runMethod(getMethod("sce"), same).get("w")!, t.models[0], 1e-6, "identical");
  });
});
