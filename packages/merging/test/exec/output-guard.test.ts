// The output directory: never an input (is, contains or lies inside one, even with overwrite), checked
// before any pass, locked while written (a second merge fails, a dead process's lock is taken over),
// and temporaries of killed merges removed by the next one. (On main before this change an output
// inside an input was written, two merges raced, PCB found a non-empty output only after its passes,
// and `.OUT.partial-*` of killed merges stayed for good.)

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type MergeProgressEvent,
  mergeCheckpoints,
  OutputDirError,
  OutputLockedError,
  parseMergeConfig,
} from "../../src/index.js";
import {
  acquireOutputLock,
  checkOutputDir,
  listTemporariesSync,
  lockPathOf,
  OWNER_FILE,
} from "../../src/io/output-guard.js";
import { fineTune, randomModel, writeModelDir } from "../pipeline/fixtures.js";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-output-guard-"));
  const rng = new Rng(8);
  const base = randomModel(rng);
  await writeModelDir(join(root, "base"), base);
  await writeModelDir(join(root, "ft0"), fineTune(rng, base));
  await writeModelDir(join(root, "ft1"), fineTune(rng, base));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const config = (method = "task_arithmetic", params = "") =>
  parseMergeConfig(
    `merge_method: ${method}\nbase_model: ${root}/base\nmodels: [{model: ${root}/ft0}, {model: ${root}/ft1}]\n${params ? `parameters: { ${params} }\n` : ""}`,
  );

/** A process that has exited: its pid is free (and not reused this quickly in practice). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  const pid = child.pid!;
  await new Promise((r) => child.on("exit", r));
  return pid;
}

describe("output directory guards", () => {
  it("refuses an output that is, contains or lies inside an input, even with overwrite", async () => {
    const before = await readdir(join(root, "ft0"));
    for (const [out, how] of [
      [join(root, "ft0"), "is"],
      [join(root, "ft0", "merged"), "lies inside"],
      [root, "contains"],
    ] as const) {
      for (const overwrite of [false, true]) {
        const err = await mergeCheckpoints(config(), out, { overwrite }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OutputDirError);
        expect((err as Error).message).toMatch(new RegExp(`output directory .* ${how} the input`));
      }
    }
    expect(await readdir(join(root, "ft0"))).toEqual(before);
    // The check is exported for the CLI; symlinks to an input count as the input.
    await expect(checkOutputDir(join(root, "ft1"), { inputs: [join(root, "ft1")] })).rejects.toThrow(
      /is the input/,
    );
    await expect(
      checkOutputDir(join(root, "fresh"), { inputs: [join(root, "ft1")] }),
    ).resolves.toBeUndefined();
  });

  it("checks the output before PCB's first statistics pass", async () => {
    const out = join(root, "occupied");
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "keep.txt"), "old");
    const events: MergeProgressEvent[] = [];
    for (const mode of ["streaming-global", "reference"]) {
      await expect(
        mergeCheckpoints(config("pcb", `mode: ${mode}, fast_path: false`), out, {
          onProgress: (e) => events.push(e),
        }),
      ).rejects.toThrow(/not empty/);
    }
    expect(events).toEqual([]);
    expect(await readFile(join(out, "keep.txt"), "utf8")).toBe("old");
  });

  it("locks the output: a second merge to it fails naming the first; a dead process's lock is taken over", async () => {
    const out = join(root, "locked", "model");
    const lock = await acquireOutputLock(out);
    try {
      const err = await mergeCheckpoints(config(), out).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutputLockedError);
      expect((err as Error).message).toMatch(
        new RegExp(`is being written by another merge \\(pid ${process.pid} on ${hostname()}, started .*\\)`),
      );
    } finally {
      await lock.release();
    }
    expect(existsSync(lockPathOf(out))).toBe(false);
    // Two merges at once to the same output: exactly one writes it.
    const results = await Promise.allSettled([
      mergeCheckpoints(config(), out),
      mergeCheckpoints(config(), out),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    // The loser either found it locked, or found it written (not empty) once the winner had finished.
    expect(String(lost.reason)).toMatch(/being written by another merge|not empty/);
    // A lock left by a process that died: taken over, and said so.
    const stale = join(root, "stale-lock", "model");
    const pid = await deadPid();
    await mkdir(join(root, "stale-lock"), { recursive: true });
    await writeFile(
      lockPathOf(stale),
      JSON.stringify({ pid, host: hostname(), started: "2020-01-01T00:00:00.000Z", token: "x" }),
    );
    const notices: string[] = [];
    await mergeCheckpoints(config(), stale, { onNotice: (m) => notices.push(m) });
    expect(notices).toContain(
      `took over the stale lock of output ${stale}: process ${pid} (started 2020-01-01T00:00:00.000Z) is gone`,
    );
    expect(existsSync(lockPathOf(stale))).toBe(false);
    // Another host's lock cannot be judged from here: refused.
    const remote = join(root, "remote-lock", "model");
    await mkdir(join(root, "remote-lock"), { recursive: true });
    await writeFile(lockPathOf(remote), JSON.stringify({ pid, host: "elsewhere", started: "x", token: "y" }));
    await expect(mergeCheckpoints(config(), remote)).rejects.toBeInstanceOf(OutputLockedError);
  });

  it("removes the temporaries of killed merges to the same output and says so", async () => {
    const out = join(root, "stale-temp", "model");
    const parent = join(root, "stale-temp");
    const pid = await deadPid();
    const dead = join(parent, `.model.partial-${pid}-0a1b2c3d`);
    await mkdir(dead, { recursive: true });
    await writeFile(join(dead, OWNER_FILE), JSON.stringify({ pid, host: hostname() }));
    await writeFile(join(dead, "model.safetensors.tmp"), Buffer.alloc(1 << 16));
    // A live process's temporary (this one's pid, as if another merge of this process ran) and an
    // unrelated output's temporary are left alone.
    const live = join(parent, `.model.partial-${process.pid}-ffffffff`);
    const other = join(parent, `.other.partial-${pid}-00000000`);
    await mkdir(live);
    await mkdir(other);
    const notices: string[] = [];
    await mergeCheckpoints(config(), out, { onNotice: (m) => notices.push(m) });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(notices).toContain(`removed 1 temporary that killed merges to ${out} left behind: ${dead}`);
    await rm(live, { recursive: true });
    expect(listTemporariesSync(out)).toEqual([]);
  });
});
