/**
 * The zoo's model: an MLP backbone 784 -> h1 -> h2 (ReLU) shared by every task, and one linear head per task.
 * Weights follow the PyTorch Linear layout ([out, in] weight, [out] bias) so the safetensors files read like
 * any Hugging Face checkpoint and RegMean's Gram matrices apply to them directly.
 */

import { IMAGE_SIZE } from "@x/datasets";
import type { Rng } from "@x/tensor-core";

export interface MlpArch {
  readonly input: number;
  readonly hidden: readonly number[];
}

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

export const layerName = (i: number) => `backbone.fc${i + 1}`;

/** Backbone parameter names in code-point-sorted order (the flattening order of the merging reference). */
export function backboneKeys(arch: MlpArch): string[] {
  const keys: string[] = [];
  for (let i = 0; i < arch.hidden.length; i++) keys.push(`${layerName(i)}.bias`, `${layerName(i)}.weight`);
  return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function featureSize(arch: MlpArch): number {
  return arch.hidden[arch.hidden.length - 1]!;
}

export function layerShapes(arch: MlpArch): { name: string; inDim: number; outDim: number }[] {
  const out = [];
  let inDim = arch.input;
  for (let i = 0; i < arch.hidden.length; i++) {
    out.push({ name: layerName(i), inDim, outDim: arch.hidden[i]! });
    inDim = arch.hidden[i]!;
  }
  return out;
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

/** Number of backbone parameters (the merged vector's length D). */
export function backboneSize(arch: MlpArch): number {
  return layerShapes(arch).reduce((s, l) => s + l.outDim * l.inDim + l.outDim, 0);
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
  const shapes = new Map<string, number[]>();
  for (const l of layerShapes(arch)) {
    shapes.set(`${l.name}.weight`, [l.outDim, l.inDim]);
    shapes.set(`${l.name}.bias`, [l.outDim]);
  }
  const p: Params = new Map();
  let at = 0;
  for (const k of backboneKeys(arch)) {
    const shape = shapes.get(k)!;
    const n = shape.reduce((a, b) => a * b, 1);
    p.set(k, { shape, data: flat.subarray(at, at + n) });
    at += n;
  }
  return p;
}
