// Runs the built `x` binary as a user would: piped (spawn), or on a terminal (`script` gives it a pty).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng, Tensor, writeShardedSafetensors } from "@x/tensor-core";
import { afterAll } from "vitest";
import { writeTinyModel } from "../../../../packages/merging/test/evolve/fixtures/population.js";

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
  const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: "120" };
  delete env.CI; // CI=true turns bars into plain lines even on a terminal
  // `exec`: the shell of `script -c` steps aside, so a Ctrl-C typed on the terminal reaches x alone (a shell
  // still waiting could die of that SIGINT itself and turn x's exit 0 into 130).
  const cmd = `exec ${[process.execPath, BIN, ...args].map(quote).join(" ")}`;
  const r = spawnSync("script", ["-qec", cmd, "/dev/null"], {
    cwd: opts.cwd,
    env,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, out: r.stdout.replaceAll("\r\n", "\n"), err: r.stderr };
}

/** `x grid simulate` with every bus metered and 0.1 %-class |V| meters, then `extra` (quiet). */
export const simulateGrid = (
  feeder: string,
  samples: number,
  seed: number,
  out: string,
  extra: string[] = [],
) =>
  x([
    "grid",
    "simulate",
    "--feeder",
    feeder,
    "--samples",
    String(samples),
    "--noise",
    "0.1%",
    "--meters",
    "all",
    "--seed",
    String(seed),
    ...extra,
    "--out",
    out,
    "-q",
  ]);

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

/** `x ...args` piped, without blocking the test's event loop (for runs that talk to other processes). */
export function xAsync(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("close", (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/**
 * A running `x` process, piped or on a pseudo-terminal (`script`; typing into `stdin` reaches it as a user's
 * keys, so "\x03" is a Ctrl-C from the terminal). `output` collects stdout (and, on a terminal, stderr).
 */
export class XProcess {
  readonly child: ChildProcess;
  output = "";
  errors = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[], opts: { tty?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: "120", ...opts.env };
    if (opts.tty) {
      delete env.CI;
      // `exec`: the shell of `script -c` steps aside, so a Ctrl-C typed on the terminal reaches x alone (a shell
      // still waiting could die of that SIGINT itself and turn x's exit 0 into 130).
      const cmd = `exec ${[process.execPath, BIN, ...args].map(quote).join(" ")}`;
      this.child = spawn("script", ["-qec", cmd, "/dev/null"], { cwd: opts.cwd, env, stdio: "pipe" });
    } else this.child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env, stdio: "pipe" });
    this.child.stdout!.on("data", (d: Buffer) => {
      this.output += d.toString();
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.errors += d.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.on("close", (code, signal) => resolve({ code, signal })),
    );
  }

  /**
   * Waits until stdout (`from: "errors"`: stderr) matches `re` (or the process exits, or `timeoutMs` passes:
   * then it throws).
   */
  async waitFor(re: RegExp, timeoutMs = 60_000, from: "output" | "errors" = "output"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this[from])) {
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no ${re} in the output of x:\n${this.output}\n${this.errors}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** A signal to the x process itself (piped mode). */
  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Keys typed on the terminal (tty mode). */
  type(text: string): void {
    this.child.stdin!.write(text);
  }
}

/** The evaluator fixture of @x/merging's evolve tests (one copy): prints -Σ(w − 0.5)² of a tiny model. */
export const SCORER = fileURLToPath(
  new URL("../../../../packages/merging/test/evolve/fixtures/score-model.mjs", import.meta.url),
);

/** A tiny model directory (the one of @x/merging's evolve tests: layer.weight [3, 4], layer.bias [3] around 0.5). */
export const tinyModel = writeTinyModel;

/** An evolve playground in `dir`: base/, e0/..e2/ and `config(name, body)` writing a YAML with the evaluator. */
export async function evolvePlayground(dir: string): Promise<{
  config(name: string, body: string, evaluator?: string): string;
}> {
  await tinyModel(join(dir, "base"), 100, 0.5);
  for (let i = 0; i < 3; i++) await tinyModel(join(dir, `e${i}`), i, 0.4);
  return {
    config(name, body, evaluator = JSON.stringify([process.execPath, SCORER, "{model}"])) {
      const p = join(dir, name);
      writeFileSync(p, `${body.trimEnd()}\nevaluator:\n  command: ${evaluator}\n`);
      return p;
    },
  };
}

/** A shell command that scores like SCORER after sleeping `seconds` (for timeouts and interrupts). */
export const slowScorer = (seconds: number) =>
  JSON.stringify(`sleep ${seconds}; ${process.execPath} ${SCORER} {model}`);
