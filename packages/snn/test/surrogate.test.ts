import { describe, expect, it } from "vitest";
import {
  atan,
  CADE_LIF,
  lif,
  multiStepNeuron,
  type NeuronSpec,
  sigmoid,
  spikeFunction,
  surrogateGrad,
  surrogatePrimitive,
} from "../src/index.js";
import { tfRuntime } from "./helpers.js";

const XS = [-2, -0.7, -0.1, 0, 0.05, 0.3, 1.4];

describe("surrogate functions", () => {
  for (const s of [sigmoid(4), sigmoid(1.5), atan(2), atan(5)]) {
    it(`${s.kind}(α = ${s.alpha}): g′ matches finite differences of g`, () => {
      for (const x of XS) {
        const h = 1e-5;
        const fd = (surrogatePrimitive(s, x + h) - surrogatePrimitive(s, x - h)) / (2 * h);
        expect(surrogateGrad(s, x)).toBeCloseTo(fd, 7);
      }
    });
    it(`${s.kind}(α = ${s.alpha}): tfjs forward is the step, backward is g′`, async () => {
      const tf = await tfRuntime();
      const spike = spikeFunction(tf, s);
      const { value, grad } = tf.tidy(() => {
        const x = tf.tensor1d(XS);
        const vg = tf.valueAndGrad(
          (t: import("@tensorflow/tfjs-core").Tensor) =>
            tf.sum(spike(t)) as import("@tensorflow/tfjs-core").Scalar,
        );
        const r = vg(x);
        return { value: spike(x).dataSync().slice(), grad: r.grad.dataSync().slice() };
      });
      expect(Array.from(value)).toEqual(XS.map((x) => (x >= 0 ? 1 : 0)));
      for (let i = 0; i < XS.length; i++) expect(grad[i]).toBeCloseTo(surrogateGrad(s, XS[i]), 5);
    });
  }

  it("sigmoid(4) at 0 has slope α/4 = 1; atan(2) at 0 has slope α/2 = 1", () => {
    expect(surrogateGrad(sigmoid(4), 0)).toBeCloseTo(1, 12);
    expect(surrogateGrad(atan(2), 0)).toBeCloseTo(1, 12);
  });
});

/** Gradient of S_1 + S_2 of a two-step LIF w.r.t. the two input currents. */
async function twoStepGrad(n: NeuronSpec, x1: number, x2: number): Promise<number[]> {
  const tf = await tfRuntime();
  return tf.tidy(() => {
    const f = (a: import("@tensorflow/tfjs-core").Tensor, b: import("@tensorflow/tfjs-core").Tensor) => {
      const [s1, s2] = multiStepNeuron(tf, n, [a, b]);
      return tf.add(tf.sum(s1), tf.sum(s2));
    };
    const [g1, g2] = tf.grads(f)([tf.tensor1d([x1]), tf.tensor1d([x2])]);
    return [g1.dataSync()[0], g2.dataSync()[0]];
  });
}

describe("BPTT through the LIF dynamics", () => {
  // CADE LIF: H1 = x1, V1 = H1·(1 − S1), H2 = 0.5·V1 + x2. Let g(u) = g′(u − 1).
  const gp = (u: number) => surrogateGrad(CADE_LIF.surrogate, u - 1);
  it("detach_reset: dL/dx1 = g(H1) + 0.5·g(H2)·(1 − S1)", async () => {
    const [x1, x2] = [0.8, 0.7];
    const h2 = 0.5 * x1 + x2;
    const [d1, d2] = await twoStepGrad(CADE_LIF, x1, x2);
    expect(d2).toBeCloseTo(gp(h2), 5);
    expect(d1).toBeCloseTo(gp(x1) + 0.5 * gp(h2), 5);
  });
  it("detach_reset after a spike: the leak path is cut (S1 = 1)", async () => {
    const [x1, x2] = [1.3, 0.9];
    const [d1, d2] = await twoStepGrad(CADE_LIF, x1, x2);
    expect(d2).toBeCloseTo(gp(x2), 5);
    expect(d1).toBeCloseTo(gp(x1), 5);
  });
  it("without detach: the reset term carries −H1·g(H1)", async () => {
    const n = { ...CADE_LIF, detachReset: false };
    const [x1, x2] = [1.3, 0.9];
    const [d1] = await twoStepGrad(n, x1, x2);
    // V1 = H1·(1 − S1): dV1/dH1 = (1 − S1) − H1·g(H1) = −1.3·g(1.3)
    expect(d1).toBeCloseTo(gp(x1) + gp(x2) * 0.5 * (0 - x1 * gp(x1)), 5);
  });
  it("decay_input LIF: dL/dx2 = g(H2)/τ", async () => {
    const n = lif();
    const [x1, x2] = [0.8, 1.9];
    const h2 = 0.4 + (x2 - 0.4) / 2;
    const [, d2] = await twoStepGrad(n, x1, x2);
    expect(d2).toBeCloseTo(surrogateGrad(n.surrogate, h2 - 1) / 2, 5);
  });
});
