import { SnnConfigError } from "../errors.js";
import { SIGMOID_4, type SurrogateSpec, validateSurrogate } from "../surrogate/index.js";

/**
 * A multi-step spiking neuron. `vReset: null` means soft reset (subtract the threshold).
 *
 * LIF charge: decayInput  H_t = V_{t−1} + (X_t − (V_{t−1} − V_reset)) / τ
 *             !decayInput H_t = V_{t−1} − (V_{t−1} − V_reset) / τ + X_t      (V_reset taken as 0 when soft)
 * IF charge:  H_t = V_{t−1} + X_t
 * Fire: S_t = Θ(H_t − V_th). Reset: hard V_t = H_t·(1 − S_t) + V_reset·S_t; soft V_t = H_t − V_th·S_t.
 * detachReset stops the gradient through S_t inside the reset term. V_0 = V_reset (0 when soft).
 */
export type NeuronSpec =
  | {
      readonly kind: "lif";
      readonly tau: number;
      readonly decayInput: boolean;
      readonly vThreshold: number;
      readonly vReset: number | null;
      readonly detachReset: boolean;
      readonly surrogate: SurrogateSpec;
    }
  | {
      readonly kind: "if";
      readonly vThreshold: number;
      readonly vReset: number | null;
      readonly detachReset: boolean;
      readonly surrogate: SurrogateSpec;
    };

/** spikingjelly's LIFNode defaults: τ = 2, decay_input, V_th = 1, V_reset = 0, Sigmoid(4), no detach. */
export const SPIKINGJELLY_LIF: NeuronSpec = {
  kind: "lif",
  tau: 2,
  decayInput: true,
  vThreshold: 1,
  vReset: 0,
  detachReset: false,
  surrogate: SIGMOID_4,
};

/** CADE's LIF: τ = 2 without input decay, hard reset to 0, detach_reset, Sigmoid(4): H = 0.5·V + X. */
export const CADE_LIF: NeuronSpec = {
  kind: "lif",
  tau: 2,
  decayInput: false,
  vThreshold: 1,
  vReset: 0,
  detachReset: true,
  surrogate: SIGMOID_4,
};

/** LIF with spikingjelly's defaults, overridden by `o`. */
export function lif(o: Partial<Omit<Extract<NeuronSpec, { kind: "lif" }>, "kind">> = {}): NeuronSpec {
  return validateNeuron({ ...SPIKINGJELLY_LIF, ...o, kind: "lif" } as NeuronSpec);
}

/** IF (no leak): V_th = 1, V_reset = 0, Sigmoid(4), no detach unless overridden. */
export function ifNeuron(o: Partial<Omit<Extract<NeuronSpec, { kind: "if" }>, "kind">> = {}): NeuronSpec {
  return validateNeuron({
    vThreshold: 1,
    vReset: 0,
    detachReset: false,
    surrogate: SIGMOID_4,
    ...o,
    kind: "if",
  } as NeuronSpec);
}

export function validateNeuron(n: NeuronSpec): NeuronSpec {
  if (n?.kind !== "lif" && n?.kind !== "if") {
    throw new SnnConfigError(
      `neuron.kind must be "lif" or "if", got ${JSON.stringify((n as { kind?: unknown } | undefined)?.kind)}`,
    );
  }
  if (n.kind === "lif" && !(Number.isFinite(n.tau) && n.tau >= 1)) {
    throw new SnnConfigError(`neuron.tau must be a finite number >= 1, got ${n.tau}`);
  }
  if (n.kind === "lif" && typeof n.decayInput !== "boolean") {
    throw new SnnConfigError(`neuron.decayInput must be true or false, got ${JSON.stringify(n.decayInput)}`);
  }
  if (!Number.isFinite(n.vThreshold))
    throw new SnnConfigError(`neuron.vThreshold must be finite, got ${n.vThreshold}`);
  if (n.vReset !== null && !Number.isFinite(n.vReset)) {
    throw new SnnConfigError(`neuron.vReset must be a finite number or null (soft reset), got ${n.vReset}`);
  }
  if (typeof n.detachReset !== "boolean") {
    throw new SnnConfigError(
      `neuron.detachReset must be true or false, got ${JSON.stringify(n.detachReset)}`,
    );
  }
  validateSurrogate(n.surrogate);
  return n;
}

/**
 * The charge equation as H = a·V + b·X + c (exactly the forms above, rearranged):
 * LIF decayInput: a = 1 − 1/τ, b = 1/τ, c = V_reset/τ; LIF !decayInput: a = 1 − 1/τ, b = 1, c = V_reset/τ;
 * IF: a = 1, b = 1, c = 0. Soft reset uses V_reset = 0 in the charge.
 */
export function chargeCoefficients(n: NeuronSpec): { a: number; b: number; c: number } {
  if (n.kind === "if") return { a: 1, b: 1, c: 0 };
  const vr = n.vReset ?? 0;
  return { a: 1 - 1 / n.tau, b: n.decayInput ? 1 / n.tau : 1, c: vr / n.tau };
}

/** Initial membrane potential V_0. */
export function initialPotential(n: NeuronSpec): number {
  return n.vReset ?? 0;
}
