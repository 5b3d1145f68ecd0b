// Runs the built `x` binary as a user would: piped (spawn), or on a terminal (`script` gives it a pty).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng, Tensor, writeShardedSafetensors } from "@x/tensor-core";
import { afterAll } from "vitest";

export const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
/** The binary must be built (`pnpm build`; `pnpm test` builds first). */
export const built = existsSync(BIN);

export interface Run {
  code: number;
  out: string;
  err: string;
}

const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;

/** `x ...args` with stdout and stderr piped (not a terminal). */
export function x(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** `x ...args` on a pseudo-terminal; stdout and stderr arrive together in `out`. */
export function xTty(args: readonly string[], opts: { cwd?: string } = {}): Run {
  const env = { ...process.env, COLUMNS: "120" };
  delete env.CI; // CI=true turns bars into plain lines even on a terminal
  const cmd = [process.execPath, BIN, ...args].map(quote).join(" ");
  const r = spawnSync("script", ["-qec", cmd, "/dev/null"], {
    cwd: opts.cwd,
    env,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, out: r.stdout.replaceAll("\r\n", "\n"), err: r.stderr };
}

/** A temporary directory for the test file, removed afterwards. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const SHAPES: Record<string, number[]> = {
  "model.embed_tokens.weight": [6, 4],
  "model.layers.0.mlp.up_proj.weight": [8, 4],
  "model.layers.1.mlp.up_proj.weight": [8, 4],
  "model.norm.weight": [4],
};

/** A small Hugging Face style model directory (sharded F32 safetensors, config, tokenizer config). */
export async function writeModel(dir: string, seed: number, from?: Record<string, Float32Array>) {
  const rng = new Rng(seed);
  mkdirSync(dir, { recursive: true });
  const data: Record<string, Float32Array> = {};
  for (const [n, s] of Object.entries(SHAPES)) {
    const len = s.reduce((a, b) => a * b, 1);
    data[n] = Float32Array.from({ length: len }, (_, k) =>
      from ? from[n]![k]! + 0.05 * rng.normal() : rng.normal(),
    );
  }
  await writeShardedSafetensors(
    dir,
    Object.entries(SHAPES).map(([name, shape]) => ({ name, dtype: "F32" as const, shape })),
    Object.entries(data).map(([n, d]) => [n, Tensor.fromFloat32("F32", SHAPES[n]!, d)] as const),
    { maxShardSize: 100 },
  );
  writeFileSync(join(dir, "config.json"), '{"model_type":"llama"}');
  writeFileSync(join(dir, "tokenizer_config.json"), "{}");
  return data;
}

/** A base model and `n` fine-tuned variants of it under `root`. */
export async function writeModels(root: string, n: number): Promise<{ base: string; models: string[] }> {
  const baseData = await writeModel(join(root, "base"), 1);
  const models: string[] = [];
  for (let i = 0; i < n; i++) {
    await writeModel(join(root, `m${i}`), 10 + i, baseData);
    models.push(join(root, `m${i}`));
  }
  return { base: join(root, "base"), models };
}

/** The lines of an error output that are not empty. */
export const lines = (s: string) => s.split("\n").filter((l) => l.trim() !== "");
