import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergeCheckpoints, parseMergeConfig } from "@x/merging";
import { openCheckpoint, Rng, Tensor, writeShardedSafetensors } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../src/main.js";

let root: string;
const SHAPES: Record<string, number[]> = {
  "model.embed_tokens.weight": [6, 4],
  "model.layers.0.mlp.up_proj.weight": [8, 4],
  "model.layers.1.mlp.up_proj.weight": [8, 4],
  "model.norm.weight": [4],
};

async function writeModel(
  dir: string,
  rng: Rng,
  from?: Record<string, Float32Array>,
  dtype: "F32" | "BF16" = "F32",
) {
  await mkdir(dir, { recursive: true });
  const data: Record<string, Float32Array> = {};
  for (const [n, s] of Object.entries(SHAPES)) {
    const len = s.reduce((a, b) => a * b, 1);
    data[n] = Float32Array.from({ length: len }, (_, k) =>
      from ? from[n]![k]! + 0.05 * rng.normal() : rng.normal(),
    );
  }
  await writeShardedSafetensors(
    dir,
    Object.entries(SHAPES).map(([name, shape]) => ({ name, dtype, shape })),
    Object.entries(data).map(([n, d]) => [n, Tensor.fromFloat32(dtype, SHAPES[n]!, d)] as const),
    { maxShardSize: 100 },
  );
  await writeFile(join(dir, "config.json"), '{"model_type":"llama"}');
  await writeFile(join(dir, "tokenizer_config.json"), "{}");
  return data;
}

async function readAll(dir: string): Promise<Record<string, Float32Array>> {
  const ck = await openCheckpoint(dir);
  const out: Record<string, Float32Array> = {};
  for (const n of ck.names()) out[n] = await ck.fileOf(n).readFloat32(n);
  await ck.close();
  return out;
}

