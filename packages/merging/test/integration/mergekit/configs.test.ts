// mergekit users' configs for the methods x added from mergekit's registry (and the realigned sce and
// nearswap) run unchanged through `mergeCheckpoints` on small Llama-layout checkpoints; every output
// tensor equals the method applied to the stored inputs directly.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint, Rng, Tensor, writeShardedSafetensors } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  getMethod,
  mergeCheckpoints,
  type ParamMap,
  parseMergeConfig,
  resolveParams,
  tensorRng,
} from "../../../src/index.js";

const SHAPES: Record<string, number[]> = {
  "model.embed_tokens.weight": [12, 8],
  "model.layers.0.self_attn.q_proj.weight": [8, 8],
  "model.layers.0.mlp.up_proj.weight": [16, 8],
  "model.layers.0.input_layernorm.weight": [8],
  "model.layers.1.self_attn.q_proj.weight": [8, 8],
  "model.layers.1.mlp.up_proj.weight": [16, 8],
  "model.layers.1.input_layernorm.weight": [8],
  "model.norm.weight": [8],
  "lm_head.weight": [12, 8],
};

let dir: string;
const stored = new Map<string, Map<string, Float32Array>>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mergekit-configs-"));
  const rng = new Rng(11);
  const base = new Map(
    Object.entries(SHAPES).map(([n, s]) => [
      n,
      Float32Array.from(
        { length: s[0] * (s[1] ?? 1) },
        () => (n.includes("norm") ? 1 : 0) + 0.02 * rng.normal(),
      ),
    ]),
  );
  const models: Record<string, Map<string, Float32Array>> = { base };
  for (const [name, scale, active] of [
    ["a", 1e-3, 1],
    ["b", 3e-4, 1],
    ["c", 1e-3, 0.2],
  ] as const) {
    models[name] = new Map(
      [...base].map(
        ([n, v]) => [n, v.map((x) => (rng.uniform() < active ? x + scale * rng.normal() : x))] as const,
      ),
    );
  }
  for (const [name, model] of Object.entries(models)) {
    await writeShardedSafetensors(
      join(dir, name),
      Object.entries(SHAPES).map(([n, shape]) => ({ name: n, dtype: "F32", shape })),
      [...model].map(([n, v]) => [n, Tensor.fromFloat32("F32", SHAPES[n], v)] as const),
    );
    stored.set(name, model);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface ConfigCase {
  readonly yaml: string;
  readonly method: string;
  readonly base?: string;
  readonly models: readonly string[];
  readonly params: Record<string, unknown>;
  readonly modelParams?: Record<string, unknown>[];
}

const CASES: ConfigCase[] = [
  {
    method: "karcher",
    models: ["a", "b", "c"],
    params: { max_iter: 20, tol: 1e-7 },
    yaml: `
merge_method: karcher
models:
  - model: a
  - model: b
  - model: c
parameters:
  max_iter: 20
  tol: 1.0e-7
dtype: float32
`,
  },
  {
    method: "multislerp",
    base: "base",
    models: ["a", "b"],
    params: {},
    modelParams: [{ weight: 0.3 }, { weight: 0.7 }],
    yaml: `
merge_method: multislerp
base_model: base
models:
  - model: a
    parameters:
      weight: 0.3
  - model: b
    parameters:
      weight: 0.7
`,
  },
  {
    method: "arcee_fusion",
    base: "base",
    models: ["a"],
    params: {},
    yaml: `
merge_method: arcee_fusion
base_model: base
models:
  - model: a
dtype: float32
`,
  },
  {
    method: "ram",
    base: "base",
    models: ["a", "b", "c"],
    params: { epsilon: 1e-4 },
    yaml: `
merge_method: ram
base_model: base
models:
  - model: a
  - model: b
  - model: c
parameters:
  epsilon: 0.0001
`,
  },
  {
    method: "ramplus_tl",
    base: "base",
    models: ["a", "c"],
    params: { r: 0.5, alpha: 0.3 },
    yaml: `
merge_method: ramplus_tl
base_model: base
models:
  - model: a
  - model: c
parameters:
  r: 0.5
  alpha: 0.3
`,
  },
  {
    method: "sce",
    base: "base",
    models: ["a", "b", "c"],
    params: { select_topk: 0.5 },
    yaml: `
merge_method: sce
base_model: base
models:
  - model: a
  - model: b
  - model: c
parameters:
  select_topk: 0.5
dtype: float32
`,
  },
  {
    method: "nearswap",
    base: "base",
    models: ["b"],
    params: { t: 1e-4 },
    yaml: `
merge_method: nearswap
base_model: base
models:
  - model: b
parameters:
  t: 0.0001
`,
  },
];

describe("mergekit configs of the added methods", () => {
  for (const c of CASES) {
    it(`${c.method}: runs unchanged and equals the method on the stored tensors`, async () => {
      const out = join(dir, `out-${c.method}`);
      const result = await mergeCheckpoints(parseMergeConfig(c.yaml), out, { baseDir: dir });
      expect(result.tensorsMerged).toBe(Object.keys(SHAPES).length);
      const method = getMethod(c.method);
      const { params, modelParams } = resolveParams(
        method,
        c.params,
        c.modelParams ?? c.models.map(() => ({})),
      );
      const ckpt = await openCheckpoint(out);
      try {
        for (const [name, shape] of Object.entries(SHAPES)) {
          const want = method.mergeTensor({
            name,
            shape,
            base: c.base === undefined ? undefined : stored.get(c.base)?.get(name),
            models: c.models.map((m) => stored.get(m)?.get(name) as Float32Array),
            modelParams: modelParams as ParamMap[],
            params,
            rng: tensorRng(0, name),
          });
          expect(Array.from(await ckpt.readFloat32(name)), `${c.method} ${name}`).toEqual(Array.from(want));
        }
      } finally {
        await ckpt.close();
      }
    });
  }
});
