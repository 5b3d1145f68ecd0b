// mergekit users' configs (test/fixtures/mergekit-configs/*.yml: every mergekit method, slices,
// modules, tokenizer_source / tokenizer: / chat_template, a PyTorch-only model), each run unchanged as
// `x merge CONFIG OUT` from the built binary on small synthetic checkpoints, and the outputs checked:
// layer counts, tensor names, config.json, tokenizer files, and values of a few against an
// independent float64 computation (test/mergekit/reference.ts).

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openCheckpoint, Rng, Tensor, writeShardedSafetensors } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMergeConfig } from "../../../src/index.js";
import { expectClose } from "../../fixtures/close.js";
import {
  allTokens,
  BASE_TOKENS,
  fineTune,
  type LlamaSpec,
  llamaShapes,
  llamaWeights,
  rowsByToken,
  type Weights,
  writeLlama,
} from "../../fixtures/llama.js";
import { refGta, refKarcher, refLinear, refModelStock, refSlerp } from "../../mergekit/reference.js";

const BIN = fileURLToPath(new URL("../../../../../apps/cli/dist/bin.js", import.meta.url));
const CONFIGS = fileURLToPath(new URL("../../fixtures/mergekit-configs/", import.meta.url));
const TORCH = fileURLToPath(new URL("../../fixtures/pytorch-llama/single/", import.meta.url));
// The binary must be built (`pnpm test` builds first); outside CI a missing build skips.
const built = existsSync(BIN) || process.env.CI === "true";

const CHATML =
  "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}";
const SPEC: LlamaSpec = { layers: 4 };
const CHAT: LlamaSpec = { layers: 4, added: [{ content: "<|im_start|>", special: true }] };
const WIDE: LlamaSpec = {
  layers: 4,
  tokens: [...BASE_TOKENS.slice(0, 3), ...BASE_TOKENS.slice(3).reverse(), "xy", "▁z"],
};

let root: string;
const models = new Map<string, Weights>();
const rows = new Map<string, Map<string, Float32Array[]>>();

/** A Qwen2-VL-layout checkpoint: a text decoder with biases, a vision tower, a merger. */
async function writeVl(dir: string, seed: number): Promise<Weights> {
  const rng = new Rng(seed);
  const h = 8;
  const v = 6;
  const shapes: [string, number[]][] = [["model.embed_tokens.weight", [14, h]]];
  for (let l = 0; l < 4; l++) {
    const p = `model.layers.${l}.`;
    shapes.push(
      [`${p}input_layernorm.weight`, [h]],
      [`${p}self_attn.q_proj.weight`, [h, h]],
      [`${p}self_attn.q_proj.bias`, [h]],
      [`${p}self_attn.k_proj.weight`, [4, h]],
      [`${p}self_attn.k_proj.bias`, [4]],
      [`${p}self_attn.v_proj.weight`, [4, h]],
      [`${p}self_attn.v_proj.bias`, [4]],
      [`${p}self_attn.o_proj.weight`, [h, h]],
      [`${p}post_attention_layernorm.weight`, [h]],
      [`${p}mlp.gate_proj.weight`, [12, h]],
      [`${p}mlp.up_proj.weight`, [12, h]],
      [`${p}mlp.down_proj.weight`, [h, 12]],
    );
  }
  shapes.push(
    ["model.norm.weight", [h]],
    ["lm_head.weight", [14, h]],
    ["visual.patch_embed.proj.weight", [v, 12]],
  );
  for (let l = 0; l < 2; l++) {
    for (const [n, s] of [
      ["norm1", [v]],
      ["norm2", [v]],
      ["attn.qkv", [3 * v, v]],
      ["attn.proj", [v, v]],
      ["mlp.fc1", [12, v]],
      ["mlp.fc2", [v, 12]],
    ] as const) {
      shapes.push([`visual.blocks.${l}.${n}.weight`, [...s]], [`visual.blocks.${l}.${n}.bias`, [s[0]]]);
    }
  }
  shapes.push(
    ["visual.merger.ln_q.weight", [v]],
    ["visual.merger.ln_q.bias", [v]],
    ["visual.merger.mlp.0.weight", [24, 24]],
    ["visual.merger.mlp.0.bias", [24]],
    ["visual.merger.mlp.2.weight", [h, 24]],
    ["visual.merger.mlp.2.bias", [h]],
  );
  const w: Weights = new Map(
    shapes.map(([n, s]) => [
      n,
      {
        shape: s,
        data: Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => 0.02 * rng.normal()),
      },
    ]),
  );
  mkdirSync(dir, { recursive: true });
  await writeShardedSafetensors(
    dir,
    shapes.map(([name, shape]) => ({ name, dtype: "F32" as const, shape })),
    shapes.map(([n, s]) => [n, Tensor.fromFloat32("F32", s, w.get(n)!.data)] as const),
  );
  await writeFile(
    join(dir, "config.json"),
    JSON.stringify({
      architectures: ["Qwen2VLForConditionalGeneration"],
      model_type: "qwen2_vl",
      hidden_size: h,
      num_hidden_layers: 4,
      vocab_size: 14,
      vision_config: { depth: 2, embed_dim: v },
    }),
  );
  return w;
}

