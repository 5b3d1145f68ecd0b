import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint, Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FixtureModel,
  fineTune,
  HIDDEN,
  llamaShapes,
  randomModel,
  storedValues,
  withDtype,
  writeModelDir,
} from "./fixtures.js";
import {
  getMethod,
  type MergeConfig,
  MergeInputError,
  type MergeMethod,
  type MergeProgressEvent,
  type MergeWarning,
  mergeCheckpoints,
  parseMergeConfig,
  pcbMerge,
  resolveParams,
  sortKeysForTest,
  tensorRng,
} from "./helpers.js";

let root: string;
let base: FixtureModel;
let ft: FixtureModel[];
const dirs: Record<string, string> = {};

async function readAll(
  dir: string,
): Promise<Record<string, { dtype: string; shape: number[]; data: Float32Array }>> {
  const ck = await openCheckpoint(dir);
  const out: Record<string, { dtype: string; shape: number[]; data: Float32Array }> = {};
  for (const n of ck.names()) {
    const info = ck.info(n)!;
    out[n] = { dtype: info.dtype, shape: [...info.shape], data: await ck.fileOf(n).readFloat32(n) };
  }
  await ck.close();
  return out;
}

/** The in-memory per-tensor method on the same (decoded) inputs: what the pipeline must reproduce. */
function expectedTensor(
  method: MergeMethod,
  name: string,
  shape: number[],
  baseData: Float32Array | undefined,
  models: Float32Array[],
  global: Record<string, unknown>,
  perModel: Record<string, unknown>[],
  seed = 0,
): Float32Array {
  const { params, modelParams } = resolveParams(method, global, perModel);
  return method.mergeTensor({
    name,
    shape,
    base: baseData,
    models,
    modelParams,
    params,
    rng: tensorRng(seed, name),
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-merge-e2e-"));
  const rng = new Rng(2024);
  base = randomModel(rng);
  ft = [fineTune(rng, base), fineTune(rng, base), fineTune(rng, base)];
  dirs.base = await writeModelDir(join(root, "base"), base, {
    files: {
      "config.json": '{"architectures":["LlamaForCausalLM"]}',
      "tokenizer.json": '{"v":1}',
      "generation_config.json": "{}",
      "README.md": "base card",
    },
  });
  for (let i = 0; i < ft.length; i++) dirs[`ft${i}`] = await writeModelDir(join(root, `ft${i}`), ft[i]!);
  // Sharded BF16 copies of everything.
  dirs.baseBf16 = await writeModelDir(join(root, "base-bf16"), withDtype(base, "BF16"), {
    maxShardSize: 600,
  });
  for (let i = 0; i < ft.length; i++) {
    dirs[`ft${i}Bf16`] = await writeModelDir(join(root, `ft${i}-bf16`), withDtype(ft[i]!, "BF16"), {
      maxShardSize: 900,
    });
  }
});

afterAll(() => rm(root, { recursive: true, force: true }));

function cfg(yaml: string): MergeConfig {
  return parseMergeConfig(yaml.replaceAll("$ROOT", root));
}

describe("mergeCheckpoints end to end", () => {
  it("task_arithmetic on F32 directories equals the in-memory method, with HF layout and tagalong files", async () => {
    const out = join(root, "out-ta");
    const config = cfg(`
merge_method: task_arithmetic
base_model: $ROOT/base
models:
  - model: $ROOT/ft0
    parameters: { weight: 0.7 }
  - model: $ROOT/ft1
    parameters: { weight: [{ filter: mlp, value: 0.2 }, { value: 0.4 }] }
  - model: $ROOT/ft2
    parameters: { weight: [0.0, 1.0] }
parameters: { lambda: 0.9 }
`);
    const events: MergeProgressEvent[] = [];
    const res = await mergeCheckpoints(config, out, { onProgress: (e) => events.push(e) });
    expect(res.scope).toBe("tensor");
    expect(res.warnings).toEqual([]);
    const files = (await readdir(out)).sort();
    expect(files).toEqual(
      [
        "README.md",
        "config.json",
        "generation_config.json",
        "mergekit_config.yml",
        "model.safetensors",
        "tokenizer.json",
      ].sort(),
    );
    expect(await readFile(join(out, "config.json"), "utf8")).toBe('{"architectures":["LlamaForCausalLM"]}');
    expect(await readFile(join(out, "README.md"), "utf8")).toContain("task_arithmetic");
    expect(parseMergeConfig(await readFile(join(out, "mergekit_config.yml"), "utf8"))).toEqual(config);
    const ck = await openCheckpoint(out);
    expect(ck.metadata).toMatchObject({ format: "pt", merge_config_sha256: res.configHash });
    await ck.close();

    const merged = await readAll(out);
    const method = getMethod("task_arithmetic");
    const shapes = llamaShapes();
    expect(Object.keys(merged).sort()).toEqual(Object.keys(shapes).sort());
    for (const [name, shape] of Object.entries(shapes)) {
      const layer = /layers\.(\d+)\./.exec(name);
      const t = layer ? Number(layer[1]) / 2 : 0;
      const w1 = name.includes("mlp") ? 0.2 : 0.4;
      const want = expectedTensor(
        method,
        name,
        shape,
        base[name]!.data,
        ft.map((m) => m[name]!.data),
        { lambda: 0.9 },
        [{ weight: 0.7 }, { weight: w1 }, { weight: t }],
      );
      expect(merged[name]!.dtype).toBe("F32");
      expect(merged[name]!.data).toEqual(want);
    }
    // Progress: one merge phase, monotone, ends at the totals.
    expect(events.every((e) => e.phase === "merge")).toBe(true);
    expect(events.at(-1)!.tensorsDone).toBe(Object.keys(shapes).length);
    expect(events.at(-1)!.bytesDone).toBe(events.at(-1)!.bytesTotal);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.bytesDone).toBeGreaterThan(events[i - 1]!.bytesDone);
  });

  it("merges sharded BF16 inputs into sharded BF16 output (default out dtype = base dtype)", async () => {
    const out = join(root, "out-bf16");
    const config = cfg(`
merge_method: ties
base_model: $ROOT/base-bf16
models:
  - model: $ROOT/ft0-bf16
    parameters: { weight: 1.0, density: 0.5 }
  - model: $ROOT/ft1-bf16
    parameters: { weight: 0.5, density: 0.7 }
`);
    await mergeCheckpoints(config, out, { outShardSize: 700 });
    const files = (await readdir(out)).filter((f) => f.includes("safetensors")).sort();
    expect(files.length).toBeGreaterThan(2);
    expect(files).toContain("model.safetensors.index.json");
    expect(files[0]).toMatch(/^model-00001-of-000\d\d\.safetensors$/);
    const index = JSON.parse(await readFile(join(out, "model.safetensors.index.json"), "utf8"));
    expect(index.metadata.total_size).toBeGreaterThan(0);
    const merged = await readAll(out);
    const method = getMethod("ties");
    for (const [name, shape] of Object.entries(llamaShapes())) {
      const dec = (m: FixtureModel) => storedValues({ ...m[name]!, dtype: "BF16" });
      const want = expectedTensor(method, name, shape, dec(base), [dec(ft[0]!), dec(ft[1]!)], {}, [
        { weight: 1.0, density: 0.5 },
        { weight: 0.5, density: 0.7 },
      ]);
      expect(merged[name]!.dtype).toBe("BF16");
      expect(merged[name]!.data).toEqual(storedValues({ shape, data: want, dtype: "BF16" }));
    }
  });

  it("dtype casts inputs on load and out_dtype sets the saved dtype (mergekit semantics)", async () => {
    const out = join(root, "out-dtype");
    const config = cfg(`
merge_method: linear
models:
  - model: $ROOT/ft0
    parameters: { weight: 1 }
  - model: $ROOT/ft1
    parameters: { weight: 3 }
dtype: bfloat16
out_dtype: float16
`);
    await mergeCheckpoints(config, out);
    const merged = await readAll(out);
    const method = getMethod("linear");
    for (const [name, shape] of Object.entries(llamaShapes())) {
      const bf = (m: FixtureModel) => storedValues({ ...m[name]!, dtype: "BF16" });
      const raw = expectedTensor(method, name, shape, undefined, [bf(ft[0]!), bf(ft[1]!)], {}, [
        { weight: 1 },
        { weight: 3 },
      ]);
      // The result is in the compute dtype (bf16), then saved as f16.
      const want = storedValues({
        shape,
        data: storedValues({ shape, data: raw, dtype: "BF16" }),
        dtype: "F16",
      });
      expect(merged[name]!.dtype).toBe("F16");
      expect(merged[name]!.data).toEqual(want);
    }
  });

  it("PCB reference and streaming-global through the pipeline equal pcbMerge on the flattened model", async () => {
    const names = sortKeysForTest(Object.keys(base));
    const flat = (m: FixtureModel) => {
      const parts = names.map((n) => m[n]!.data);
      const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    };
    const b = flat(base);
    const tasks = ft.map((m) => Float32Array.from(flat(m), (v, k) => v - b[k]!));
    const tau = pcbMerge(tasks, { ratio: 0.2, lambdas: [1, 1.2, 0.8] });
    const outs: Record<string, Awaited<ReturnType<typeof readAll>>> = {};
    for (const mode of ["reference", "streaming-global"]) {
      const out = join(root, `out-pcb-${mode}`);
      const events: MergeProgressEvent[] = [];
      const res = await mergeCheckpoints(
        cfg(`
merge_method: pcb
base_model: $ROOT/base
models:
  - model: $ROOT/ft0
  - model: $ROOT/ft1
    parameters: { weight: 1.2 }
  - model: $ROOT/ft2
    parameters: { weight: 0.8 }
parameters: { ratio: 0.2, mode: ${mode}, lambda: 1.0 }
`),
        out,
        { onProgress: (e) => events.push(e) },
      );
      expect(res.scope).toBe("global");
      expect(events.some((e) => e.phase === "pass")).toBe(true);
      outs[mode] = await readAll(out);
    }
    let o = 0;
    for (const n of names) {
      const len = base[n]!.data.length;
      const want = Float32Array.from(base[n]!.data, (v, k) => v + tau[o + k]!);
      o += len;
      expect(outs.reference![n]!.data).toEqual(want);
      expect(outs["streaming-global"]![n]!.data).toEqual(want);
    }
  });
});

