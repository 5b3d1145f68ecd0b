// Merges killed at random moments: kill -9 of a child `node` process running `mergeCheckpoints` from
// the built package, for task arithmetic and PCB streaming-global (fast path), at least 20 trials
// each. After every kill: no half-written output (the output is absent, or complete and
// byte-identical to an uninterrupted run); the next run (same output, overwrite) removes what the
// killed one left, leaves no temporaries or lock behind, and writes the same bytes. SIGINT and SIGTERM
// during a merge clean up at once. The counts are printed and asserted.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listTemporariesSync, lockPathOf } from "../../src/io/output-guard.js";
import { fineTune, randomModel, withDtype, writeModelDir } from "../pipeline/fixtures.js";

const DIST = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const TRIALS = Number(process.env.X_RELIABILITY_TRIALS ?? 20);

let root: string;
let script: string;

/** Every file of a directory by name, with its bytes. */
async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of (await readdir(dir)).sort()) out.set(f, await readFile(join(dir, f)));
  return out;
}

function same(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (!b.get(k)?.equals(v)) return false;
  return true;
}

interface Run {
  child: ChildProcess;
  /** Resolves when the child printed "start" (inputs about to be opened). */
  started: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function runMerge(config: string, out: string): Run {
  const child = spawn(process.execPath, [script, config, out], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const started = new Promise<void>((resolve) => {
    child.stdout!.on("data", (d) => {
      if (String(d).includes("start")) resolve();
    });
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, started, exited };
}

/** Runs a merge to the end; returns the time from its start-up to its exit (the merge itself). */
async function completeRun(config: string, out: string): Promise<number> {
  const r = runMerge(config, out);
  await r.started;
  const t0 = performance.now();
  const res = await r.exited;
  if (res.code !== 0) throw new Error(`merge failed (${res.code}): ${res.stderr}`);
  return performance.now() - t0;
}

beforeAll(async () => {
  if (!existsSync(DIST))
    throw new Error(`reliability tests run the built package: ${DIST} is missing (pnpm build)`);
  root = await mkdtemp(join(tmpdir(), "x-kill-merge-"));
  script = join(root, "merge.mjs");
  await writeFile(
    script,
    [
      `import { readFileSync } from "node:fs";`,
      `import { mergeCheckpoints, parseMergeConfig } from ${JSON.stringify(DIST)};`,
      `const [cfg, out] = process.argv.slice(2);`,
      `const config = parseMergeConfig(readFileSync(cfg, "utf8"));`,
      `process.stdout.write("start\\n");`,
      `await mergeCheckpoints(config, out, { overwrite: true, outShardSize: 4e6, onNotice: (m) => process.stderr.write("note: " + m + "\\n") });`,
      `process.stdout.write("done\\n");`,
    ].join("\n"),
  );
  // A base and three fine-tunes, BF16, ≈ 2.6 M parameters: several output shards of 4 MB.
  const shapes: Record<string, number[]> = { "model.embed_tokens.weight": [4000, 128] };
  for (let l = 0; l < 8; l++) {
    shapes[`model.layers.${l}.mlp.up_proj.weight`] = [512, 256];
    shapes[`model.layers.${l}.mlp.down_proj.weight`] = [256, 512];
    shapes[`model.layers.${l}.input_layernorm.weight`] = [256];
  }
  const rng = new Rng(31);
  const base = randomModel(rng, shapes);
  await writeModelDir(join(root, "base"), withDtype(base, "BF16"));
  for (let i = 0; i < 3; i++)
    await writeModelDir(join(root, `ft${i}`), withDtype(fineTune(rng, base), "BF16"));
  const models = [0, 1, 2].map((i) => `  - model: ${join(root, `ft${i}`)}`).join("\n");
  await writeFile(
    join(root, "ta.yml"),
    `merge_method: task_arithmetic\nbase_model: ${join(root, "base")}\nmodels:\n${models}\nparameters: { lambda: 0.4 }\n`,
  );
  await writeFile(
    join(root, "pcb.yml"),
    `merge_method: pcb\nbase_model: ${join(root, "base")}\nmodels:\n${models}\nparameters: { mode: streaming-global, ratio: 0.1, threads: 2 }\n`,
  );
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("merges killed at random moments", () => {
  for (const method of ["ta", "pcb"] as const) {
    it(`${method === "ta" ? "task_arithmetic" : "pcb streaming-global"}: kill -9 leaves no half-written output, the next run cleans up and writes the same bytes`, async () => {
      const config = join(root, `${method}.yml`);
      const refOut = join(root, `${method}-reference`);
      const full = await completeRun(config, refOut);
      const reference = await snapshot(refOut);
      const rng = new Rng(`kill-${method}`);
      const counts = {
        trials: 0,
        halfWritten: 0,
        completeBeforeKill: 0,
        leftoversAfterKill: 0,
        leftoversAfterNextRun: 0,
        nextRunDiffers: 0,
      };
      for (let t = 0; t < TRIALS; t++) {
        const out = join(root, `${method}-out-${t}`);
        const run = runMerge(config, out);
        await run.started;
        // Anywhere from right after start-up to a little past the end of an uninterrupted merge.
        await new Promise((r) => setTimeout(r, rng.uniform() * 1.1 * full));
        run.child.kill("SIGKILL");
        await run.exited;
        counts.trials++;
        if (existsSync(out)) {
          if (same(await snapshot(out), reference)) counts.completeBeforeKill++;
          else counts.halfWritten++;
        }
        if (listTemporariesSync(out).length > 0 || existsSync(lockPathOf(out))) counts.leftoversAfterKill++;
        await completeRun(config, out);
        counts.leftoversAfterNextRun +=
          listTemporariesSync(out).length + (existsSync(lockPathOf(out)) ? 1 : 0);
        if (!same(await snapshot(out), reference)) counts.nextRunDiffers++;
      }
      console.log(
        `kill -9 during ${method} merges: ${JSON.stringify(counts)} (uninterrupted run ${full.toFixed(0)} ms)`,
      );
      expect(counts.trials).toBeGreaterThanOrEqual(20);
      expect(counts.halfWritten).toBe(0);
      expect(counts.leftoversAfterNextRun).toBe(0);
      expect(counts.nextRunDiffers).toBe(0);
      await Promise.all(
        Array.from({ length: TRIALS }, (_, t) =>
          rm(join(root, `${method}-out-${t}`), { recursive: true, force: true }),
        ),
      );
    }, 900_000);
  }

  it("SIGINT and SIGTERM during a merge remove its temporaries and lock at once", async () => {
    const config = join(root, "pcb.yml");
    const full = await completeRun(config, join(root, "sig-reference"));
    let interrupted = 0;
    for (const [t, signal] of (
      ["SIGINT", "SIGTERM", "SIGINT", "SIGTERM", "SIGINT", "SIGTERM"] as const
    ).entries()) {
      const out = join(root, `sig-out-${t}`);
      const run = runMerge(config, out);
      await run.started;
      // Wait until the merge is writing (its temporary exists), then interrupt it.
      const t0 = performance.now();
      while (listTemporariesSync(out).length === 0 && performance.now() - t0 < 5 * full)
        await new Promise((r) => setTimeout(r, 2));
      run.child.kill(signal);
      const res = await run.exited;
      if (res.signal === signal) interrupted++;
      expect(listTemporariesSync(out)).toEqual([]);
      expect(existsSync(lockPathOf(out))).toBe(false);
      // Either the signal ended it (nothing written) or the merge had already finished (complete output).
      if (res.signal === signal) expect(existsSync(out)).toBe(false);
    }
    console.log(
      `SIGINT / SIGTERM: ${interrupted} of 6 merges interrupted mid-write, 0 temporaries or locks left`,
    );
    expect(interrupted).toBeGreaterThan(0);
  }, 300_000);
});
