import { describe, expect, it } from "vitest";
import { pcbMerge, pcbPrepare } from "../../src/pcb/reference.js";

// The worked example of docs/pcb.md: n = 2, D = 10, r = 0.5, q = 0.01, λ_i = 1.
const t1 = Float32Array.from([0.5, -0.2, 0.05, 0.9, -0.7, 0.0, 0.3, -0.1, 0.25, 0.6]);
const t2 = Float32Array.from([0.4, 0.3, -0.05, -0.8, -0.6, 0.1, 0.2, 0.15, -0.35, 0.05]);
const opts = { ratio: 0.5, clampQuantile: 0.01 } as const;

// The worked values were derived in float64 and printed to 6 decimals; PCB computes in float32 like
// the PyTorch reference, so allow 1e-6 plus one float32 ulp-scale relative term.
function expectClose(actual: ArrayLike<number>, expected: readonly number[]) {
  expect(actual.length).toBe(expected.length);
  for (let k = 0; k < expected.length; k++) {
    const tol = 1e-6 + 3e-7 * Math.abs(expected[k]);
    expect(
      Math.abs(actual[k] - expected[k]),
      `index ${k}: ${actual[k]} vs ${expected[k]}`,
    ).toBeLessThanOrEqual(tol);
  }
}

describe("PCB worked 2x10 example (docs/pcb.md)", () => {
  it("clamps the top magnitude to the second largest and raises nothing", () => {
    const p = pcbPrepare([t1, t2], { ...opts, keepIntermediates: true });
    expectClose(p.intermediates!.clamped[0], [0.5, -0.2, 0.05, 0.7, -0.7, 0, 0.3, -0.1, 0.25, 0.6]);
    expectClose(p.intermediates!.clamped[1], [0.4, 0.3, -0.05, -0.6, -0.6, 0.1, 0.2, 0.15, -0.35, 0.05]);
  });

  it("canonical: B, W and τm", () => {
    const p = pcbPrepare([t1, t2], { ...opts, keepIntermediates: true });
    const im = p.intermediates!;
    expectClose(
      im.scores[0],
      [1.170486, -0.023544, 0, 0.663225, 5.328487, 0, 0.214975, -0.005208, -0.032258, 1.614144],
    );
    expectClose(
      im.scores[1],
      [0.775945, 0.045337, -0, -0.589867, 4.822886, 0.010166, 0.115654, 0.008012, 0.063433, 0.032489],
    );
    expectClose(im.weights[0], [0.18686, 0, 0, 0.08766, 1, 0, 0, 0, 0, 0.273622]);
    expectClose(im.weights[1], [0.152925, 0, 0, 0, 1, 0, 0.014718, 0, 0.003788, 0]);
    expectClose(p.combine(), [0.454994, 0, 0, 0.7, -0.65, 0, 0.2, 0, -0.35, 0.6]);
  });

  it("vision (pcb.py) variant", () => {
    expectClose(
      pcbMerge([t1, t2], { ...opts, inter: "vision" }),
      [0.459491, 0, 0, 0, -0.65, 0, 0.27636, 0, -0.35, 0.6],
    );
  });

  it("pairwise (pcb_ES.py) variant", () => {
    expectClose(
      pcbMerge([t1, t2], { ...opts, inter: "pairwise" }),
      [0.458991, 0, 0, 0, -0.65, 0, 0.279521, 0, -0.35, 0.6],
    );
  });
});
