// slices and modules end to end through mergeCheckpoints on small Llama-layout checkpoints: passthrough
// stacking (consecutive, duplicated and interleaved ranges), per-slice merges with gradients over a
// slice's layers, config.json layer counts, tensors the definition does not list, a user architecture
// file with two modules, and the errors a user meets.

import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArchitectureError } from "../../src/architecture/index.js";
import { getMethod, MergeInputError, mergeCheckpoints, parseMergeConfig } from "../../src/index.js";
import { expectClose } from "../fixtures/close.js";
import {
  fineTune,
  llamaShapes,
  llamaWeights,
  SLICES_TOKENIZER_YAML,
  type Weights,
  writeLlama,
} from "../fixtures/llama.js";
import { refLinear, refSlerp } from "../mergekit/reference.js";

let root: string;
const SPEC = { layers: 4 };
let a: Weights;
let b: Weights;

async function readAll(dir: string): Promise<Map<string, Float32Array>> {
  const ck = await openCheckpoint(dir);
  const out = new Map<string, Float32Array>();
  for (const n of ck.names()) out.set(n, await ck.readFloat32(n));
  await ck.close();
  return out;
}

async function merge(yaml: string, name: string, options: Parameters<typeof mergeCheckpoints>[2] = {}) {
  const out = join(root, name);
  const warnings: string[] = [];
  const notices: string[] = [];
  const result = await mergeCheckpoints(parseMergeConfig(yaml), out, {
    baseDir: root,
    onWarning: (w) => warnings.push(w.message),
    onNotice: (m) => notices.push(m),
    ...options,
  });
  return {
    out,
    result,
    warnings,
    notices,
    tensors: await readAll(out),
    config: JSON.parse(await readFile(join(out, "config.json"), "utf8")),
  };
}

const f64 = (x: Float32Array) => Float64Array.from(x);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-layers-"));
  a = await writeLlama(join(root, "a"), SPEC, llamaWeights(SPEC, 1));
  b = await writeLlama(join(root, "b"), SPEC, fineTune(a, 2, 0.01));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("slices: passthrough stacking", () => {
  it("stacks a[0,3] and b[1,4] into 6 layers: layer tensors copied exactly, embeddings from the first slice, head from the last", async () => {
    const { tensors, config, result } = await merge(
      `
slices:
  - sources: [{ model: a, layer_range: [0, 3] }]
  - sources: [{ model: b, layer_range: [1, 4] }]
merge_method: passthrough
dtype: float32
`,
      "stack",
    );
    expect(config.num_hidden_layers).toBe(6);
    expect(config.torch_dtype).toBe("float32");
    const names = llamaShapes({ layers: 6 }).map(([n]) => n);
    expect([...tensors.keys()].sort()).toEqual([...names].sort());
    expect(result.tensorsMerged).toBe(names.length);
    const src = (j: number): [Weights, number] => (j < 3 ? [a, j] : [b, j - 2]);
    for (let j = 0; j < 6; j++) {
      const [w, i] = src(j);
      for (const part of ["self_attn.q_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight"]) {
        expect(tensors.get(`model.layers.${j}.${part}`)).toEqual(w.get(`model.layers.${i}.${part}`)!.data);
      }
    }
    expect(tensors.get("model.embed_tokens.weight")).toEqual(a.get("model.embed_tokens.weight")!.data);
    expect(tensors.get("model.norm.weight")).toEqual(b.get("model.norm.weight")!.data);
    expect(tensors.get("lm_head.weight")).toEqual(b.get("lm_head.weight")!.data);
  });

  it("duplicates and interleaves ranges of one model (a[0,2] a[1,3] a[2,4] = 6 layers)", async () => {
    const { tensors, config } = await merge(
      `
slices:
  - sources: [{ model: a, layer_range: [0, 2] }]
  - sources: [{ model: a, layer_range: [1, 3] }]
  - sources: [{ model: a, layer_range: [2, 4] }]
merge_method: passthrough
`,
      "interleave",
    );
    expect(config.num_hidden_layers).toBe(6);
    const from = [0, 1, 1, 2, 2, 3];
    for (const [j, i] of from.entries()) {
      expect(tensors.get(`model.layers.${j}.mlp.up_proj.weight`)).toEqual(
        a.get(`model.layers.${i}.mlp.up_proj.weight`)!.data,
      );
    }
    // The stored config is otherwise the donor's, and the input is untouched.
    const donor = JSON.parse(await readFile(join(root, "a", "config.json"), "utf8"));
    expect({ ...config, num_hidden_layers: donor.num_hidden_layers }).toEqual(donor);
  });
});