describe("name and shape mismatches", () => {
  let big: FixtureModel;
  let small: FixtureModel;
  beforeAll(async () => {
    const rng = new Rng(9);
    // More vocabulary rows (added tokens) in one model, fewer in another.
    big = fineTune(rng, randomModel(rng, llamaShapes(12)));
    small = fineTune(rng, randomModel(rng, llamaShapes(9)));
    for (const m of [big, small]) {
      for (const n of Object.keys(m)) {
        if (!n.includes("embed_tokens") && !n.includes("lm_head")) m[n] = { ...ft[0]![n]! };
      }
    }
    const skewed = fineTune(rng, base);
    skewed["model.layers.1.self_attn.q_proj.weight"] = {
      shape: [HIDDEN, 4],
      data: new Float32Array(HIDDEN * 4),
    };
    delete skewed["model.layers.2.input_layernorm.weight"];
    skewed["model.extra_head.weight"] = { shape: [2], data: new Float32Array(2) };
    await writeModelDir(join(root, "big-vocab"), big);
    await writeModelDir(join(root, "small-vocab"), small);
    await writeModelDir(join(root, "skewed"), skewed);
  });

  it("embeddings with a vocabulary mismatch use the top-left common submatrix", async () => {
    const out = join(root, "out-vocab");
    const warnings: MergeWarning[] = [];
    await mergeCheckpoints(
      cfg(`
merge_method: task_arithmetic
base_model: $ROOT/base
models:
  - model: $ROOT/big-vocab
  - model: $ROOT/small-vocab
`),
      out,
      { onWarning: (w) => warnings.push(w) },
    );
    expect(
      warnings
        .filter((w) => w.kind === "submatrix")
        .map((w) => w.tensor)
        .sort(),
    ).toEqual(["lm_head.weight", "lm_head.weight", "model.embed_tokens.weight", "model.embed_tokens.weight"]);
    const merged = await readAll(out);
    for (const name of ["model.embed_tokens.weight", "lm_head.weight"]) {
      const got = merged[name]!;
      expect(got.shape).toEqual([10, HIDDEN]);
      for (let r = 0; r < 10; r++) {
        for (let c = 0; c < HIDDEN; c++) {
          const k = r * HIDDEN + c;
          const b = base[name]!.data[k]!;
          // Rows 0..8 are merged from both models; row 9 only exists in the base and the big model → base kept.
          const want =
            r < 9
              ? Math.fround(
                  Math.fround(Math.fround(big[name]!.data[k]! - b) + Math.fround(small[name]!.data[k]! - b)) +
                    b,
                )
              : b;
          expect(got.data[k]).toBeCloseTo(want, 5);
        }
      }
    }
    // Non-embedding tensors are merged normally.
    expect(merged["model.norm.weight"]!.shape).toEqual([HIDDEN]);
  });

  it("skips a model on other shape mismatches and missing tensors with warnings, or fails under strict", async () => {
    const config = cfg(`
merge_method: task_arithmetic
base_model: $ROOT/base
models:
  - model: $ROOT/ft0
  - model: $ROOT/skewed
`);
    const warnings: MergeWarning[] = [];
    const out = join(root, "out-skewed");
    await mergeCheckpoints(config, out, { onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => `${w.kind}:${w.tensor}`).sort()).toEqual([
      "extra:model.extra_head.weight",
      "missing:model.layers.2.input_layernorm.weight",
      "shape:model.layers.1.self_attn.q_proj.weight",
    ]);
    expect(warnings.every((w) => w.message.includes("skewed") || w.kind !== "shape")).toBe(true);
    const merged = await readAll(out);
    expect(merged["model.extra_head.weight"]).toBeUndefined();
    // The skipped tensor is the merge of the remaining model only: base + (ft0 − base).
    const name = "model.layers.1.self_attn.q_proj.weight";
    const want = expectedTensor(
      getMethod("task_arithmetic"),
      name,
      [HIDDEN, HIDDEN],
      base[name]!.data,
      [ft[0]![name]!.data],
      {},
      [{}],
    );
    expect(merged[name]!.data).toEqual(want);

    const strictOut = join(root, "out-skewed-strict");
    await expect(mergeCheckpoints(config, strictOut, { strict: true })).rejects.toThrow(MergeInputError);
    await expect(mergeCheckpoints(config, strictOut, { strict: true })).rejects.toThrow(/skewed.*--strict/);
    expect(existsSync(strictOut)).toBe(false);
  });
});

