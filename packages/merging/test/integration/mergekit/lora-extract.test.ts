// LoRA extraction end to end on small Llama-layout checkpoints: the PEFT file layout and config, and
// base + B·A against the fine-tuned model, compared with the truncation error the exact singular values
// predict (Eckart–Young).

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type DType,
  openCheckpoint,
  openSafetensors,
  Rng,
  Tensor,
  writeShardedSafetensors,
} from "@x/tensor-core";
import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractLora, LoraExtractionError } from "../../../src/index.js";

const HIDDEN = 64;
const INTER = 96;
const VOCAB = 100;
const LAYERS = 2;

/** Llama tensor names and shapes ([out, in] for linear layers), plus q/k/v biases when `bias` (Qwen2-like). */
function llamaShapes(bias: boolean): Map<string, number[]> {
  const s = new Map<string, number[]>([["model.embed_tokens.weight", [VOCAB, HIDDEN]]]);
  for (let l = 0; l < LAYERS; l++) {
    const p = `model.layers.${l}`;
    for (const n of ["q_proj", "k_proj", "v_proj", "o_proj"])
      s.set(`${p}.self_attn.${n}.weight`, [HIDDEN, HIDDEN]);
    if (bias) for (const n of ["q_proj", "k_proj", "v_proj"]) s.set(`${p}.self_attn.${n}.bias`, [HIDDEN]);
    s.set(`${p}.mlp.gate_proj.weight`, [INTER, HIDDEN]);
    s.set(`${p}.mlp.up_proj.weight`, [INTER, HIDDEN]);
    s.set(`${p}.mlp.down_proj.weight`, [HIDDEN, INTER]);
    s.set(`${p}.input_layernorm.weight`, [HIDDEN]);
    s.set(`${p}.post_attention_layernorm.weight`, [HIDDEN]);
  }
  s.set("model.norm.weight", [HIDDEN]);
  s.set("lm_head.weight", [VOCAB, HIDDEN]);
  s.set("model.rotary_emb.inv_freq", [HIDDEN / 2]);
  return s;
}

type Model = Map<string, Float32Array>;

/**
 * A base model, and a fine-tune whose change is exactly rank 4 on attention (a LoRA-trained model) and
 * full-rank with a slowly decaying spectrum on the MLP and embeddings (a full fine-tune).
 */
function models(seed: number, shapes: Map<string, number[]>): { base: Model; tuned: Model } {
  const rng = new Rng(seed);
  const base: Model = new Map();
  const tuned: Model = new Map();
  for (const [name, shape] of shapes) {
    const numel = shape.reduce((a, b) => a * b, 1);
    const b = Float32Array.from(
      { length: numel },
      () => (name.includes("norm") ? 1 : 0) + 0.02 * rng.normal(),
    );
    const t = b.slice();
    if (shape.length === 2) {
      const [rows, cols] = shape;
      const lowRank = name.includes("self_attn");
      const terms = lowRank ? 4 : Math.min(rows, cols);
      for (let c = 0; c < terms; c++) {
        const scale = (lowRank ? 2e-3 : 1e-3) * (c + 1) ** -0.7;
        const u = Float64Array.from({ length: rows }, () => rng.normal() / Math.sqrt(rows));
        const v = Float64Array.from({ length: cols }, () => rng.normal() / Math.sqrt(cols));
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[i * cols + j] += scale * u[i] * v[j];
      }
    } else if (!name.includes("inv_freq")) {
      for (let k = 0; k < numel; k++) t[k] += 1e-3 * rng.normal();
    }
    base.set(name, b);
    tuned.set(name, t);
  }
  return { base, tuned };
}

async function write(dir: string, model: Model, shapes: Map<string, number[]>, dtype: DType): Promise<void> {
  await writeShardedSafetensors(
    dir,
    [...shapes].map(([name, shape]) => ({ name, dtype, shape })),
    [...model].map(
      ([name, v]) => [name, Tensor.fromFloat32(dtype, shapes.get(name) as number[], v)] as const,
    ),
  );
}