describe("slices: per-slice merges", () => {
  it("slerp over each slice with t gradients filtered by self_attn / mlp (t = i / (n − 1) within the slice)", async () => {
    const { tensors, config } = await merge(
      `
slices:
  - sources:
      - { model: a, layer_range: [0, 4] }
      - { model: b, layer_range: [0, 4] }
merge_method: slerp
base_model: a
parameters:
  t:
    - filter: self_attn
      value: [0, 0.5, 0.3, 0.7, 1]
    - filter: mlp
      value: [1, 0.5, 0.7, 0.3, 0]
    - value: 0.5
dtype: float32
`,
      "slerp",
    );
    expect(config.num_hidden_layers).toBe(4);
    const grad = (g: number[], t: number) => {
      const s = t * (g.length - 1);
      const i0 = Math.trunc(s);
      const i1 = Math.min(g.length - 1, i0 + 1);
      return (1 - (s - i0)) * g[i0]! + (s - i0) * g[i1]!;
    };
    for (let l = 0; l < 4; l++) {
      const t = l / 3;
      for (const [part, tt] of [
        ["self_attn.k_proj.weight", grad([0, 0.5, 0.3, 0.7, 1], t)],
        ["mlp.gate_proj.weight", grad([1, 0.5, 0.7, 0.3, 0], t)],
        ["input_layernorm.weight", 0.5],
      ] as const) {
        const name = `model.layers.${l}.${part}`;
        const want = refSlerp(
          { shape: [0], base: f64(a.get(name)!.data), models: [f64(b.get(name)!.data)] },
          tt,
        );
        const got = tensors.get(name)!;
        expectClose(got, want, 6);
      }
    }
    // Pre- and post-layer weights sit at t = 0: self_attn / mlp filters do not match them, so 0.5.
    const emb = "model.embed_tokens.weight";
    const want = refSlerp({ shape: [0], base: f64(a.get(emb)!.data), models: [f64(b.get(emb)!.data)] }, 0.5);
    expectClose(tensors.get(emb)!, want, 6);
  });

  it("a linear slice next to a passthrough slice, with slice- and source-level parameters", async () => {
    const { tensors, config } = await merge(
      `
slices:
  - sources:
      - { model: a, layer_range: [0, 2], parameters: { weight: 3 } }
      - { model: b, layer_range: [2, 4] }
    parameters: { weight: 1 }
  - sources:
      - { model: b, layer_range: [3, 4], parameters: { weight: 2 } }
merge_method: linear
`,
      "linear-slices",
    );
    expect(config.num_hidden_layers).toBe(3);
    const name = (l: number) => `model.layers.${l}.mlp.up_proj.weight`;
    for (const l of [0, 1]) {
      const want = refLinear(
        { shape: [12, 8], models: [f64(a.get(name(l))!.data), f64(b.get(name(l + 2))!.data)] },
        [3, 1],
        true,
      );
      expectClose(tensors.get(name(l))!, want, 6);
    }
    expect(tensors.get(name(2))).toEqual(b.get(name(3))!.data);
  });

  it("carries tensors the definition does not list with their layer (attention biases)", async () => {
    const spec = { layers: 2, biases: true };
    const wa = await writeLlama(join(root, "bias-a"), spec, llamaWeights(spec, 5));
    const { tensors } = await merge(
      `
slices:
  - sources: [{ model: bias-a, layer_range: [1, 2] }]
  - sources: [{ model: bias-a, layer_range: [0, 2] }]
merge_method: passthrough
`,
      "bias",
    );
    expect(tensors.get("model.layers.0.self_attn.q_proj.bias")).toEqual(
      wa.get("model.layers.1.self_attn.q_proj.bias")!.data,
    );
    expect(tensors.get("model.layers.2.self_attn.q_proj.bias")).toEqual(
      wa.get("model.layers.1.self_attn.q_proj.bias")!.data,
    );
  });

  it("reads a tied LM head from the embeddings when a model does not store it", async () => {
    const tied = { layers: 4, tieEmbeddings: true };
    const wt = await writeLlama(join(root, "tied"), tied, llamaWeights(tied, 7));
    const { tensors, warnings } = await merge(
      `
slices:
  - sources: [{ model: a, layer_range: [0, 2] }]
  - sources: [{ model: a, layer_range: [2, 4] }, { model: tied, layer_range: [2, 4] }]
merge_method: linear
`,
      "tied-out",
    );
    expect(warnings).toEqual([]);
    const head = a.get("lm_head.weight")!.data;
    const emb = wt.get("model.embed_tokens.weight")!.data;
    expectClose(
      tensors.get("lm_head.weight")!,
      head.map((v, k) => (v + emb[k]!) / 2),
    );
    // An optional head no source of the last slice stores is left out (as mergekit does).
    const { tensors: t2 } = await merge(
      "slices:\n  - sources: [{ model: tied, layer_range: [0, 4] }]\nmerge_method: passthrough\n",
      "tied-only",
    );
    expect(t2.has("lm_head.weight")).toBe(false);
  });
});