/** Runs `x ...` and captures what it printed to stderr through console.error. */
async function x(...argv: string[]): Promise<{ code: number; errors: string[] }> {
  const errors: string[] = [];
  const spy = vi
    .spyOn(console, "error")
    .mockImplementation((...a: unknown[]) => void errors.push(a.join(" ")));
  const log = vi.spyOn(console, "log").mockImplementation(() => {});
  try {
    return { code: await main(argv), errors };
  } finally {
    spy.mockRestore();
    log.mockRestore();
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-cli-merge-"));
  const rng = new Rng(5);
  const base = await writeModel(join(root, "base"), rng, undefined, "BF16");
  await writeModel(join(root, "a"), rng, base, "BF16");
  await writeModel(join(root, "b"), rng, base, "BF16");
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe("x merge", () => {
  it("merges from a YAML config into a sharded Hugging Face directory", async () => {
    const cfgPath = join(root, "ta.yml");
    await writeFile(
      cfgPath,
      `merge_method: task_arithmetic\nbase_model: ${root}/base\nmodels:\n  - model: ${root}/a\n    parameters: {weight: 0.5}\n  - model: ${root}/b\n    parameters: {weight: 0.5}\nout_dtype: float32\n`,
    );
    const out = join(root, "out-yaml");
    const r = await x(
      "merge",
      cfgPath,
      out,
      "--out-shard-size",
      "200",
      "--seed",
      "1",
      "--threads",
      "2",
      "--quiet",
    );
    expect(r).toEqual({ code: 0, errors: [] });
    const files = await readdir(out);
    expect(files).toContain("model.safetensors.index.json");
    expect(files).toContain("config.json");
    expect(files).toContain("tokenizer_config.json");
    expect(files).toContain("mergekit_config.yml");
    // Same result as the programmatic API with the same config.
    const api = join(root, "out-yaml-api");
    await mergeCheckpoints(parseMergeConfig(await readFile(cfgPath, "utf8")), api, { seed: 1 });
    expect(await readAll(out)).toEqual(await readAll(api));
  });

  it("quick form: --method pcb --base --models --out --ratio --lambda", async () => {
    const out = join(root, "out-pcb");
    const r = await x(
      "merge",
      "--method",
      "pcb",
      "--base",
      join(root, "base"),
      "--models",
      join(root, "a"),
      join(root, "b"),
      "--out",
      out,
      "--ratio",
      "0.3",
      "--lambda",
      "1.5",
      "--quiet",
    );
    expect(r).toEqual({ code: 0, errors: [] });
    const api = join(root, "out-pcb-api");
    await mergeCheckpoints(
      parseMergeConfig(
        `merge_method: pcb\nbase_model: ${root}/base\nmodels: [{model: ${root}/a}, {model: ${root}/b}]\nparameters: {ratio: 0.3, lambda: 1.5}\n`,
      ),
      api,
    );
    const got = await readAll(out);
    expect(got).toEqual(await readAll(api));
    const base = await readAll(join(root, "base"));
    expect(got["model.norm.weight"]).not.toEqual(base["model.norm.weight"]);
  });

  it("says why PCB streaming-global does not take its fast path (a memory_budget too small), and still merges", async () => {
    const cfgPath = join(root, "pcb-budget.yml");
    await writeFile(
      cfgPath,
      `merge_method: pcb\nbase_model: ${root}/base\nmodels: [{model: ${root}/a}, {model: ${root}/b}]\nparameters: {mode: streaming-global, memory_budget: 1000}\n`,
    );
    const out = join(root, "out-pcb-budget");
    const r = await x("merge", cfgPath, out, "--quiet");
    expect(r.code).toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(
      /^note: pcb fast path: needs ≈ .* memory_budget is 0\.0 MB; taking the general path/,
    );
    const ref = join(root, "out-pcb-budget-ref");
    await mergeCheckpoints(
      parseMergeConfig(
        `merge_method: pcb\nbase_model: ${root}/base\nmodels: [{model: ${root}/a}, {model: ${root}/b}]\nparameters: {mode: reference}\n`,
      ),
      ref,
    );
    expect(await readAll(out)).toEqual(await readAll(ref));
  });

  it("prints progress (tensors and bytes) unless --quiet", async () => {
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    let code: number;
    try {
      code = await main([
        "merge",
        "--method",
        "task_arithmetic",
        "--base",
        join(root, "base"),
        "--models",
        join(root, "a"),
        "--out",
        join(root, "out-progress"),
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    expect(chunks.join("")).toMatch(/merge \[#+\] \d+B\/\d+B 100% .* 4\/4 tensors/);
  });

  it("exits non-zero with a one-line reason", async () => {
    const missing = await x("merge", join(root, "nope.yml"), join(root, "o1"));
    expect(missing.code).toBe(2);
    expect(missing.errors[0]).toMatch(/^x merge: cannot read config .*nope\.yml/);

    const bad = join(root, "bad.yml");
    await writeFile(bad, `merge_method: linear\nmodels: [{model: ${root}/a}]\nweights: 1\n`);
    const unknown = await x("merge", bad, join(root, "o2"));
    expect(unknown.code).toBe(1);
    expect(unknown.errors).toHaveLength(1);
    expect(unknown.errors[0]).toMatch(/^x merge: MergeConfigError: .*bad\.yml: unknown key 'weights'/);
    expect(unknown.errors[0]!.includes("\n")).toBe(false);

    const method = await x(
      "merge",
      "--method",
      "nosuch",
      "--models",
      join(root, "a"),
      "--out",
      join(root, "o3"),
    );
    expect(method.code).toBe(1);
    expect(method.errors[0]).toMatch(/unknown merge method 'nosuch'/);

    const usage = await x("merge", "--method", "pcb", "--models", join(root, "a"));
    expect(usage.code).toBe(2);
    expect(usage.errors[0]).toMatch(/needs --out/);
    for (const o of ["o1", "o2", "o3"]) expect(existsSync(join(root, o))).toBe(false);
  });
});