describe("output handling", () => {
  const failing: MergeMethod = {
    ...getMethod("task_arithmetic"),
    name: "failing",
    mergeTensor(input) {
      if (input.name.includes("layers.2")) throw new Error("boom in layer 2");
      return getMethod("task_arithmetic").mergeTensor(input);
    },
  };

  it("leaves nothing behind when a merge fails half-way (atomic output)", async () => {
    const out = join(root, "atomic", "model");
    const config = cfg(`
merge_method: task_arithmetic
base_model: $ROOT/base
models: [{ model: $ROOT/ft0 }]
`);
    await expect(mergeCheckpoints(config, out, { method: failing })).rejects.toThrow(/boom in layer 2/);
    expect(existsSync(out)).toBe(false);
    expect(await readdir(join(root, "atomic"))).toEqual([]);
  });

  it("refuses a non-empty output directory unless overwrite, then replaces it", async () => {
    const out = join(root, "occupied");
    await writeModelDir(
      out,
      { x: { shape: [1], data: new Float32Array(1) } },
      { files: { "keep.txt": "old" } },
    );
    const config = cfg(`
merge_method: task_arithmetic
base_model: $ROOT/base
models: [{ model: $ROOT/ft0 }]
`);
    await expect(mergeCheckpoints(config, out)).rejects.toThrow(/not empty/);
    expect(await readFile(join(out, "keep.txt"), "utf8")).toBe("old");
    await mergeCheckpoints(config, out, { overwrite: true });
    expect(existsSync(join(out, "keep.txt"))).toBe(false);
    expect(Object.keys(await readAll(out)).length).toBe(Object.keys(base).length);
  });

  it("copies non-float tensors unchanged and accepts single safetensors files as inputs", async () => {
    const rng = new Rng(3);
    const withIds: FixtureModel = {
      ...base,
      "model.position_ids": { shape: [4], data: Float32Array.of(0, 1, 2, 3), dtype: "I64" },
    };
    const b = await writeModelDir(join(root, "with-ids"), withIds);
    const m = await writeModelDir(join(root, "with-ids-ft"), {
      ...fineTune(rng, base),
      "model.position_ids": withIds["model.position_ids"]!,
    });
    const out = join(root, "out-ids");
    await mergeCheckpoints(
      parseMergeConfig(`
merge_method: task_arithmetic
base_model: ${b}
models: [{ model: ${join(m, "model.safetensors")} }]
`),
      out,
    );
    const merged = await readAll(out);
    expect(merged["model.position_ids"]!.dtype).toBe("I64");
    expect(Array.from(merged["model.position_ids"]!.data)).toEqual([0, 1, 2, 3]);
  });

  it("seeds randomized methods per tensor (same seed, same output) and copies config and tokenizer from the base", async () => {
    const yaml = `
merge_method: dare_ties
base_model: $ROOT/base
models:
  - model: $ROOT/ft0
    parameters: { weight: 1, density: 0.5 }
  - model: $ROOT/ft1
    parameters: { weight: 1, density: 0.5 }
`;
    await mergeCheckpoints(cfg(yaml), join(root, "dare-a"), { seed: 1 });
    await mergeCheckpoints(cfg(yaml), join(root, "dare-b"), { seed: 1 });
    await mergeCheckpoints(cfg(yaml), join(root, "dare-c"), { seed: 2 });
    const [a, b, c] = await Promise.all(["dare-a", "dare-b", "dare-c"].map((d) => readAll(join(root, d))));
    expect(a).toEqual(b);
    expect(a["model.layers.0.mlp.up_proj.weight"]!.data).not.toEqual(
      c["model.layers.0.mlp.up_proj.weight"]!.data,
    );
    // The pipeline's seeded per-tensor draw is the method's own tensorRng(seed, name).
    const name = "model.layers.1.self_attn.q_proj.weight";
    const want = expectedTensor(
      getMethod("dare_ties"),
      name,
      [HIDDEN, HIDDEN],
      base[name]!.data,
      [ft[0]![name]!.data, ft[1]![name]!.data],
      {},
      [
        { weight: 1, density: 0.5 },
        { weight: 1, density: 0.5 },
      ],
      1,
    );
    expect(a[name]!.data).toEqual(want);
    // Config and tokenizer copied from the base (tokenizer_source builds a tokenizer: test/tokenizer/).
    expect(await readFile(join(root, "dare-a", "config.json"), "utf8")).toBe(
      '{"architectures":["LlamaForCausalLM"]}',
    );
    expect(await readFile(join(root, "dare-a", "tokenizer.json"), "utf8")).toBe(
      await readFile(join(root, "base", "tokenizer.json"), "utf8"),
    );
  });

  it("names a missing model path and unknown method parameters", async () => {
    await expect(
      mergeCheckpoints(cfg("merge_method: linear\nmodels: [{ model: $ROOT/nope }]\n"), join(root, "x1")),
    ).rejects.toThrow(/model '.*nope' not found/);
    await expect(
      mergeCheckpoints(
        cfg(
          "merge_method: task_arithmetic\nbase_model: $ROOT/base\nmodels: [{model: $ROOT/ft0}]\nparameters: {lamda: 1}\n",
        ),
        join(root, "x2"),
      ),
    ).rejects.toThrow(/lamda/);
    expect(existsSync(join(root, "x1"))).toBe(false);
  });
});