describe("slices: execution paths give the same bytes", () => {
  async function bytesOf(dir: string) {
    const ck = await openCheckpoint(dir);
    const out = new Map<string, Uint8Array>();
    for (const n of ck.names()) out.set(n, await ck.readBytes(n));
    await ck.close();
    return out;
  }

  // Worker threads run only built JavaScript: test/integration/slices-threads.test.ts adds them.
  it("fused dense-linear path and general path, with a tokenizer merge", async () => {
    const yaml = SLICES_TOKENIZER_YAML;
    const fast = await merge(yaml, "paths-fast");
    // A copy of the method is not trusted with fast paths: the general path.
    const general = await merge(yaml, "paths-general", { method: { ...getMethod("task_arithmetic") } });
    expect(fast.config.num_hidden_layers).toBe(5);
    const want = await bytesOf(fast.out);
    expect(await bytesOf(general.out)).toEqual(want);
  });
});

describe("modules and user architecture files", () => {
  const ARCH = {
    kind: "modular",
    model_type: "toy_vl",
    architectures: ["ToyVLForConditionalGeneration"],
    modules: {
      text: {
        architecture: {
          model_type: "toy_text",
          architectures: [],
          num_layers_config_key: "text_config.num_layers",
          pre_weights: [{ name: "embed.weight", is_embed: true }],
          layer_templates: { weights: [{ name: "blocks.$layer_index.w" }] },
          post_weights: [{ name: "norm.weight" }],
        },
        weight_prefix: "lm.",
      },
      vision: {
        architecture: {
          model_type: "toy_vision",
          architectures: [],
          num_layers_config_key: "vision_config.depth",
          pre_weights: [{ name: "patch.weight" }],
          layer_templates: { weights: [{ name: "layers.$layer_index.w" }] },
          post_weights: [],
        },
        weight_prefix: "vision.",
      },
    },
  };

  async function writeToy(dir: string, seed: number, textLayers: number, visionLayers: number) {
    const { Rng, Tensor, writeShardedSafetensors } = await import("@x/tensor-core");
    const rng = new Rng(seed);
    const shapes: [string, number[]][] = [
      ["lm.embed.weight", [6, 4]],
      ...Array.from({ length: textLayers }, (_, l): [string, number[]] => [`lm.blocks.${l}.w`, [4, 4]]),
      ["lm.norm.weight", [4]],
      ["vision.patch.weight", [4, 3]],
      ...Array.from({ length: visionLayers }, (_, l): [string, number[]] => [`vision.layers.${l}.w`, [3, 3]]),
    ];
    const data = new Map(
      shapes.map(([n, s]) => [n, Float32Array.from({ length: s[0]! * (s[1] ?? 1) }, () => rng.normal())]),
    );
    await mkdir(dir, { recursive: true });
    await writeShardedSafetensors(
      dir,
      shapes.map(([name, shape]) => ({ name, dtype: "F32" as const, shape })),
      shapes.map(([n, s]) => [n, Tensor.fromFloat32("F32", s, data.get(n)!)] as const),
    );
    await writeFile(
      join(dir, "config.json"),
      JSON.stringify({
        architectures: ["ToyVLForConditionalGeneration"],
        model_type: "toy_vl",
        text_config: {
          num_layers: textLayers,
          layer_types: Array.from({ length: textLayers }, (_, l) => (l % 2 ? "full" : "sliding")),
        },
        vision_config: { depth: visionLayers },
      }),
    );
    return data;
  }

  it("stacks the text module by slices and averages the vision module, from an architecture file named in the config", async () => {
    await writeFile(join(root, "toy-arch.json"), JSON.stringify(ARCH));
    const p = await writeToy(join(root, "toy-p"), 11, 3, 2);
    const q = await writeToy(join(root, "toy-q"), 12, 3, 2);
    const { tensors, config, warnings } = await merge(
      `
modules:
  text:
    slices:
      - sources: [{ model: toy-p, layer_range: [0, 3] }]
      - sources: [{ model: toy-q, layer_range: [1, 3] }]
  vision:
    models:
      - model: toy-p
      - model: toy-q
merge_method: linear
architecture_files: [toy-arch.json]
`,
      "toy",
    );
    expect(warnings).toEqual([]);
    expect(config.text_config.num_layers).toBe(5);
    expect(config.text_config.layer_types).toEqual(["sliding", "full", "sliding", "full", "sliding"]);
    expect(config.vision_config.depth).toBe(2);
    expect([...tensors.keys()].sort()).toEqual(
      [
        "lm.embed.weight",
        ...[0, 1, 2, 3, 4].map((l) => `lm.blocks.${l}.w`),
        "lm.norm.weight",
        "vision.patch.weight",
        "vision.layers.0.w",
        "vision.layers.1.w",
      ].sort(),
    );
    expect(tensors.get("lm.blocks.3.w")).toEqual(q.get("lm.blocks.1.w"));
    const avg = p.get("vision.layers.1.w")!.map((v, k) => (v + q.get("vision.layers.1.w")![k]!) / 2);
    expectClose(tensors.get("vision.layers.1.w")!, avg, 6);
  });

  it("slices on a multi-module architecture need modules:, and a module missing from modules: is left out with a warning", async () => {
    await expect(
      merge(
        "slices:\n  - sources: [{ model: toy-p, layer_range: [0, 2] }]\nmerge_method: passthrough\narchitecture_files: [toy-arch.json]\n",
        "toy-bad",
      ),
    ).rejects.toThrow(/2 modules .*use 'modules:'/);
    const { tensors, warnings } = await merge(
      "modules:\n  text:\n    slices:\n      - sources: [{ model: toy-p, layer_range: [0, 1] }]\nmerge_method: passthrough\narchitecture_files: [toy-arch.json]\n",
      "toy-text-only",
    );
    expect(warnings.some((w) => /module 'vision' .* left out/.test(w))).toBe(true);
    expect([...tensors.keys()].sort()).toEqual(["lm.blocks.0.w", "lm.embed.weight", "lm.norm.weight"]);
  });
});

