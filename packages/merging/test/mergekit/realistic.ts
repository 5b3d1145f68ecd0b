// Realistic full fine-tune tensors for the mergekit cross-checks: Llama-like weights (N(0, 0.02²)
// linear weights, norm weights near 1) and task vectors of 1e-4 to 1e-3 RMS, with exact zeros
// (entries a fine-tune left unchanged), exact magnitude ties and exact sign-vote ties, stored as
// F32 or BF16 (BF16 quantizes such small changes to a few units in the last place, which makes
// zeros and ties common on their own).

import { bf16ToF32, f32ToBf16, Rng } from "@x/tensor-core";

export type StoredDType = "F32" | "BF16";

export interface RealisticTensor {
  readonly name: string;
  readonly shape: number[];
  readonly base: Float32Array;
  readonly models: Float32Array[];
}

/** Rounds float32 values to the stored dtype (BF16: round to nearest even), in place. */
export function roundTo(dtype: StoredDType, x: Float32Array): Float32Array {
  if (dtype === "BF16") bf16ToF32(f32ToBf16(x), x);
  return x;
}

export interface RealisticOptions {
  readonly seed: number;
  readonly dtype: StoredDType;
  /** Task-vector RMS per model (default 1e-4, 3e-4, 1e-3). */
  readonly rms?: readonly number[];
  /** Fraction of entries each model leaves exactly unchanged (default 0.1). */
  readonly zeros?: number;
  /** Fraction of the remaining entries a model changes at all (RL-like sparse vectors; default 1). */
  readonly active?: number;
}

/**
 * A linear weight [rows, cols] (or a norm weight when `norm`) with fine-tuned copies. Model 1 copies
 * model 0's change exactly on 5 % of the entries and negates it on another 5 % (exact sign-vote ties
 * for two models); 5 % of model 0's changes are snapped to a few shared magnitudes (exact |δ| ties).
 */
export function realisticTensor(
  name: string,
  shape: number[],
  opts: RealisticOptions & { readonly norm?: boolean },
): RealisticTensor {
  const rng = new Rng(`${opts.seed}:${name}:${opts.dtype}`);
  const d = shape.reduce((a, b) => a * b, 1);
  const rms = opts.rms ?? [1e-4, 3e-4, 1e-3];
  const zeroFrac = opts.zeros ?? 0.1;
  const active = opts.active ?? 1;
  const base = new Float32Array(d);
  for (let k = 0; k < d; k++) base[k] = opts.norm ? 1 + 0.05 * rng.normal() : 0.02 * rng.normal();
  roundTo(opts.dtype, base);
  const deltas = rms.map((s) => {
    const delta = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      if (rng.uniform() < zeroFrac || rng.uniform() >= active) continue;
      delta[k] = s * rng.normal();
    }
    return delta;
  });
  const snap = [2e-4, 5e-4, 1e-3];
  const tie = new Uint8Array(d); // 1: model 1 copies model 0's change, 2: negates it
  for (let k = 0; k < d; k++) {
    const u = rng.uniform();
    if (deltas.length >= 2 && u < 0.05) tie[k] = 1;
    else if (deltas.length >= 2 && u < 0.1) tie[k] = 2;
    else if (u < 0.15 && deltas[0][k] !== 0) deltas[0][k] = Math.sign(deltas[0][k]) * snap[rng.int(3)];
  }
  const models = deltas.map((delta) => {
    const m = new Float32Array(d);
    for (let k = 0; k < d; k++) m[k] = base[k] + delta[k];
    return roundTo(opts.dtype, m);
  });
  // Ties are set on the stored values, so the task vectors tie exactly after rounding.
  if (models.length >= 2) {
    const one = new Float32Array(1);
    for (let k = 0; k < d; k++) {
      if (tie[k] === 1) models[1][k] = models[0][k];
      else if (tie[k] === 2) {
        const mirrored = base[k] - (models[0][k] - base[k]);
        one[0] = mirrored;
        if (roundTo(opts.dtype, one)[0] === mirrored) models[1][k] = mirrored;
      }
    }
  }
  return { name, shape, base, models };
}

/** The realistic tensors of one cross-check case: a linear weight and a norm weight. */
export function realisticModel(opts: RealisticOptions): RealisticTensor[] {
  return [
    realisticTensor("model.layers.0.mlp.up_proj.weight", [48, 64], opts),
    realisticTensor("model.layers.0.input_layernorm.weight", [64], { ...opts, norm: true }),
  ];
}
