// An interrupt handler may run at any point where the merge awaits. If the temp directory is still being created
// on libuv's threads then, the handler's cleanup finds nothing and the directory appears after it (seen once in
// CI: SIGINT during a merge left `.OUT.partial-*`). The child below runs the cleanups exactly there, as the
// signal handler would, without exiting, then lists what is left. Loads the built module, as the CLI does.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const dist = fileURLToPath(new URL("../../dist/io/output-dir.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "x-merge-staged-race-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// One libuv thread, kept busy from the moment create() registers its cleanup, so that any file operation create()
// starts after that waits in the queue until the cleanups have run: what would be a microsecond race is certain.
const CHILD = `
import { pbkdf2 } from "node:crypto";
const [dist, out] = process.argv.slice(1);
const { StagedOutput } = await import(dist);
process.on("newListener", (event) => {
  if (event !== "exit") return;
  pbkdf2("x", "y", 100000, 32, "sha256", () => setTimeout(() => process.exit(0), 50));
  // create() registers its cleanup, then yields: run the cleanups there, as SIGINT would.
  queueMicrotask(() => process.emit("exit", 0));
});
StagedOutput.create(out, false).catch(() => {});
`;

// The merge's output writer then creates its directory inside the temporary (mkdir -p): run the cleanups while
// that is queued, as SIGTERM did in CI (the directory came back after the handler had removed it).
const tensorCore = fileURLToPath(new URL("../../../tensor-core/dist/index.js", import.meta.url));
const WRITER_CHILD = `
import { pbkdf2 } from "node:crypto";
import { existsSync } from "node:fs";
const [dist, tensorCore, out] = process.argv.slice(1);
const { StagedOutput } = await import(dist);
const { ShardedSafetensorsWriter } = await import(tensorCore);
const staged = await StagedOutput.create(out, false);
pbkdf2("x", "y", 100000, 32, "sha256", () =>
  setTimeout(() => {
    console.log(existsSync(staged.dir) ? "left" : "gone");
    process.exit(0);
  }, 50),
);
ShardedSafetensorsWriter.create(staged.dir, [{ name: "w", dtype: "F32", shape: [2] }]).catch(() => {});
queueMicrotask(() => process.emit("exit", 0));
`;

describe.skipIf(!existsSync(dist))("StagedOutput under an interrupt", () => {
  it("leaves no temp directory when the interrupt comes while the output writer sets up inside it", () => {
    for (let trial = 0; trial < 3; trial++) {
      const out = join(root, `writer${trial}`);
      const r = spawnSync(
        process.execPath,
        ["--input-type=module", "-e", WRITER_CHILD, dist, tensorCore, out],
        {
          encoding: "utf8",
          env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
        },
      );
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("gone");
      expect(readdirSync(root).filter((e) => e.startsWith(`.writer${trial}.`))).toEqual([]);
    }
  });

  it("leaves no temp directory when the interrupt comes while create() awaits", () => {
    for (let trial = 0; trial < 5; trial++) {
      const out = join(root, `out${trial}`);
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", CHILD, dist, out], {
        encoding: "utf8",
        env: { ...process.env, UV_THREADPOOL_SIZE: "1" },
      });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(readdirSync(root).filter((e) => e.startsWith(`.out${trial}.`))).toEqual([]);
    }
  });
});
