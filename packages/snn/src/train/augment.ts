import type { Rng } from "@x/tensor-core";
import { INPUT_SIDE, INPUT_SIZE } from "../model/spec.js";

/** Per-member regularisation of the training run (the knobs CADE varies across its population). */
export interface AugmentOptions {
  /** Random translation by up to this many pixels in x and y, zero fill (default 0). */
  readonly shift?: number;
  /** Probability of random erasing per image (default 0): a rectangle of 2–33 % of the area, aspect 0.3–3.3, set to 0. */
  readonly erasing?: number;
  /** Mixup with λ ~ Beta(α, α) per batch, partner = the batch reversed (default 0 = off). */
  readonly mixupAlpha?: number;
  /** Label smoothing ε: targets (1 − ε)·onehot + ε / C (default 0). */
  readonly labelSmoothing?: number;
}

/** Gamma(k, 1) by Marsaglia and Tsang (k < 1 boosted by U^(1/k)). */
export function sampleGamma(rng: Rng, k: number): number {
  if (k < 1) return sampleGamma(rng, k + 1) * (1 - rng.uniform()) ** (1 / k);
  const d = k - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(rng: Rng, a: number, b: number): number {
  const x = sampleGamma(rng, a);
  const y = sampleGamma(rng, b);
  return x / (x + y);
}

/**
 * Builds one training batch in place: copies the chosen images, applies shift and erasing per image, then
 * mixup over the batch, and writes soft targets. Every random draw comes from `rng` in a fixed order.
 */
export function makeBatch(
  rng: Rng,
  images: Float32Array,
  labels: Uint8Array,
  indices: ArrayLike<number>,
  classes: number,
  o: AugmentOptions,
  outX: Float32Array,
  outY: Float32Array,
): void {
  const n = indices.length;
  const shift = o.shift ?? 0;
  const erasing = o.erasing ?? 0;
  const eps = o.labelSmoothing ?? 0;
  const S = INPUT_SIDE;
  for (let k = 0; k < n; k++) {
    const src = images.subarray(indices[k] * INPUT_SIZE, (indices[k] + 1) * INPUT_SIZE);
    const dst = outX.subarray(k * INPUT_SIZE, (k + 1) * INPUT_SIZE);
    if (shift > 0) {
      const dx = rng.int(2 * shift + 1) - shift;
      const dy = rng.int(2 * shift + 1) - shift;
      dst.fill(0);
      for (let y = 0; y < S; y++) {
        const sy = y - dy;
        if (sy < 0 || sy >= S) continue;
        for (let x = 0; x < S; x++) {
          const sx = x - dx;
          if (sx >= 0 && sx < S) dst[y * S + x] = src[sy * S + sx];
        }
      }
    } else dst.set(src);
    if (erasing > 0 && rng.uniform() < erasing) {
      const area = (0.02 + 0.31 * rng.uniform()) * INPUT_SIZE;
      const ratio = Math.exp(Math.log(0.3) + (Math.log(3.3) - Math.log(0.3)) * rng.uniform());
      const h = Math.round(Math.sqrt(area * ratio));
      const w = Math.round(Math.sqrt(area / ratio));
      if (h >= 1 && w >= 1 && h < S && w < S) {
        const top = rng.int(S - h + 1);
        const left = rng.int(S - w + 1);
        for (let y = top; y < top + h; y++) dst.fill(0, y * S + left, y * S + left + w);
      }
    }
    const row = outY.subarray(k * classes, (k + 1) * classes);
    row.fill(eps / classes);
    row[labels[indices[k]]] += 1 - eps;
  }
  const alpha = o.mixupAlpha ?? 0;
  if (alpha > 0 && n > 1) {
    const lam = sampleBeta(rng, alpha, alpha);
    const x0 = outX.slice(0, n * INPUT_SIZE);
    const y0 = outY.slice(0, n * classes);
    for (let k = 0; k < n; k++) {
      const p = n - 1 - k;
      for (let i = 0; i < INPUT_SIZE; i++)
        outX[k * INPUT_SIZE + i] = lam * x0[k * INPUT_SIZE + i] + (1 - lam) * x0[p * INPUT_SIZE + i];
      for (let c = 0; c < classes; c++)
        outY[k * classes + c] = lam * y0[k * classes + c] + (1 - lam) * y0[p * classes + c];
    }
  }
}
