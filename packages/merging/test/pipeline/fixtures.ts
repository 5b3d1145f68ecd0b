// Small real checkpoint directories (safetensors written by @x/tensor-core) for end-to-end merge tests.

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DType, type Rng, Tensor, writeShardedSafetensors } from "@x/tensor-core";

export interface FixtureTensor {
  shape: number[];
  data: Float32Array;
  dtype?: DType;
}

export type FixtureModel = Record<string, FixtureTensor>;

export const VOCAB = 10;
export const HIDDEN = 8;
export const LAYERS = 3;

/** Tensor names and shapes of a tiny llama-like model. */
export function llamaShapes(vocab = VOCAB): Record<string, number[]> {
  const s: Record<string, number[]> = { "model.embed_tokens.weight": [vocab, HIDDEN] };
  for (let l = 0; l < LAYERS; l++) {
    s[`model.layers.${l}.self_attn.q_proj.weight`] = [HIDDEN, HIDDEN];
    s[`model.layers.${l}.mlp.up_proj.weight`] = [2 * HIDDEN, HIDDEN];
    s[`model.layers.${l}.input_layernorm.weight`] = [HIDDEN];
  }
  s["model.norm.weight"] = [HIDDEN];
  s["lm_head.weight"] = [vocab, HIDDEN];
  return s;
}

/** Fused-path shapes: tensors over several 8192-element kernel chunks with ragged tails, plus tiny ones. */
export const FUSED_SHAPES: Record<string, number[]> = {
  "model.embed_tokens.weight": [97, 211],
  "model.layers.0.self_attn.q_proj.weight": [64, 64],
  "model.layers.0.input_layernorm.weight": [64],
  "model.layers.1.mlp.up_proj.weight": [129, 65],
  "model.norm.weight": [3],
  "lm_head.weight": [97, 211],
};

export function randomModel(rng: Rng, shapes = llamaShapes()): FixtureModel {
  const m: FixtureModel = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const n = shape.reduce((a, b) => a * b, 1);
    m[name] = { shape, data: Float32Array.from({ length: n }, () => rng.normal() * 0.5) };
  }
  return m;
}

/** A fine-tune of `base`: small dense deltas plus a few large outliers. */
export function fineTune(rng: Rng, base: FixtureModel, scale = 0.02): FixtureModel {
  const m: FixtureModel = {};
  for (const [name, t] of Object.entries(base)) {
    const data = Float32Array.from(
      t.data,
      (v) => v + scale * rng.normal() + (rng.uniform() < 0.02 ? 0.5 * rng.normal() : 0),
    );
    m[name] = { shape: [...t.shape], data };
  }
  return m;
}

export function withDtype(model: FixtureModel, dtype: DType): FixtureModel {
  return Object.fromEntries(Object.entries(model).map(([n, t]) => [n, { ...t, dtype }]));
}

/** The values a stored tensor decodes to (BF16/F16 rounding applied). */
export function storedValues(t: FixtureTensor): Float32Array {
  const dt = t.dtype ?? "F32";
  return Tensor.fromFloat32(dt, t.shape, t.data).toFloat32();
}

export interface WriteDirOptions {
  maxShardSize?: number;
  files?: Record<string, string>;
}

/** Writes a Hugging Face-style model directory (sharded when `maxShardSize` is small). */
export async function writeModelDir(
  dir: string,
  model: FixtureModel,
  options: WriteDirOptions = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const specs = Object.entries(model).map(([name, t]) => ({ name, dtype: t.dtype ?? "F32", shape: t.shape }));
  await writeShardedSafetensors(
    dir,
    specs,
    Object.entries(model).map(
      ([name, t]) => [name, Tensor.fromFloat32(t.dtype ?? "F32", t.shape, t.data)] as const,
    ),
    { maxShardSize: options.maxShardSize ?? 1e12 },
  );
  const files = options.files ?? {
    "config.json": JSON.stringify({ architectures: ["LlamaForCausalLM"], num_hidden_layers: LAYERS }),
    "tokenizer.json": JSON.stringify({ model: { vocab: {} } }),
    "tokenizer_config.json": "{}",
  };
  for (const [f, text] of Object.entries(files)) await writeFile(join(dir, f), text);
  return dir;
}
