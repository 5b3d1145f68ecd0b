import { SnnConfigError } from "../errors.js";

/**
 * A surrogate spike function. The forward pass is always the Heaviside step Θ(x) with Θ(0) = 1; the
 * backward pass uses the derivative of a smooth g in place of dΘ/dx. x = H − V_th.
 */
export type SurrogateSpec =
  | { readonly kind: "sigmoid"; readonly alpha: number }
  | { readonly kind: "atan"; readonly alpha: number };

/** spikingjelly's default surrogate: Sigmoid(α = 4). */
export const SIGMOID_4: SurrogateSpec = { kind: "sigmoid", alpha: 4 };

export function sigmoid(alpha = 4): SurrogateSpec {
  return validateSurrogate({ kind: "sigmoid", alpha });
}

export function atan(alpha = 2): SurrogateSpec {
  return validateSurrogate({ kind: "atan", alpha });
}

export function validateSurrogate(s: SurrogateSpec): SurrogateSpec {
  if (s?.kind !== "sigmoid" && s?.kind !== "atan") {
    throw new SnnConfigError(
      `surrogate.kind must be "sigmoid" or "atan", got ${JSON.stringify((s as { kind?: unknown } | undefined)?.kind)}`,
    );
  }
  if (!(Number.isFinite(s.alpha) && s.alpha > 0)) {
    throw new SnnConfigError(`surrogate.alpha must be a finite number > 0, got ${s.alpha}`);
  }
  return s;
}

/** Forward pass of every surrogate: Θ(x) = 1 if x ≥ 0 else 0. */
export function heaviside(x: number): number {
  return x >= 0 ? 1 : 0;
}

/** The smooth primitive g(x) whose derivative the backward pass uses. */
export function surrogatePrimitive(s: SurrogateSpec, x: number): number {
  if (s.kind === "sigmoid") return 1 / (1 + Math.exp(-s.alpha * x));
  return Math.atan((Math.PI / 2) * s.alpha * x) / Math.PI + 0.5;
}

/**
 * g′(x): sigmoid α·σ(αx)·(1 − σ(αx)); atan α / (2·(1 + ((π/2)·α·x)²)).
 */
export function surrogateGrad(s: SurrogateSpec, x: number): number {
  if (s.kind === "sigmoid") {
    const sg = 1 / (1 + Math.exp(-s.alpha * x));
    return s.alpha * sg * (1 - sg);
  }
  const u = (Math.PI / 2) * s.alpha * x;
  return s.alpha / (2 * (1 + u * u));
}
