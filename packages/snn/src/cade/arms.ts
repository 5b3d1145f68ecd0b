import {
  cadeS3,
  constant,
  cosineValue,
  linear,
  type ParameterControl,
  type Schedule,
  ScheduledControl,
  startWith,
  sum,
  uniformJitter,
} from "@x/evolution";
import { SnnConfigError } from "../errors.js";

/**
 * F / CR rules compared in CADE's experiment. All use DE/rand/1/bin with strict greedy selection; only
 * `jRand` arms force one crossed coordinate. `f0`/`cr0` are the starting values, `fMin` the floor (F0/10 by
 * default) and `halfPeriod` the cosine's half period in generations (round(0.4·G) by default).
 */
export type CadeArm =
  /** CADE S3: F_g = Fmin + (F0 − Fmin)(1 + cos(πg/P))/2 + U(Fmin, F0), the same form for CR; F0 / CR0 at g = 0. */
  | {
      readonly kind: "cade";
      readonly f0: number;
      readonly cr0: number;
      readonly fMin?: number;
      readonly halfPeriod?: number;
      readonly jRand?: boolean;
    }
  /** Constant F, CR (plain DE at F0 / CR0, or classic DE 0.5 / 0.9 with jRand). */
  | { readonly kind: "constant"; readonly f: number; readonly cr: number; readonly jRand?: boolean }
  /** Constant at CADE S3's expected time-average over the run. */
  | {
      readonly kind: "cade-mean";
      readonly f0: number;
      readonly cr0: number;
      readonly fMin?: number;
      readonly halfPeriod?: number;
    }
  /** S3 without the cosine: its time-averaged cosine term plus the same U(Fmin, F0) jitter. */
  | {
      readonly kind: "jitter";
      readonly f0: number;
      readonly cr0: number;
      readonly fMin?: number;
      readonly halfPeriod?: number;
    }
  /** Linear from F0 / CR0 at g = 0 to Fmin at the last generation. */
  | { readonly kind: "linear"; readonly f0: number; readonly cr0: number; readonly fMin?: number };

const defaults = (a: { f0: number; fMin?: number; halfPeriod?: number }, generations: number) => ({
  low: a.fMin ?? a.f0 / 10,
  halfPeriod: a.halfPeriod ?? Math.max(1, Math.round(0.4 * generations)),
});

/** Mean over g = 1 … G−1 of the cosine term Fmin + (v0 − Fmin)(1 + cos(πg/P))/2. */
function meanCosine(v0: number, low: number, halfPeriod: number, generations: number): number {
  if (generations <= 1) return v0;
  let s = 0;
  for (let g = 1; g < generations; g++) s += cosineValue({ high: v0, low, halfPeriod }, g);
  return s / (generations - 1);
}

function scheduleFor(arm: CadeArm, v0: number, generations: number): Schedule {
  switch (arm.kind) {
    case "constant":
      return constant(v0);
    case "cade": {
      const { low, halfPeriod } = defaults(arm, generations);
      return cadeS3(v0, { low, halfPeriod });
    }
    case "cade-mean": {
      const { low, halfPeriod } = defaults(arm, generations);
      // expected S3 value per generation: cosine term + (low + v0)/2; generation 0 runs at v0
      const later = meanCosine(v0, low, halfPeriod, generations) + (low + v0) / 2;
      return constant(generations <= 1 ? v0 : (v0 + (generations - 1) * later) / generations);
    }
    case "jitter": {
      const { low, halfPeriod } = defaults(arm, generations);
      return startWith(
        v0,
        sum(constant(meanCosine(v0, low, halfPeriod, generations)), uniformJitter(low, v0)),
      );
    }
    case "linear": {
      const { low } = defaults(arm, generations);
      return linear(v0, low, generations);
    }
    default:
      throw new SnnConfigError(`unknown CADE arm ${JSON.stringify((arm as { kind?: unknown }).kind)}`);
  }
}

/** The F / CR control of an arm for a run of `generations`. */
export function armControl(arm: CadeArm, generations: number): ParameterControl {
  const f = arm.kind === "constant" ? arm.f : arm.f0;
  const cr = arm.kind === "constant" ? arm.cr : arm.cr0;
  for (const [name, v] of [
    ["F", f],
    ["CR", cr],
  ] as const) {
    if (!(Number.isFinite(v) && v >= 0))
      throw new SnnConfigError(`${name} of arm ${arm.kind} must be >= 0, got ${v}`);
  }
  if (cr > 1) throw new SnnConfigError(`CR of arm ${arm.kind} must be <= 1, got ${cr}`);
  return new ScheduledControl(scheduleFor(arm, f, generations), scheduleFor(arm, cr, generations));
}

/** Whether the arm forces j_rand (textbook DE); CADE's own runs do not. */
export function armForcesJRand(arm: CadeArm): boolean {
  return (arm.kind === "cade" || arm.kind === "constant") && arm.jRand === true;
}