describe("errors a user meets", () => {
  it("an unknown architecture says how to add one", async () => {
    await mkdir(join(root, "odd"), { recursive: true });
    await writeLlama(join(root, "odd"), SPEC, a);
    const cfg = JSON.parse(await readFile(join(root, "odd", "config.json"), "utf8"));
    await writeFile(
      join(root, "odd", "config.json"),
      JSON.stringify({ ...cfg, architectures: ["OddForCausalLM"], model_type: "odd" }),
    );
    const err = await merge(
      "slices:\n  - sources: [{ model: odd, layer_range: [0, 2] }]\nmerge_method: passthrough\n",
      "odd-out",
    ).catch((e) => e);
    expect(err).toBeInstanceOf(ArchitectureError);
    expect(err.message).toMatch(
      /model odd: no architecture definition matches \(config.json has architectures \["OddForCausalLM"\] and model_type 'odd'\)/,
    );
    expect(err.message).toMatch(/architecture_files: \[\.\/my-arch\.json\]/);
    expect(err.message).toMatch(/X_MERGE_ARCHITECTURES/);
  });

  it("a layer range past the model's layers, a base missing from a slice, a global-scope method", async () => {
    await expect(
      merge("slices:\n  - sources: [{ model: a, layer_range: [2, 6] }]\nmerge_method: passthrough\n", "e1"),
    ).rejects.toThrow(/slices\[0\]\.sources\[0\]: layer_range \[2, 6\] exceeds the 4 layers of model a/);
    await expect(
      merge(
        "slices:\n  - sources: [{ model: b, layer_range: [0, 4] }]\nmerge_method: task_arithmetic\nbase_model: a\n",
        "e2",
      ),
    ).rejects.toThrow(
      new MergeInputError(
        "slices[0]: the base model a is not among its sources (list it with its layer_range)",
      ),
    );
    await expect(
      merge(
        "slices:\n  - sources: [{ model: a, layer_range: [0, 4] }, { model: b, layer_range: [0, 4] }]\nmerge_method: pcb\nbase_model: a\nparameters: { mode: reference }\n",
        "e3",
      ),
    ).rejects.toThrow(/global scope.*mode: per-tensor/);
  });
});
