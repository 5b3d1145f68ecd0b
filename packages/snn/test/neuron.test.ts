import { describe, expect, it } from "vitest";
import {
  CADE_LIF,
  ifNeuron,
  lif,
  multiStepNeuron,
  type NeuronSpec,
  neuronTrace,
  SnnConfigError,
} from "../src/index.js";
import { tfRuntime } from "./helpers.js";

interface Case {
  name: string;
  n: NeuronSpec;
  x: number[];
  h: number[];
  s: number[];
  v: number[];
}

// Membrane traces computed by hand from the equations (see the README's neuron section).
const CASES: Case[] = [
  {
    // H = 0.5·V + X, hard reset to 0
    name: "CADE LIF (no input decay, τ = 2, hard reset)",
    n: CADE_LIF,
    x: [0.6, 0.6, 0.6, 1.5, 0.2],
    h: [0.6, 0.9, 1.05, 1.5, 0.2],
    s: [0, 0, 1, 1, 0],
    v: [0.6, 0.9, 0, 0, 0.2],
  },
  {
    // H = V + (X − V)/2
    name: "spikingjelly LIF (decay_input, τ = 2, hard reset)",
    n: lif(),
    x: [1.5, 1.5, 0.8, 3.0],
    h: [0.75, 1.125, 0.4, 1.7],
    s: [0, 1, 0, 1],
    v: [0.75, 0, 0.4, 0],
  },
  {
    // soft reset: V = H − 1 after a spike
    name: "LIF soft reset (decay_input)",
    n: lif({ vReset: null }),
    x: [2.5, 0.5, 2],
    h: [1.25, 0.375, 1.1875],
    s: [1, 0, 1],
    v: [0.25, 0.375, 0.1875],
  },
  {
    // V_0 = V_reset = −0.5; H = V − (V + 0.5)/2 + X
    name: "LIF without input decay, V_reset = −0.5",
    n: lif({ decayInput: false, vReset: -0.5 }),
    x: [1, 1, 0.25],
    h: [0.5, 1, -0.25],
    s: [0, 1, 0],
    v: [0.5, -0.5, -0.25],
  },
  {
    // H = V + X; Θ(0) = 1: H = V_th exactly fires
    name: "IF hard reset, firing at exactly the threshold",
    n: ifNeuron(),
    x: [0.25, 0.25, 0.75, 1],
    h: [0.25, 0.5, 1.25, 1],
    s: [0, 0, 1, 1],
    v: [0.25, 0.5, 0, 0],
  },
  {
    name: "IF soft reset",
    n: ifNeuron({ vReset: null }),
    x: [0.75, 0.75, 0.75],
    h: [0.75, 1.5, 1.25],
    s: [0, 1, 1],
    v: [0.75, 0.5, 0.25],
  },
  {
    name: "LIF τ = 4 with decay_input, threshold 0.5",
    n: lif({ tau: 4, vThreshold: 0.5 }),
    x: [1, 1, 4],
    h: [0.25, 0.4375, 1.328125],
    s: [0, 0, 1],
    v: [0.25, 0.4375, 0],
  },
];

describe("multi-step neuron dynamics", () => {
  for (const c of CASES) {
    it(`${c.name}: reference trace`, () => {
      const t = neuronTrace(c.n, c.x);
      for (let i = 0; i < c.h.length; i++) expect(t.h[i]).toBeCloseTo(c.h[i], 12);
      expect(t.s).toEqual(c.s);
      for (let i = 0; i < c.v.length; i++) expect(t.v[i]).toBeCloseTo(c.v[i], 12);
    });
    it(`${c.name}: tfjs layer gives the same spikes`, async () => {
      const tf = await tfRuntime();
      const spikes = tf.tidy(() =>
        multiStepNeuron(
          tf,
          c.n,
          c.x.map((v) => tf.tensor1d([v])),
        ).map((s) => s.dataSync()[0]),
      );
      expect(spikes).toEqual(c.s);
    });
  }

  it("rejects invalid neurons with a typed error naming the field", () => {
    expect(() => lif({ tau: 0.5 })).toThrow(/neuron.tau/);
    expect(() => lif({ vThreshold: Number.NaN })).toThrow(SnnConfigError);
    expect(() => ifNeuron({ surrogate: { kind: "sigmoid", alpha: -1 } })).toThrow(/surrogate.alpha/);
  });
});
