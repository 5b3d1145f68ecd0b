import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CheckpointError,
  constant,
  DifferentialEvolution,
  DirectoryRunStore,
  ScheduledControl,
} from "../../src/index.js";

const pkgDir = fileURLToPath(new URL("../..", import.meta.url));
const fixture = fileURLToPath(new URL("../fixtures/resumable-run.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "evolution-resume-"));

beforeAll(() => {
  // The child process runs the built JavaScript; make sure it matches the sources under test.
  execFileSync("npx", ["tsc", "-b", pkgDir], { cwd: pkgDir, stdio: "inherit" });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface RunOutput {
  code: number | null;
  signal: NodeJS.Signals | null;
  result: { digest: string; fitness: number[]; history: unknown[] } | null;
  resumedAt: number | null;
}

/** Kill `delayMs` after the `count`-th (default first) stdout line starting with `after` ("started", "progress"). */
interface KillPlan {
  after: string;
  delayMs: number;
  count?: number;
}

function runChild(args: string[], kill?: KillPlan): Promise<RunOutput> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [fixture, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (
        kill &&
        timer === undefined &&
        out.split("\n").filter((l) => l.startsWith(kill.after)).length >= (kill.count ?? 1)
      ) {
        timer = setTimeout(() => child.kill("SIGKILL"), kill.delayMs);
      }
    });
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      const at = /resuming-at (\d+)/.exec(out);
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${err}`));
      else
        resolve({
          code,
          signal,
          result: line ? JSON.parse(line.slice(7)) : null,
          resumedAt: at ? Number(at[1]) : null,
        });
    });
  });
}

describe.each(["de-sync", "de-async", "de-async-lookahead", "evolver-a", "evolver-b", "cmaes"])(
  "kill and resume: %s",
  (mode) => {
    it("a run SIGKILLed at random moments and resumed ends bit-identical to an uninterrupted run", async () => {
      const reference = await runChild([mode, "-", "fresh", "2"]);
      expect(reference.result).not.toBeNull();
      const dir = join(tmp, mode);
      const rng = new Rng(`kills-${mode}`);
      let kills = 0;
      let final: RunOutput | null = null;
      const resumedAt: number[] = [];
      for (let attempt = 0; attempt < 12; attempt++) {
        // First kill at a random moment after start-up (possibly before the first checkpoint); the second at a
        // random moment after the resumed run has finished a generation (mid-run, maybe mid-write); the third
        // once the resumed run has finished two generations, so that however slow the machine is, a checkpoint
        // past the resume point exists and the last resume really starts mid-run.
        const kill: KillPlan | undefined =
          attempt === 0
            ? { after: "started", delayMs: rng.int(200) }
            : attempt === 1
              ? { after: "progress", delayMs: rng.int(40) }
              : attempt === 2
                ? { after: "progress", delayMs: rng.int(40), count: 2 }
                : undefined;
        const r = await runChild([mode, dir, attempt === 0 ? "fresh" : "resume", "2"], kill);
        if (r.resumedAt !== null) resumedAt.push(r.resumedAt);
        if (r.signal === "SIGKILL") {
          kills++;
          continue;
        }
        final = r;
        break;
      }
      expect(kills).toBeGreaterThanOrEqual(2);
      // at least one resume really continued from the middle of the run
      expect(resumedAt.some((g) => g > 0)).toBe(true);
      expect(final?.result).not.toBeNull();
      expect(final!.result!.digest).toBe(reference.result!.digest);
      expect(final!.result!.fitness).toEqual(reference.result!.fitness);
      expect(final!.result!.history).toEqual(reference.result!.history);
    });
  },
);

describe("DirectoryRunStore", () => {
  const negSphere = (g: Float32Array): number => -g.reduce((a, v) => a + v * v, 0);
  const init = () => {
    const r = new Rng(1);
    return Array.from({ length: 5 }, () => r.fillUniform(new Float32Array(8), -1, 1) as Float32Array);
  };
  const de = (dir: string, seed: number, resume: boolean) =>
    new DifferentialEvolution({
      strategy: "rand/1",
      crossover: { kind: "binomial", forceJRand: true },
      control: new ScheduledControl(constant(0.5), constant(0.5)),
      generations: 4,
      seed,
      store: new DirectoryRunStore(dir, { fsync: false }),
      resume,
    });

  it("refuses to resume a checkpoint written by a different configuration", async () => {
    const dir = join(tmp, "mismatch");
    await de(dir, 1, false).run(init(), negSphere);
    await expect(de(dir, 2, true).run(init(), negSphere)).rejects.toThrow(CheckpointError);
  });

  it("resuming a finished run returns the same result without evaluating", async () => {
    const dir = join(tmp, "finished");
    const a = await de(dir, 3, false).run(init(), negSphere);
    let calls = 0;
    const b = await de(dir, 3, true).run(init(), (g) => {
      calls++;
      return negSphere(g);
    });
    expect(calls).toBe(0);
    expect(b.population.genomes()).toEqual(a.population.genomes());
    expect(Array.from(b.fitness)).toEqual(Array.from(a.fitness));
  });
});
