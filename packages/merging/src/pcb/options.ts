// PCB-Merging options, defaults and the reference code's index rules (docs/pcb.md).

import { truncIndex } from "@x/tensor-core/browser";
import { MergeMethodError } from "../method.js";

/**
 * Inter-score variant (docs/pcb.md, "Inter-term variants"):
 * - "canonical": C_ik = tanh(T_ik · Σ_j T_jk) on raw task vectors (pcb-merging.py, NLP code);
 * - "vision":    C_ik = tanh(T_ik · Σ_j S_jk), S_j = sign(T_j) ⊙ MinMax(A_j) (vision_source_code/pcb.py);
 * - "pairwise":  C_ik = Σ_j tanh(S_ik · S_jk) (vision_source_code/pcb_ES.py).
 */
export type PcbInter = "canonical" | "vision" | "pairwise";

/**
 * What to do when a row statistic's MinMax has a zero range (docs/pcb.md, index rule 4: an all-zero or
 * constant task vector, or a balance-score row whose max equals its drop threshold):
 * - "off":   reproduce the reference exactly: 0/0 = NaN, which poisons every merged parameter;
 * - "error": throw a PcbError naming the task row (results otherwise identical to "off");
 * - "on":    the documented fix: a constant magnitude row normalizes to 0 (intra score 1), a
 *            score row with nothing above the threshold gets W = 0 (the task is dropped there).
 */
export type NanGuard = "off" | "error" | "on";

export interface PcbOptions {
  /** r: fraction of entries kept per task (pcb_ratio / att_ratio). Default 0.1. */
  readonly ratio?: number;
  /** q: magnitude clamp quantile. Default 0.01 (NLP and vision scripts; pcb-merging.py uses 1e-4). */
  readonly clampQuantile?: number;
  readonly inter?: PcbInter;
  readonly nanGuard?: NanGuard;
}

export interface ResolvedPcbOptions {
  readonly ratio: number;
  readonly clampQuantile: number;
  readonly inter: PcbInter;
  readonly nanGuard: NanGuard;
}

/** Invalid PCB input or a constant row under `nanGuard: "error"`. */
export class PcbError extends MergeMethodError {
  override name = "PcbError";
}

export const PCB_DEFAULTS: ResolvedPcbOptions = {
  ratio: 0.1,
  clampQuantile: 0.01,
  inter: "canonical",
  nanGuard: "error",
};

export function resolvePcbOptions(o: PcbOptions = {}): ResolvedPcbOptions {
  const r: ResolvedPcbOptions = {
    ratio: o.ratio ?? PCB_DEFAULTS.ratio,
    clampQuantile: o.clampQuantile ?? PCB_DEFAULTS.clampQuantile,
    inter: o.inter ?? PCB_DEFAULTS.inter,
    nanGuard: o.nanGuard ?? PCB_DEFAULTS.nanGuard,
  };
  if (!(r.ratio > 0 && r.ratio <= 1)) throw new PcbError(`pcb: ratio must be in (0, 1], got ${r.ratio}`);
  if (!(r.clampQuantile >= 0 && r.clampQuantile < 0.5)) {
    throw new PcbError(`pcb: clamp quantile must be in [0, 0.5), got ${r.clampQuantile}`);
  }
  if (!["canonical", "vision", "pairwise"].includes(r.inter))
    throw new PcbError(`pcb: unknown inter '${r.inter}'`);
  if (!["off", "error", "on"].includes(r.nanGuard))
    throw new PcbError(`pcb: unknown nanGuard '${r.nanGuard}'`);
  return r;
}

/**
 * Sorted-order indices of the magnitude clamp QClamp(x, q, q): lower s[⌊D·q⌋], upper
 * s[⌊D·(1−q) − 1⌋], in IEEE double exactly as the reference writes them.
 */
export function clampIndices(d: number, q: number): [number, number] {
  return [truncIndex(d, q), truncIndex(d, 1 - q, -1)];
}

/** Sorted-order index of the drop threshold of QClamp(B, 1−r, 0): s[⌊D·(1−r)⌋]. */
export function dropIndex(d: number, r: number): number {
  return truncIndex(d, 1 - r);
}
