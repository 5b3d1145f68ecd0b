// The README's JavaScript examples run as written (against the built package, as a user would import it).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, redisAvailable } from "./redis-server.js";

const pkgDir = fileURLToPath(new URL("../..", import.meta.url));
const blocks = [...readFileSync(join(pkgDir, "README.md"), "utf8").matchAll(/```js\n([\s\S]*?)```/g)].map(
  (m) => m[1],
);
// inside the package, so that `@x/evolution` resolves to this package's build (self-reference)
const scratch = join(pkgDir, `.readme-test-${process.pid}`);
const tmp = mkdtempSync(join(tmpdir(), "evolution-readme-"));

function runExample(i: number, env: Record<string, string> = {}): string {
  const file = join(scratch, `example-${i}.mjs`);
  writeFileSync(file, blocks[i]);
  return execFileSync(process.execPath, [file], {
    cwd: scratch,
    env: { ...process.env, TMPDIR: tmp, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
}

beforeAll(() => {
  execFileSync("npx", ["tsc", "-b", pkgDir], { cwd: pkgDir, stdio: "inherit" });
  mkdirSync(scratch, { recursive: true });
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

describe("README examples", () => {
  it("has the two examples", () => {
    expect(blocks.length).toBe(2);
  });

  it("the main example runs (CADE, Evolver, CMA-ES)", () => {
    const out = runExample(0);
    expect(out).toMatch(/CADE best -?\d/);
    expect(out).toMatch(/Evolver\+mean dev -?\d/);
    expect(out).toMatch(/CMA-ES \d/);
  });

  it.skipIf(!redisAvailable())(
    "the distributed example runs against a real redis-server and matches the local run",
    async () => {
      const redis = await RedisServer.start();
      try {
        const out = runExample(1, { X_REDIS_URL: redis.url() });
        expect(out).toContain("identical: true");
        expect(out).toContain("run-joined");
      } finally {
        await redis.dispose();
      }
    },
  );
});
