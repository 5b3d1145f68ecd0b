import { loadFashion, subset } from "@x/datasets";
import { openSafetensors, Rng } from "@x/tensor-core";
import { initTf } from "@x/tensor-core/tfjs";
import { initModel, type ModelSpec, type SnnModel } from "../src/index.js";

export async function tfRuntime(backend: "wasm" | "cpu" = "wasm") {
  return (await initTf({ backend })).tf;
}

/** A model whose BN running statistics and γ / β are far from the identity, so spikes are plentiful and varied. */
export function randomModel(spec: ModelSpec, seed: number, drive = 1): SnnModel {
  const rng = new Rng(seed);
  const m = initModel(spec, rng, { zeroInitResidual: false });
  for (const e of m.layout.entries) {
    const t = m.tensor(e.name);
    if (e.role === "bn.weight") for (let i = 0; i < t.length; i++) t[i] = drive * (0.6 + rng.uniform());
    if (e.role === "bn.bias")
      for (let i = 0; i < t.length; i++) t[i] = (drive - 1) * 0.5 + 0.3 * rng.normal();
    if (e.role === "bn.running_mean") for (let i = 0; i < t.length; i++) t[i] = 0.1 * rng.normal();
    if (e.role === "bn.running_var") for (let i = 0; i < t.length; i++) t[i] = 0.5 + rng.uniform();
  }
  return m;
}

/** `n` real Fashion-MNIST images (a seeded pick from the first 200 of each class). */
export function fashionSample(n: number, seed = 1) {
  const set = loadFashion(200);
  const idx = new Rng(seed).sampleWithoutReplacement(set.count, n);
  return subset(set, Array.from(idx));
}

/** The `__metadata__` of a safetensors file. */
export async function metadataOf(file: string) {
  const f = await openSafetensors(file);
  try {
    return f.metadata;
  } finally {
    await f.close();
  }
}
