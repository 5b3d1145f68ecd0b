/**
 * The zoo's model: an MLP backbone 784 -> h1 -> h2 (ReLU) shared by every task, and one linear head per task.
 * Weights follow the PyTorch Linear layout ([out, in] weight, [out] bias) so the safetensors files read like
 * any Hugging Face checkpoint and RegMean's Gram matrices apply to them directly.
 */

import { IMAGE_SIZE } from "@x/datasets";
import type { Rng } from "@x/tensor-core";
import {
  backboneKeys,
  backboneLayout,
  backboneSize,
  featureSize,
  layerShapes,
  type MlpArch,
} from "./layout.js";

export {
  type BackboneTensor,
  backboneKeys,
  backboneLayout,
  backboneSize,
  featureSize,
  layerName,
  layerShapes,
  type MlpArch,
} from "./layout.js";

export const DEFAULT_ARCH: MlpArch = { input: IMAGE_SIZE, hidden: [256, 128] };

/** A named parameter: PyTorch-layout shape and float32 data. */
export interface Param {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}
export type Params = Map<string, Param>;

export interface Head {
  readonly weight: Param;
  readonly bias: Param;
}

/** He-normal weights, zero biases, drawn from a seeded RNG (no tfjs randomness anywhere). */
export function initBackbone(arch: MlpArch, rng: Rng): Params {
  const p: Params = new Map();
  for (const l of layerShapes(arch)) {
    p.set(`${l.name}.weight`, {
      shape: [l.outDim, l.inDim],
      data: rng.fillNormal(new Float32Array(l.outDim * l.inDim), 0, Math.sqrt(2 / l.inDim)) as Float32Array,
    });
    p.set(`${l.name}.bias`, { shape: [l.outDim], data: new Float32Array(l.outDim) });
  }
  return p;
}

export function initHead(arch: MlpArch, numClasses: number, rng: Rng): Head {
  const f = featureSize(arch);
  return {
    weight: {
      shape: [numClasses, f],
      data: rng.fillNormal(new Float32Array(numClasses * f), 0, Math.sqrt(1 / f)) as Float32Array,
    },
    bias: { shape: [numClasses], data: new Float32Array(numClasses) },
  };
}

export function cloneParams(p: Params): Params {
  return new Map([...p].map(([k, v]) => [k, { shape: v.shape, data: v.data.slice() }]));
}

export function cloneHead(h: Head): Head {
  return {
    weight: { shape: h.weight.shape, data: h.weight.data.slice() },
    bias: { shape: h.bias.shape, data: h.bias.data.slice() },
  };
}

/** Concatenates the backbone in sorted-key order into one Float32Array (the merging code's task-vector layout). */
export function flattenBackbone(
  arch: MlpArch,
  p: Params,
  out = new Float32Array(backboneSize(arch)),
): Float32Array {
  let at = 0;
  for (const k of backboneKeys(arch)) {
    const v = p.get(k);
    if (!v) throw new Error(`backbone parameter '${k}' is missing`);
    out.set(v.data, at);
    at += v.data.length;
  }
  return out;
}

/** Inverse of flattenBackbone; the result's arrays are views into `flat` (no copy). */
export function unflattenBackbone(arch: MlpArch, flat: Float32Array): Params {
  if (flat.length !== backboneSize(arch)) {
    throw new Error(`flat backbone has ${flat.length} values, the architecture needs ${backboneSize(arch)}`);
  }
  const p: Params = new Map();
  for (const t of backboneLayout(arch)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    p.set(t.name, { shape: t.shape, data: flat.subarray(t.offset, t.offset + n) });
  }
  return p;
}
