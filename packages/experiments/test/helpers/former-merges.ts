/**
 * TEST ORACLE: the experiment's former own merge code (before mode B went through the @x/merging registry),
 * kept only to show the registry path gives the same merges. Not used by the CLI.
 *
 * Merge operators for Evolver mode B and the baselines, on whole-model genomes with task vectors
 * τ_i = x_i − θ_0. TIES and PCB come from @x/merging; mean, TA and DARE are one-line
 * sums. Each factory returns a MergeFunction (the interface @x/evolution injects) plus a variant that
 * scales the task vectors by per-model coefficients (for the random coefficient search baseline).
 */

import type { MergeFunction } from "@x/evolution";
import { pcbMerge, tiesPcbMerge } from "@x/merging";
import { Rng } from "@x/tensor-core";

export type MergeName = "mean" | "ta" | "ties" | "dare" | "pcb";
export const MERGE_NAMES: readonly MergeName[] = ["mean", "ta", "ties", "dare", "pcb"];

export interface MergeSettings {
  /** Scaling λ of the merged task vector (not used by "mean"). */
  readonly lambda: number;
  /** TIES: fraction kept per task (20 %). */
  readonly tiesTopK?: number;
  /** DARE drop probability (0.9). */
  readonly dareDrop?: number;
  /** PCB ratio (0.1, the reference default). */
  readonly pcbRatio?: number;
  /** DARE mask seed: fixed, so the same population always merges to the same weights. */
  readonly maskSeed?: string;
}

/** Merge with per-model coefficients c_i (all 1 = the plain merge). */
export type CoefficientMerge = (
  genomes: readonly Float32Array[],
  coeffs: ArrayLike<number>,
  out: Float32Array,
) => void;

function taskVectors(
  genomes: readonly Float32Array[],
  base: Float32Array,
  coeffs: ArrayLike<number>,
): Float32Array[] {
  return genomes.map((g, i) => {
    const t = new Float32Array(g.length);
    const c = coeffs[i];
    for (let k = 0; k < g.length; k++) t[k] = c * (g[k] - base[k]);
    return t;
  });
}

export function coefficientMerge(name: MergeName, base: Float32Array, s: MergeSettings): CoefficientMerge {
  const lambda = s.lambda;
  switch (name) {
    case "mean":
      // weights c_i / Σc (the plain mean when all c_i are equal)
      return (genomes, c, out) => {
        let sum = 0;
        for (let i = 0; i < genomes.length; i++) sum += c[i];
        out.fill(0);
        for (let i = 0; i < genomes.length; i++) {
          const w = c[i] / sum;
          const g = genomes[i];
          for (let k = 0; k < out.length; k++) out[k] += w * g[k];
        }
      };
    case "ta":
      return (genomes, c, out) => {
        out.set(base);
        for (let i = 0; i < genomes.length; i++) {
          const w = lambda * c[i];
          const g = genomes[i];
          for (let k = 0; k < out.length; k++) out[k] += w * (g[k] - base[k]);
        }
      };
    case "dare": {
      const p = s.dareDrop ?? 0.9;
      const seed = s.maskSeed ?? "dare";
      let masks: Uint8Array[] | null = null;
      return (genomes, c, out) => {
        // Fixed masks per model slot, drawn once: the fitness stays deterministic.
        if (!masks || masks.length !== genomes.length) {
          masks = genomes.map((g, i) => {
            const r = new Rng(`${seed}-${i}`);
            const m = new Uint8Array(g.length);
            for (let k = 0; k < m.length; k++) m[k] = r.uniform() < p ? 0 : 1;
            return m;
          });
        }
        out.set(base);
        for (let i = 0; i < genomes.length; i++) {
          const w = (lambda * c[i]) / (1 - p);
          const g = genomes[i];
          const m = masks[i];
          for (let k = 0; k < out.length; k++) if (m[k]) out[k] += w * (g[k] - base[k]);
        }
      };
    }
    case "ties":
      return (genomes, c, out) => {
        const tau = tiesPcbMerge(taskVectors(genomes, base, c), { topK: s.tiesTopK ?? 0.2 });
        for (let k = 0; k < out.length; k++) out[k] = base[k] + lambda * tau[k];
      };
    case "pcb":
      return (genomes, c, out) => {
        const tau = pcbMerge(taskVectors(genomes, base, c), { ratio: s.pcbRatio ?? 0.1, nanGuard: "on" });
        for (let k = 0; k < out.length; k++) out[k] = base[k] + lambda * tau[k];
      };
    default:
      throw new Error(`unknown merge '${String(name)}'`);
  }
}

/** The plain merge (all coefficients 1) as the MergeFunction @x/evolution's mode B expects. */
export function mergeFunction(name: MergeName, base: Float32Array, s: MergeSettings): MergeFunction {
  const m = coefficientMerge(name, base, s);
  let ones = new Float64Array(0);
  return (genomes, out) => {
    if (ones.length !== genomes.length) ones = new Float64Array(genomes.length).fill(1);
    m(genomes, ones, out);
  };
}