/** The values a checkpoint stores for a tensor, as float32 (after the dtype's rounding). */
async function stored(dir: string, name: string): Promise<Float32Array> {
  const c = await openCheckpoint(dir);
  try {
    return await c.readFloat32(name);
  } finally {
    await c.close();
  }
}

function singularValues(d: Float64Array, rows: number, cols: number): number[] {
  return new SingularValueDecomposition(Matrix.from1DArray(rows, cols, Array.from(d)), {
    autoTranspose: true,
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
  }).diagonal;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lora-extract-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("extractLora on Llama-layout checkpoints", () => {
  for (const dtype of ["F32", "BF16"] as const) {
    it(`writes a PEFT adapter whose B·A meets the Eckart–Young error (${dtype})`, async () => {
      const shapes = llamaShapes(false);
      const { base, tuned } = models(1, shapes);
      const baseDir = join(dir, `base-${dtype}`);
      const tunedDir = join(dir, `tuned-${dtype}`);
      await write(baseDir, base, shapes, dtype);
      await write(tunedDir, tuned, shapes, dtype);
      const out = join(dir, `adapter-${dtype}`);
      const progress: number[] = [];
      const rank = 8;
      const result = await extractLora({
        model: tunedDir,
        base: baseDir,
        out,
        rank,
        onProgress: (e) => progress.push(e.done),
      });
      expect((await readdir(out)).sort()).toEqual([
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
      ]);
      expect(progress.at(-1)).toBe(result.modules.length);
      expect(result.ignored).toEqual(["model.rotary_emb.inv_freq"]);

      // The config PEFT reads: LoraConfig fields, mergekit's conventions (lora_alpha = r → scaling 1).
      const config = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8"));
      expect(config).toEqual({
        base_model_name_or_path: baseDir,
        peft_type: "LORA",
        task_type: "CAUSAL_LM",
        r: rank,
        lora_alpha: rank,
        rank_pattern: {},
        alpha_pattern: {},
        target_modules: ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"],
        modules_to_save: ["embed_tokens", "input_layernorm", "lm_head", "norm", "post_attention_layernorm"],
        lora_dropout: 0,
        fan_in_fan_out: false,
        use_rslora: false,
        inference_mode: true,
      });

      const adapter = await openSafetensors(join(out, "adapter_model.safetensors"));
      try {
        expect(adapter.metadata).toEqual({ format: "pt" });
        const names = new Set(adapter.names());
        expect(names.size).toBe(LAYERS * 7 * 2 + 2 + LAYERS * 2 + 1);
        // Full-rank modules are the fine-tuned tensors, bit for bit.
        for (const t of [
          "model.embed_tokens.weight",
          "lm_head.weight",
          "model.norm.weight",
          "model.layers.1.input_layernorm.weight",
        ]) {
          const got = await adapter.read(`base_model.model.${t}`);
          expect(got.dtype).toBe(dtype);
          expect(Array.from(got.toFloat32())).toEqual(Array.from(await stored(tunedDir, t)));
        }
        for (const [name, shape] of shapes) {
          if (shape.length !== 2 || name.includes("embed") || name.includes("lm_head")) continue;
          const module = name.slice(0, -".weight".length);
          const a = await adapter.read(`base_model.model.${module}.lora_A.weight`);
          const b = await adapter.read(`base_model.model.${module}.lora_B.weight`);
          const [rows, cols] = shape;
          expect([a.dtype, [...a.shape], b.dtype, [...b.shape]]).toEqual([
            dtype,
            [rank, cols],
            dtype,
            [rows, rank],
          ]);
          // Δ as stored, and what PEFT adds: scaling · B·A with scaling = lora_alpha / r = 1.
          const w0 = await stored(baseDir, name);
          const w1 = await stored(tunedDir, name);
          const delta = Float64Array.from(w1, (v, k) => v - w0[k]);
          const af = a.toFloat32();
          const bf = b.toFloat32();
          let err = 0;
          let norm = 0;
          for (let i = 0; i < rows; i++) {
            for (let j = 0; j < cols; j++) {
              let s = 0;
              for (let c = 0; c < rank; c++) s += bf[i * rank + c] * af[c * cols + j];
              err += (delta[i * cols + j] - s) ** 2;
              norm += delta[i * cols + j] ** 2;
            }
          }
          const sigma = singularValues(delta, rows, cols);
          const optimal = sigma.slice(rank).reduce((s, x) => s + x * x, 0);
          const report = result.modules.find((m) => m.name === module);
          expect(report?.rank).toBe(rank);
          if (name.includes("self_attn") && dtype === "F32") {
            // A rank-4 change: recovered up to the float32 rounding of the stored weights (the optimum).
            expect(Math.sqrt(err / norm), name).toBeLessThan(1e-4);
            expect(Math.sqrt(err / optimal), name).toBeLessThan(1.01);
          } else if (dtype === "F32") {
            // Full-rank change: within 1 % of the optimal rank-8 error, and the reported error is it.
            expect(Math.sqrt(err / optimal), name).toBeLessThan(1.01);
            expect(Math.sqrt(err / optimal), name).toBeGreaterThan(0.999);
            expect(report?.relativeError).toBeCloseTo(Math.sqrt(err / norm), 4);
          } else {
            // BF16 factors round A and B to 8 bits: the error stays close to the optimum's.
            expect(Math.sqrt(err / Math.max(optimal, 1e-3 * norm)), name).toBeLessThan(1.5);
          }
        }
      } finally {
        await adapter.close();
      }
    });
  }

  it("svEpsilon lowers ranks (rank_pattern), embedLora decomposes embeddings, biases become lora_B.bias", async () => {
    const shapes = llamaShapes(true);
    const { base, tuned } = models(2, shapes);
    const baseDir = join(dir, "base-bias");
    const tunedDir = join(dir, "tuned-bias");
    await write(baseDir, base, shapes, "F32");
    await write(tunedDir, tuned, shapes, "F32");
    const out = join(dir, "adapter-bias");
    // The attention changes have 4 singular values well above 1e-5; the MLP ones many more.
    const result = await extractLora({
      model: tunedDir,
      base: baseDir,
      out,
      rank: 16,
      svEpsilon: 2e-4,
      embedLora: true,
    });
    const config = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8"));
    expect(config.lora_bias).toBe(true);
    expect(config.target_modules).toContain("embed_tokens");
    expect(config.target_modules).toContain("lm_head");
    expect(config.modules_to_save).toEqual(["input_layernorm", "norm", "post_attention_layernorm"]);
    const q = result.modules.find((m) => m.name === "model.layers.0.self_attn.q_proj");
    expect(q?.rank).toBe(4);
    expect(config.rank_pattern["model.layers.0.self_attn.q_proj"]).toBe(4);
    expect(config.alpha_pattern).toEqual(config.rank_pattern);
    for (const [m, r] of Object.entries(config.rank_pattern)) {
      expect(result.modules.find((x) => x.name === m)?.rank).toBe(r);
      expect(r).toBeLessThan(config.r);
    }
    const adapter = await openSafetensors(join(out, "adapter_model.safetensors"));
    try {
      const bias = await adapter.read("base_model.model.model.layers.1.self_attn.k_proj.lora_B.bias");
      const b0 = base.get("model.layers.1.self_attn.k_proj.bias") as Float32Array;
      const b1 = tuned.get("model.layers.1.self_attn.k_proj.bias") as Float32Array;
      expect(Array.from(bias.toFloat32())).toEqual(Array.from(b1, (v, k) => Math.fround(v - b0[k])));
      // Embedding factors in PEFT's layout: A [r, vocab], B [dim, r], (B·A)ᵀ ≈ ΔW.
      const ea = await adapter.read("base_model.model.model.embed_tokens.lora_embedding_A");
      const eb = await adapter.read("base_model.model.model.embed_tokens.lora_embedding_B");
      const r = ea.shape[0];
      expect([...ea.shape]).toEqual([r, VOCAB]);
      expect([...eb.shape]).toEqual([HIDDEN, r]);
      const e = result.modules.find((m) => m.name === "model.embed_tokens");
      expect(e?.kind).toBe("embedding");
      const w0 = base.get("model.embed_tokens.weight") as Float32Array;
      const w1 = tuned.get("model.embed_tokens.weight") as Float32Array;
      const af = ea.toFloat32();
      const bf = eb.toFloat32();
      let err = 0;
      let norm = 0;
      for (let v = 0; v < VOCAB; v++) {
        for (let h = 0; h < HIDDEN; h++) {
          let s = 0;
          for (let c = 0; c < r; c++) s += bf[h * r + c] * af[c * VOCAB + v];
          const d = w1[v * HIDDEN + h] - w0[v * HIDDEN + h];
          err += (d - s) ** 2;
          norm += d * d;
        }
      }
      expect(Math.sqrt(err / norm)).toBeCloseTo(e?.relativeError ?? -1, 4);
    } finally {
      await adapter.close();
    }
  });

  it("refuses mismatched shapes, missing base tensors, a bad rank and a non-empty output; leaves nothing behind", async () => {
    const shapes = llamaShapes(false);
    const { base, tuned } = models(3, shapes);
    const baseDir = join(dir, "base-err");
    const tunedDir = join(dir, "tuned-err");
    await write(tunedDir, tuned, shapes, "F32");
    const fewer = new Map(shapes);
    fewer.delete("model.layers.1.mlp.up_proj.weight");
    const baseFewer = new Map(base);
    baseFewer.delete("model.layers.1.mlp.up_proj.weight");
    await write(baseDir, baseFewer, fewer, "F32");
    const out = join(dir, "adapter-err");
    await expect(extractLora({ model: tunedDir, base: baseDir, out })).rejects.toThrow(
      /base-err: tensor 'model.layers.1.mlp.up_proj.weight' is missing from the base model/,
    );
    await expect(extractLora({ model: tunedDir, base: tunedDir, out, rank: 0 })).rejects.toBeInstanceOf(
      LoraExtractionError,
    );
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
    expect((await readdir(dir)).filter((n) => n.includes("partial"))).toEqual([]);
    // Identical models: zero factors of mergekit's rank; with svEpsilon nothing is kept → rank 1
    // (PEFT refuses rank 0).
    const zero = await extractLora({ model: tunedDir, base: tunedDir, out, rank: 4 });
    expect(zero.rank).toBe(4);
    expect(
      zero.modules.filter((m) => m.kind === "lora").every((m) => m.rank === 4 && m.deltaNorm === 0),
    ).toBe(true);
    const kept = await extractLora({
      model: tunedDir,
      base: tunedDir,
      out,
      rank: 4,
      svEpsilon: 1e-9,
      overwrite: true,
    });
    expect(kept.rank).toBe(1);
    await expect(extractLora({ model: tunedDir, base: tunedDir, out })).rejects.toThrow(/not empty/);
    await expect(
      extractLora({ model: tunedDir, base: baseDir, out: tunedDir, overwrite: true }),
    ).rejects.toThrow(/would overwrite the input/);
  });

  it("reads PyTorch .bin checkpoints as inputs", async () => {
    const fixtures = join(
      import.meta.dirname,
      "..",
      "..",
      "..",
      "..",
      "tensor-core",
      "test",
      "fixtures",
      "pytorch",
    );
    const out = join(dir, "adapter-bin");
    const result = await extractLora({
      model: join(fixtures, "module.bin"),
      base: join(fixtures, "sharded"),
      out,
      rank: 2,
    });
    // Same weights in both (the shards hold clones): zero changes. Without a transformers module class,
    // "embed" is not a known embedding name: a 2-D weight, so a linear layer here.
    expect(result.modules.map((m) => [m.name, m.kind, m.rank])).toEqual([
      ["embed", "lora", 2],
      ["norm", "full", 0],
      ["head", "lora", 2],
    ]);
  });
});
