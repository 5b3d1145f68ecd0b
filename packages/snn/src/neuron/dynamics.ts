import { initialPotential, type NeuronSpec } from "./config.js";

/**
 * Multi-step dynamics on plain numbers: one neuron driven by the currents x[0..T), returning the spikes
 * and the membrane potentials H_t (after charge) and V_t (after reset). The reference the tfjs layer and
 * the fast inference path are tested against.
 */
export function neuronTrace(n: NeuronSpec, x: readonly number[]): { h: number[]; s: number[]; v: number[] } {
  const h: number[] = [];
  const s: number[] = [];
  const v: number[] = [];
  let vPrev = initialPotential(n);
  for (const xt of x) {
    const ht = charge(n, vPrev, xt);
    const st = ht - n.vThreshold >= 0 ? 1 : 0;
    const vt = reset(n, ht, st);
    h.push(ht);
    s.push(st);
    v.push(vt);
    vPrev = vt;
  }
  return { h, s, v };
}

/** H_t from V_{t−1} and X_t, written exactly as the neuron's equation. */
export function charge(n: NeuronSpec, v: number, x: number): number {
  if (n.kind === "if") return v + x;
  const vr = n.vReset ?? 0;
  return n.decayInput ? v + (x - (v - vr)) / n.tau : v - (v - vr) / n.tau + x;
}

/** V_t from H_t and S_t. */
export function reset(n: NeuronSpec, h: number, s: number): number {
  return n.vReset === null ? h - n.vThreshold * s : h * (1 - s) + n.vReset * s;
}
