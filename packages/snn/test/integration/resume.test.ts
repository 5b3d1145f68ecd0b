import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const pkgDir = fileURLToPath(new URL("../..", import.meta.url));
const fixture = fileURLToPath(new URL("../fixtures/resume-run.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "snn-resume-"));

beforeAll(() => {
  // the child process runs the built JavaScript: build it from the sources under test
  execFileSync("npx", ["tsc", "-b", pkgDir], { cwd: pkgDir, stdio: "inherit" });
}, 300_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the fixture; with `killAfter`, SIGKILLs it after that many progress lines. */
function run(
  mode: string,
  dir: string,
  killAfter?: number,
): Promise<{ result: string | null; killed: boolean; progress: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, mode, dir], {
      cwd: pkgDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let killed = false;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const n = out.split("\n").filter((l) => l.startsWith("progress")).length;
      if (killAfter !== undefined && !killed && n >= killAfter) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("result "));
      if (!killed && code !== 0) reject(new Error(`fixture exited with ${code}: ${err}`));
      else
        resolve({
          result: line ? line.slice(7) : null,
          killed,
          progress: out.split("\n").filter((l) => l.startsWith("progress")).length,
        });
    });
  });
}

describe.each(["train", "cade"])("%s: kill -9 then resume gives the identical result", (mode) => {
  it("matches an uninterrupted run", async () => {
    const ref = await run(mode, join(tmp, `${mode}-ref`));
    expect(ref.result).not.toBeNull();
    const dir = join(tmp, `${mode}-killed`);
    const first = await run(mode, dir, mode === "train" ? 17 : 5);
    expect(first.killed).toBe(true);
    expect(first.result).toBeNull();
    const second = await run(mode, dir, mode === "train" ? 9 : undefined);
    const third = mode === "train" ? await run(mode, dir) : second;
    expect(third.result?.split(" ")[0]).toBe(ref.result?.split(" ")[0]);
    expect(third.result?.split(" ").slice(1)).toEqual(
      mode === "train" ? ["true"] : ref.result?.split(" ").slice(1),
    );
    // no temporary files of the killed processes remain next to the checkpoint
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  }, 600_000);
});
