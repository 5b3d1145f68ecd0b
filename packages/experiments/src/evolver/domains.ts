/**
 * Image domains of the Evolver experiment (docs/evolver.md) on 28×28 images in [0, 1]: five in-domain shifts
 * that define the experts, and five held-out shifts for out-of-domain tests. Every transform writes a new
 * image (inputs are never modified); random ones draw from a seeded Rng.
 */
import { Rng } from "@x/tensor-core";

const S = 28;
const N = S * S;

export type DomainTransform = (src: Float32Array, dst: Float32Array, rng: Rng) => void;

function sampleBilinear(src: Float32Array, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xx: number, yy: number): number =>
    xx >= 0 && xx < S && yy >= 0 && yy < S ? src[yy * S + xx] : 0;
  return (
    (1 - fx) * (1 - fy) * at(x0, y0) +
    fx * (1 - fy) * at(x0 + 1, y0) +
    (1 - fx) * fy * at(x0, y0 + 1) +
    fx * fy * at(x0 + 1, y0 + 1)
  );
}

/** Rotation by `degrees` (counter-clockwise) about the image centre, bilinear, zero fill. */
export function rotate(degrees: number): DomainTransform {
  const a = (degrees * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  const m = (S - 1) / 2;
  return (src, dst) => {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        // inverse map: where does output pixel (x, y) come from
        const dx = x - m;
        const dy = y - m;
        dst[y * S + x] = sampleBilinear(src, c * dx + s * dy + m, -s * dx + c * dy + m);
      }
    }
  };
}

/** Horizontal flip followed by a shift of (dx, dy) pixels, zero fill. */
export function flipShift(dx: number, dy: number): DomainTransform {
  return (src, dst) => {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const sx = S - 1 - (x - dx);
        const sy = y - dy;
        dst[y * S + x] = sx >= 0 && sx < S && sy >= 0 && sy < S ? src[sy * S + sx] : 0;
      }
    }
  };
}

export const invert: DomainTransform = (src, dst) => {
  for (let i = 0; i < N; i++) dst[i] = 1 - src[i];
};

export const flipInvert: DomainTransform = (src, dst) => {
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) dst[y * S + x] = 1 - src[y * S + (S - 1 - x)];
};

/** Separable Gaussian blur (kernel radius ⌈3σ⌉, renormalized at the border). */
export function gaussianBlur(sigma: number): DomainTransform {
  const r = Math.ceil(3 * sigma);
  const k = new Float64Array(2 * r + 1);
  for (let i = -r; i <= r; i++) k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  const tmp = new Float32Array(N);
  return (src, dst) => {
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let s = 0;
        let w = 0;
        for (let i = -r; i <= r; i++) {
          const xx = x + i;
          if (xx < 0 || xx >= S) continue;
          s += k[i + r] * src[y * S + xx];
          w += k[i + r];
        }
        tmp[y * S + x] = s / w;
      }
    }
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        let s = 0;
        let w = 0;
        for (let i = -r; i <= r; i++) {
          const yy = y + i;
          if (yy < 0 || yy >= S) continue;
          s += k[i + r] * tmp[yy * S + x];
          w += k[i + r];
        }
        dst[y * S + x] = s / w;
      }
    }
  };
}

/** Additive Gaussian noise, clipped to [0, 1]. */
export function gaussianNoise(sigma: number): DomainTransform {
  return (src, dst, rng) => {
    for (let i = 0; i < N; i++) dst[i] = Math.min(1, Math.max(0, src[i] + rng.normal(0, sigma)));
  };
}

/** Each pixel independently becomes 0 or 1 (equally likely) with probability p. */
export function saltPepper(p: number): DomainTransform {
  return (src, dst, rng) => {
    for (let i = 0; i < N; i++) dst[i] = rng.uniform() < p ? (rng.uniform() < 0.5 ? 0 : 1) : src[i];
  };
}

/** 2×2 average pooling to 14×14, then nearest-neighbour upsampling back to 28×28. */
export const downUp: DomainTransform = (src, dst) => {
  for (let y = 0; y < S; y += 2) {
    for (let x = 0; x < S; x += 2) {
      const v = (src[y * S + x] + src[y * S + x + 1] + src[(y + 1) * S + x] + src[(y + 1) * S + x + 1]) / 4;
      dst[y * S + x] = v;
      dst[y * S + x + 1] = v;
      dst[(y + 1) * S + x] = v;
      dst[(y + 1) * S + x + 1] = v;
    }
  }
};

/** A size×size black square at a uniformly random position. */
export function occlusion(size: number): DomainTransform {
  return (src, dst, rng) => {
    dst.set(src);
    const x0 = rng.int(S - size + 1);
    const y0 = rng.int(S - size + 1);
    for (let y = y0; y < y0 + size; y++) dst.fill(0, y * S + x0, y * S + x0 + size);
  };
}

export interface DomainSpec {
  readonly name: string;
  readonly transform: DomainTransform;
}

/** In-domain shifts D1–D5 (one expert each). */
export const IN_DOMAINS: readonly DomainSpec[] = [
  { name: "D1 flip+shift", transform: flipShift(2, 2) },
  { name: "D2 invert", transform: invert },
  { name: "D3 rotate +20", transform: rotate(20) },
  { name: "D4 blur s=1", transform: gaussianBlur(1) },
  { name: "D5 noise s=0.3", transform: gaussianNoise(0.3) },
];

/** Held-out shifts for the out-of-domain test. */
export const OOD_DOMAINS: readonly DomainSpec[] = [
  { name: "rotate -35", transform: rotate(-35) },
  { name: "salt-pepper 10%", transform: saltPepper(0.1) },
  { name: "down-up 14x14", transform: downUp },
  { name: "occlusion 10x10", transform: occlusion(10) },
  { name: "flip+invert", transform: flipInvert },
];

/** Apply a transform to every image of a set (new arrays). */
export function applyDomain(
  images: Float32Array,
  count: number,
  t: DomainTransform,
  seed: string,
): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(count * N);
  for (let i = 0; i < count; i++)
    t(images.subarray(i * N, (i + 1) * N), out.subarray(i * N, (i + 1) * N), rng);
  return out;
}
