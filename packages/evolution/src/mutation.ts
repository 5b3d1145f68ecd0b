import type { Rng } from "@x/tensor-core";
import type { PositionStream } from "./crossover.js";
import { EvolutionConfigError } from "./errors.js";

/** DE mutation strategies (Storn & Price naming). `x` is the target, r0.. distinct random others. */
export type Strategy =
  /** v = x_r2 + F (x_r0 - x_r1)  (CADE's base-vector choice) */
  | "rand/1"
  /** v = x_best + F (x_r0 - x_r1) */
  | "best/1"
  /** v = x + F (x_r0 - x) + F (x_r1 - x_r2) */
  | "current-to-rand/1"
  /** v = x + F (x_best - x) + F (x_r0 - x_r1) */
  | "current-to-best/1"
  /** v = x_r0 + F (x_r1 - x_r2) + F (x_r3 - x_r4) */
  | "rand/2";

export const STRATEGIES: readonly Strategy[] = [
  "rand/1",
  "best/1",
  "current-to-rand/1",
  "current-to-best/1",
  "rand/2",
];

/** How many distinct random individuals (other than the target) a strategy needs. */
export function randomsNeeded(s: Strategy): number {
  switch (s) {
    case "rand/1":
    case "current-to-rand/1":
      return 3;
    case "best/1":
    case "current-to-best/1":
      return 2;
    case "rand/2":
      return 5;
    default:
      throw new EvolutionConfigError(`unknown DE strategy ${String(s)}`);
  }
}

/**
 * A mutant written as base + f1 (a1 - b1) [+ f2 (a2 - b2)]: the five named DE strategies and
 * Evolver's interpolation x + F (x_ref - x) are all of this form. Coordinates are computed in
 * float64 and rounded once to float32 when written.
 */
export interface MutantTerms {
  base: Float32Array;
  a1: Float32Array;
  b1: Float32Array;
  f1: number;
  a2: Float32Array | null;
  b2: Float32Array | null;
  f2: number;
}

/** Distinct indices from {0..n-1} \ {exclude}, drawn in order by rejection (n small). */
export function drawDistinct(rng: Rng, n: number, k: number, exclude: number, out: number[]): number[] {
  if (n - (exclude >= 0 ? 1 : 0) < k) {
    throw new EvolutionConfigError(`need ${k} distinct individuals besides the target, population has ${n}`);
  }
  out.length = 0;
  while (out.length < k) {
    const r = rng.int(n);
    if (r !== exclude && !out.includes(r)) out.push(r);
  }
  return out;
}

/** Build the mutant description for a strategy; draws the random indices from `rng` in a fixed order. */
export function strategyTerms(
  strategy: Strategy,
  rng: Rng,
  genomes: (i: number) => Float32Array,
  n: number,
  target: number,
  best: number,
  f: number,
  scratch: number[] = [],
): MutantTerms {
  const r = drawDistinct(rng, n, randomsNeeded(strategy), target, scratch);
  const g = genomes;
  const x = g(target);
  switch (strategy) {
    case "rand/1":
      return { base: g(r[2]), a1: g(r[0]), b1: g(r[1]), f1: f, a2: null, b2: null, f2: 0 };
    case "best/1":
      return { base: g(best), a1: g(r[0]), b1: g(r[1]), f1: f, a2: null, b2: null, f2: 0 };
    case "current-to-rand/1":
      return { base: x, a1: g(r[0]), b1: x, f1: f, a2: g(r[1]), b2: g(r[2]), f2: f };
    case "current-to-best/1":
      return { base: x, a1: g(best), b1: x, f1: f, a2: g(r[0]), b2: g(r[1]), f2: f };
    case "rand/2":
      return { base: g(r[0]), a1: g(r[1]), b1: g(r[2]), f1: f, a2: g(r[3]), b2: g(r[4]), f2: f };
    default:
      throw new EvolutionConfigError(`unknown DE strategy ${String(strategy)}`);
  }
}

/** Evolver's interpolation toward a reference: m = x + F (x_ref - x). */
export function interpolationTerms(x: Float32Array, ref: Float32Array, f: number): MutantTerms {
  return { base: x, a1: ref, b1: x, f1: f, a2: null, b2: null, f2: 0 };
}

export interface ChildStats {
  /** Coordinates taken from the mutant. */
  crossed: number;
  /** Whether the child differs from the parent in at least one coordinate (after float32 rounding). */
  changed: boolean;
}

const BLOCK = 1 << 16;
let sharedBlock = new Uint32Array(BLOCK);

/**
 * child := parent, then child[d] := mutant[d] for every crossed position d. The mutant is only computed
 * at crossed positions, so a child with k crossed coordinates costs one memcpy plus O(k).
 */
export function buildChild(
  child: Float32Array,
  parent: Float32Array,
  terms: MutantTerms,
  positions: PositionStream,
): ChildStats {
  if (child !== parent) child.set(parent);
  if (sharedBlock.length !== BLOCK) sharedBlock = new Uint32Array(BLOCK);
  const block = sharedBlock;
  const { base, a1, b1, f1, a2, b2, f2 } = terms;
  let crossed = 0;
  let changed = false;
  for (;;) {
    const n = positions.next(block);
    if (n === 0) break;
    crossed += n;
    if (a2 !== null && b2 !== null) {
      for (let k = 0; k < n; k++) {
        const d = block[k];
        const v = base[d] + f1 * (a1[d] - b1[d]) + f2 * (a2[d] - b2[d]);
        if (!changed && Math.fround(v) !== parent[d]) changed = true;
        child[d] = v;
      }
    } else {
      for (let k = 0; k < n; k++) {
        const d = block[k];
        const v = base[d] + f1 * (a1[d] - b1[d]);
        if (!changed && Math.fround(v) !== parent[d]) changed = true;
        child[d] = v;
      }
    }
  }
  return { crossed, changed };
}
