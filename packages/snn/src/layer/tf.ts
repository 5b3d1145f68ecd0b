import type * as tfc from "@tensorflow/tfjs-core";
import type { Tensor as T } from "@tensorflow/tfjs-core";
import { BN_EPS, type ConnectFunction } from "../model/spec.js";
import type { NeuronSpec } from "../neuron/config.js";
import type { SurrogateSpec } from "../surrogate/index.js";

export type Tf = typeof tfc;
// tfjs types customGrad's callback arguments as a union of tensors and the save function
type GradFn = Parameters<Tf["customGrad"]>[0];

/**
 * The spike function for BPTT: forward Θ(x) (1 where x ≥ 0), backward dy·g′(x) with the surrogate's g.
 */
export function spikeFunction(tf: Tf, s: SurrogateSpec): (x: T) => T {
  const alpha = s.alpha;
  const grad =
    s.kind === "sigmoid"
      ? (x: T): T => {
          const sg = tf.sigmoid(tf.mul(x, alpha));
          return tf.mul(tf.mul(sg, tf.sub(1, sg)), alpha);
        }
      : (x: T): T => {
          const u = tf.mul(x, (Math.PI / 2) * alpha);
          return tf.div(alpha / 2, tf.add(1, tf.square(u)));
        };
  const f = tf.customGrad(((x: T, save: (ts: T[]) => void) => {
    save([x]);
    return {
      value: tf.cast(tf.greaterEqual(x, 0), "float32"),
      gradFunc: (dy: T, saved: T[]) => tf.mul(dy, grad(saved[0])),
    };
  }) as unknown as GradFn);
  return f as unknown as (x: T) => T;
}

/** Identity in the forward pass, zero gradient (PyTorch's `.detach()`). */
export function stopGradient(tf: Tf): (x: T) => T {
  const f = tf.customGrad(((x: T) => ({
    value: tf.clone(x),
    gradFunc: (dy: T) => tf.zerosLike(dy),
  })) as unknown as GradFn);
  return f as unknown as (x: T) => T;
}

/**
 * Multi-step neuron over T inputs (one tensor per time step; pass the same tensor T times under direct
 * encoding). Returns the spikes S_t. Charge, fire and reset exactly as the neuron's equations; with
 * detachReset the S_t inside the reset term carries no gradient.
 */
export function multiStepNeuron(tf: Tf, n: NeuronSpec, xs: readonly T[]): T[] {
  const spike = spikeFunction(tf, n.surrogate);
  const detach = stopGradient(tf);
  const vth = n.vThreshold;
  let v: T = tf.fill(xs[0].shape, n.vReset ?? 0);
  const out: T[] = [];
  for (const x of xs) {
    let h: T;
    if (n.kind === "if") h = tf.add(v, x);
    else {
      const vr = n.vReset ?? 0;
      h = n.decayInput
        ? tf.add(v, tf.div(tf.sub(x, tf.sub(v, vr)), n.tau))
        : tf.add(tf.sub(v, tf.div(tf.sub(v, vr), n.tau)), x);
    }
    const s = spike(tf.sub(h, vth));
    const sr = n.detachReset ? detach(s) : s;
    v =
      n.vReset === null ? tf.sub(h, tf.mul(sr, vth)) : tf.add(tf.mul(h, tf.sub(1, sr)), tf.mul(sr, n.vReset));
    out.push(s);
  }
  return out;
}

/** O = g(A, S): ADD A + S, AND A·S, IAND (1 − A)·S. */
export function connectTf(tf: Tf, g: ConnectFunction, a: T, s: T): T {
  if (g === "ADD") return tf.add(a, s);
  if (g === "AND") return tf.mul(a, s);
  return tf.mul(tf.sub(1, a), s);
}

/** BatchNorm statistics of x over every axis but the last (the T·B batch and, for conv, the positions). */
export function batchMoments(tf: Tf, x: T): { mean: T; variance: T } {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  return tf.moments(x, axes);
}

/** (x − mean)/√(var + ε)·γ + β, broadcasting over the last axis. */
export function batchNormApply(tf: Tf, x: T, mean: T, variance: T, gamma: T, beta: T): T {
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, BN_EPS))), gamma), beta);
}
