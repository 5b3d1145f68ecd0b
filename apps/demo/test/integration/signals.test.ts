// `x demo` stops on Ctrl-C: a process serving with stopOnSignals exits 0 on SIGINT and SIGTERM and
// frees its port. Runs the built library (dist/), as the CLI will.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const DIST = fileURLToPath(new URL("../../dist/index.js", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "x-demo-signals-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
writeFileSync(join(tmp, "index.html"), "<!doctype html><title>demo</title>");
writeFileSync(join(tmp, "a.json"), "{}");

describe("serveDemo with stopOnSignals", () => {
  it.each(["SIGINT", "SIGTERM"] as const)("stops on %s, exits 0 and frees the port", async (signal) => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`pnpm build\` first`);
    const script = `import { serveDemo } from ${JSON.stringify(DIST)};
      const s = await serveDemo({ dataDir: ${JSON.stringify(tmp)}, appDir: ${JSON.stringify(tmp)}, stopOnSignals: true, log: (l) => console.error(l) });
      console.log(s.url);
      await s.closed;
      console.log("closed");`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        const m = /^(http:\S+)\n/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once("exit", () => reject(new Error(`exited early: ${err}`)));
    });
    expect((await fetch(`${url}data/index.json`)).status).toBe(200);
    const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill(signal);
    expect(await exit).toBe(0);
    expect(out).toContain("closed");
    expect(err).toContain(`${signal}: stopping the demo server`);
    await expect(fetch(url)).rejects.toThrow();
  });
});