beforeAll(async () => {
  if (!built) return;
  root = await mkdtemp(join(tmpdir(), "x-mergekit-configs-"));
  const m = (name: string) => join(root, "models", name);
  const base = await writeLlama(m("base"), SPEC, llamaWeights(SPEC, 1));
  const baseRows = rowsByToken(base, BASE_TOKENS);
  models.set("base", base);
  models.set("math", await writeLlama(m("math"), SPEC, fineTune(base, 2)));
  models.set("code", await writeLlama(m("code"), SPEC, fineTune(base, 3)));
  models.set(
    "chat",
    await writeLlama(m("chat"), CHAT, fineTune(llamaWeights(CHAT, 4, baseRows), 5), { chatTemplate: CHATML }),
  );
  models.set("wide", await writeLlama(m("wide"), WIDE, fineTune(llamaWeights(WIDE, 6, baseRows), 7)));
  models.set("vl-a", await writeVl(m("vl-a"), 8));
  models.set("vl-b", await writeVl(m("vl-b"), 9));
  rows.set("base", baseRows);
  rows.set("chat", rowsByToken(models.get("chat")!, allTokens(CHAT)));
  rows.set("wide", rowsByToken(models.get("wide")!, allTokens(WIDE)));
  mkdirSync(m("torch"));
  for (const f of ["pytorch_model.bin", "config.json"]) cpSync(join(TORCH, f), join(m("torch"), f));
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

interface Output {
  readonly dir: string;
  readonly tensors: Map<string, Float32Array>;
  readonly dtypes: Map<string, string>;
  readonly config: Record<string, unknown>;
  readonly stdout: string;
  readonly stderr: string;
  json(file: string): Record<string, unknown>;
}

interface Case {
  /** Output layers (default 4). */
  readonly layers?: number;
  /** Output tensor names (default: the Llama names for `layers`). */
  readonly names?: () => string[];
  readonly check?: (out: Output) => void | Promise<void>;
}

const f64 = (x: Float32Array) => Float64Array.from(x);
const w = (model: string, name: string) => models.get(model)!.get(name)!.data;
/** mergekit's gradient: piecewise-linear over t = layer / (L − 1). */
const grad = (g: readonly number[], t: number) => {
  const s = t * (g.length - 1);
  const i0 = Math.trunc(s);
  const i1 = Math.min(g.length - 1, i0 + 1);
  return (1 - (s - i0)) * g[i0]! + (s - i0) * g[i1]!;
};
const exactlyFrom = (out: Output, map: readonly [string, number][]) => {
  map.forEach(([model, layer], j) => {
    for (const part of [
      "self_attn.q_proj.weight",
      "mlp.down_proj.weight",
      "post_attention_layernorm.weight",
    ]) {
      expect(out.tensors.get(`model.layers.${j}.${part}`)).toEqual(w(model, `model.layers.${layer}.${part}`));
    }
  });
};
const rowOf = (t: Float32Array, id: number) => t.subarray(id * 8, (id + 1) * 8);
const vocabOf = (tok: Record<string, unknown>) => {
  const model = tok.model as { vocab: Record<string, number> };
  const v = new Map(Object.entries(model.vocab));
  for (const a of tok.added_tokens as { content: string; id: number }[]) v.set(a.content, a.id);
  return v;
};

const CASES: Record<string, Case> = {
  "passthrough-frankenmerge.yml": {
    layers: 6,
    check: (out) => {
      exactlyFrom(out, [
        ["base", 0],
        ["base", 1],
        ["base", 2],
        ["math", 1],
        ["math", 2],
        ["math", 3],
      ]);
      expect(out.tensors.get("model.embed_tokens.weight")).toEqual(w("base", "model.embed_tokens.weight"));
      expect(out.tensors.get("lm_head.weight")).toEqual(w("math", "lm_head.weight"));
    },
  },
  "passthrough-interleaved.yml": {
    layers: 8,
    check: (out) =>
      exactlyFrom(out, [
        ["math", 0],
        ["math", 1],
        ["code", 1],
        ["code", 2],
        ["math", 2],
        ["math", 3],
        ["code", 2],
        ["code", 3],
      ]),
  },
  "slerp-gradient.yml": {
    check: (out) => {
      for (let l = 0; l < 4; l++) {
        for (const [part, t] of [
          ["self_attn.o_proj.weight", grad([0, 0.5, 0.3, 0.7, 1], l / 3)],
          ["mlp.up_proj.weight", grad([1, 0.5, 0.7, 0.3, 0], l / 3)],
          ["input_layernorm.weight", 0.5],
        ] as const) {
          const n = `model.layers.${l}.${part}`;
          expectClose(
            out.tensors.get(n)!,
            refSlerp({ shape: [0], base: f64(w("base", n)), models: [f64(w("math", n))] }, t),
          );
        }
      }
    },
  },
  "slerp-models.yml": { check: (out) => expect(out.dtypes.get("model.norm.weight")).toBe("BF16") },
  "linear.yml": {
    check: (out) => {
      for (const n of ["model.layers.2.mlp.gate_proj.weight", "model.norm.weight"]) {
        const want = refLinear(
          { shape: [w("math", n).length], models: ["math", "code", "chat"].map((m) => f64(w(m, n))) },
          [1, 0.3, 0.5],
          true,
        );
        expectClose(out.tensors.get(n)!, want);
      }
    },
  },
  "ties.yml": {
    check: (out) => {
      // Layer 2 of 4 (t = 2/3): density and weight gradients, chat's weight filtered by "mlp".
      const t = 2 / 3;
      for (const part of ["mlp.up_proj.weight", "self_attn.q_proj.weight"]) {
        const n = `model.layers.2.${part}`;
        const want = refGta(
          {
            shape: [w("base", n).length],
            base: f64(w("base", n)),
            models: ["math", "code", "chat"].map((m) => f64(w(m, n))),
          },
          {
            sparsifier: "magnitude",
            consensus: true,
            normalize: true,
            rescale: false,
            lambda: 1,
            models: [
              { weight: 1, density: grad([1, 0.7, 0.2], t) },
              { weight: grad([0, 0.3, 0.7, 1], t), density: 0.5 },
              { weight: part.startsWith("mlp") ? 0.5 : 0, density: 0.33 },
            ],
          },
        );
        expectClose(out.tensors.get(n)!, want);
      }
    },
  },
  "dare-ties.yml": { check: (out) => expect(out.dtypes.get("lm_head.weight")).toBe("BF16") },
  "dare-linear.yml": {},
  "breadcrumbs.yml": {},
  "breadcrumbs-ties.yml": {},
  "della.yml": {},
  "della-linear.yml": {},
  "task-arithmetic.yml": {
    check: (out) => expect(out.dtypes.get("model.layers.0.mlp.up_proj.weight")).toBe("BF16"),
  },
  "sce.yml": {},
  "model-stock.yml": {
    check: (out) => {
      const n = "model.layers.3.self_attn.v_proj.weight";
      const want = refModelStock(
        { shape: [4, 8], base: f64(w("base", n)), models: ["math", "code", "chat"].map((m) => f64(w(m, n))) },
        false,
      );
      expectClose(out.tensors.get(n)!, want);
    },
  },
  "nuslerp.yml": {},
  "nearswap.yml": {},
  "karcher.yml": {
    check: (out) => {
      const n = "model.layers.1.mlp.down_proj.weight";
      expectClose(
        out.tensors.get(n)!,
        refKarcher(
          ["math", "code", "chat"].map((m) => f64(w(m, n))),
          20,
          1e-7,
        ),
        5,
      );
    },
  },
  "multislerp.yml": {},
  "arcee-fusion.yml": {},
  "ram.yml": {},
  "ramplus-tl.yml": {},
  "task-arithmetic-union.yml": {
    check: (out) => {
      const tok = out.json("tokenizer.json");
      const vocab = vocabOf(tok);
      const want = [...BASE_TOKENS, "xy", "▁z", "<|im_start|>"];
      for (const [i, t] of want.entries()) expect(vocab.get(t)).toBe(i);
      expect(out.config.vocab_size).toBe(want.length);
      const tc = out.json("tokenizer_config.json");
      expect(tc.chat_template).toMatch(/<\|im_start\|>/);
      expect(readFileSync(join(out.dir, "chat_template.jinja"), "utf8")).toBe(tc.chat_template);
      expect(out.json("special_tokens_map.json")).toEqual({
        bos_token: "<s>",
        eos_token: "</s>",
        unk_token: "<unk>",
      });
      // Row of every token: θ₀ + 0.6 (wide − θ₀) + 0.4 (chat − θ₀), each model's own row for the
      // token, else (the model lacks it) the base's row, else the only owner's.
      const own = (m: string, t: string, head: 0 | 1) => rows.get(m)!.get(t)?.[head];
      for (const [head, name] of [
        [0, "model.embed_tokens.weight"],
        [1, "lm_head.weight"],
      ] as const) {
        for (const t of want) {
          const fallback = own("base", t, head) ?? own("wide", t, head) ?? own("chat", t, head)!;
          const [b, x, c] = ["base", "wide", "chat"].map((m) => own(m, t, head) ?? fallback);
          expectClose(
            rowOf(out.tensors.get(name)!, vocab.get(t)!),
            b!.map((v, k) => v + 0.6 * (x![k]! - v) + 0.4 * (c![k]! - v)),
          );
        }
      }
    },
  },
  "tokenizer-block.yml": {
    check: (out) => {
      const vocab = vocabOf(out.json("tokenizer.json"));
      const n = BASE_TOKENS.length;
      expect(vocab.get("<|im_start|>")).toBe(n);
      expect(vocab.get("<|im_end|>")).toBe(n + 1);
      expect(out.config.vocab_size).toBe(16);
      expect(out.tensors.get("model.embed_tokens.weight")!.length).toBe(16 * 8);
      // auto: the template of the only input that has one.
      expect(out.json("tokenizer_config.json").chat_template).toBe(CHATML);
      // <|im_end|>: in no model; both take chat's "</s>" row, so their mean is that row.
      expectClose(
        rowOf(out.tensors.get("model.embed_tokens.weight")!, n + 1),
        rows.get("chat")!.get("</s>")![0]!,
      );
    },
  },
  "modules.yml": {
    layers: 5,
    names: () => {
      const a = models.get("vl-a")!;
      const text = (l: number) =>
        [...a.keys()]
          .filter((k) => k.startsWith("model.layers.0."))
          .map((k) => k.replace("model.layers.0.", `model.layers.${l}.`));
      return [
        ...[...a.keys()].filter((k) => !k.startsWith("model.layers.")),
        ...[0, 1, 2, 3, 4].flatMap(text),
      ];
    },
    check: (out) => {
      expect((out.config.vision_config as { depth: number }).depth).toBe(2);
      // Text layers stacked: vl-a 0..2, then vl-b 2..3 (the q biases travel with their layers).
      for (const [j, [m, l]] of (
        [
          ["vl-a", 0],
          ["vl-a", 1],
          ["vl-a", 2],
          ["vl-b", 2],
          ["vl-b", 3],
        ] as const
      ).entries()) {
        expect(out.tensors.get(`model.layers.${j}.self_attn.q_proj.bias`)).toEqual(
          w(m, `model.layers.${l}.self_attn.q_proj.bias`),
        );
      }
      expect(out.tensors.get("lm_head.weight")).toEqual(w("vl-b", "lm_head.weight"));
      // Vision tower and projector: averaged.
      for (const n of ["visual.blocks.1.attn.qkv.weight", "visual.merger.mlp.2.weight"]) {
        expectClose(
          out.tensors.get(n)!,
          refLinear(
            { shape: [w("vl-a", n).length], models: [f64(w("vl-a", n)), f64(w("vl-b", n))] },
            [1, 1],
            true,
          ),
        );
      }
    },
  },
  "pytorch-bin.yml": {
    check: async (out) => {
      // The .bin model's values, through its safetensors twin (written by the fixture script).
      const ck = await openCheckpoint(join(TORCH, "twin.safetensors"));
      for (const n of ["model.layers.3.mlp.up_proj.weight", "lm_head.weight"]) {
        const t = await ck.readFloat32(n);
        expectClose(
          out.tensors.get(n)!,
          w("base", n).map((v, k) => (v + t[k]!) / 2),
        );
      }
      await ck.close();
    },
  },
};

function x(args: readonly string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

async function readOutput(dir: string, stdout: string, stderr: string): Promise<Output> {
  const ck = await openCheckpoint(dir);
  const tensors = new Map<string, Float32Array>();
  const dtypes = new Map<string, string>();
  for (const n of ck.names()) {
    tensors.set(n, await ck.readFloat32(n));
    dtypes.set(n, ck.info(n)!.dtype);
  }
  await ck.close();
  const json = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8"));
  return { dir, tensors, dtypes, config: json("config.json"), stdout, stderr, json };
}

describe.skipIf(!built)("mergekit configs through `x merge CONFIG OUT` (built binary)", () => {
  const files = readdirSync(CONFIGS).filter((f) => f.endsWith(".yml"));

  it("cover every mergekit method, slices, modules, tokenizers, chat templates and .bin inputs; every config has a check", () => {
    expect(files.sort()).toEqual(Object.keys(CASES).sort());
    const methods = new Set(
      files.map((f) => parseMergeConfig(readFileSync(join(CONFIGS, f), "utf8")).mergeMethod),
    );
    for (const m of [
      "linear",
      "task_arithmetic",
      "ties",
      "dare_linear",
      "dare_ties",
      "breadcrumbs",
      "breadcrumbs_ties",
      "della",
      "della_linear",
      "sce",
      "slerp",
      "model_stock",
      "nuslerp",
      "nearswap",
      "passthrough",
      "karcher",
      "multislerp",
      "arcee_fusion",
      "ram",
      "ramplus_tl",
    ]) {
      expect(methods.has(m), m).toBe(true);
    }
  });

  for (const file of Object.keys(CASES).sort()) {
    it(file, async () => {
      const c = CASES[file]!;
      const outDir = join(root, `out-${file.replace(/\.yml$/, "")}`);
      const r = x(["merge", join(CONFIGS, file), outDir]);
      expect(r.err, r.err).not.toMatch(/^error/m);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^merged \d+ tensors/);
      const out = await readOutput(outDir, r.out, r.err);
      const layers = c.layers ?? 4;
      const names = c.names?.() ?? llamaShapes({ layers }).map(([n]) => n);
      expect([...out.tensors.keys()].sort()).toEqual([...names].sort());
      expect(out.config.num_hidden_layers).toBe(layers);
      const tokenizer =
        file === "modules.yml" ? [] : ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];
      for (const f of [...tokenizer, "mergekit_config.yml", "README.md", "generation_config.json"]) {
        if (f !== "generation_config.json" || !/modules|pytorch/.test(file))
          expect(existsSync(join(outDir, f)), f).toBe(true);
      }
      // The written mergekit_config.yml is the same config.
      const written = parseMergeConfig(readFileSync(join(outDir, "mergekit_config.yml"), "utf8"));
      expect(written).toEqual(parseMergeConfig(readFileSync(join(CONFIGS, file), "utf8")));
      for (const t of out.tensors.values()) expect(t.every(Number.isFinite)).toBe(true);
      await c.check?.(out);
    });
  }

  it("a bad config: exit code 2 for a missing argument, 1 with one line naming the problem for an unknown architecture", async () => {
    expect(x(["merge", join(CONFIGS, "linear.yml")]).code).toBe(2);
    const odd = join(root, "odd.yml");
    await writeFile(
      odd,
      "slices:\n  - sources: [{ model: ./models/torch/pytorch_model.bin, layer_range: [0, 2] }]\nmerge_method: passthrough\n",
    );
    const r = x(["merge", odd, join(root, "out-odd")]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no architecture definition matches \(it has no config\.json\)/);
    expect(existsSync(join(root, "out-odd"))).toBe(false);
  });
});
