// The fused dense path (no sparsification, no sign consensus) must give the same bits as the
// general path's expression: δ stored as float32, acc += w·δ in float32, θ₀ + scale·acc.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getMethod } from "../../src/index.js";
import { runMethod, toyModel } from "./helpers.js";

function unfusedReference(
  base: Float32Array,
  models: readonly Float32Array[],
  w: readonly number[],
  scale: number,
): Float32Array {
  const d = base.length;
  const delta = new Float32Array(d);
  const acc = new Float32Array(d);
  models.forEach((m, i) => {
    for (let k = 0; k < d; k++) delta[k] = m[k] - base[k];
    for (let k = 0; k < d; k++) acc[k] += w[i] * delta[k];
  });
  for (let k = 0; k < d; k++) acc[k] = base[k] + scale * acc[k];
  return acc;
}

describe("generalized task arithmetic, dense path", () => {
  it("is bit-identical to the unfused expression (task_arithmetic, dare_linear and della_linear at density 1)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 }),
        fc.double({ min: 0.1, max: 2, noNaN: true }),
        fc.boolean(),
        fc.constantFrom("task_arithmetic", "dare_linear", "della_linear"),
        (seed, n, weights, lambda, normalize, name) => {
          const tensors = toyModel(seed, n, { a: [7, 5], b: [13] });
          const w = weights.slice(0, n);
          const out = runMethod(getMethod(name), tensors, {
            params: { lambda, normalize, rescale: false },
            modelParams: w.map((weight) => ({ weight, density: 1 })),
          });
          const sw = w.reduce((s, x) => s + x, 0);
          const scale = normalize ? lambda / (Math.abs(sw) < 1e-8 ? 1 : sw) : lambda;
          for (const t of tensors) {
            const got = new Uint32Array(out.get(t.name)!.buffer);
            const want = new Uint32Array(unfusedReference(t.base, t.models, w, scale).buffer);
            expect(got).toEqual(want);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
