// A signal handler removes the merge's temporary directory while the merge's own writes may still be in flight on
// other threads. A file created inside during the removal must not leave the directory behind (it did: rmSync's
// ENOTEMPTY was swallowed by the best-effort cleanup and `.OUT.partial-*` stayed, seen once in CI).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { removeTemporarySync } from "../../src/io/output-guard.js";

const root = mkdtempSync(join(tmpdir(), "x-merge-rmtemp-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Creates files in `dir` as fast as it can until the directory is gone (then the create fails with ENOENT).
const WRITER = `
const { writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { workerData, parentPort } = require("node:worker_threads");
parentPort.postMessage("started");
let i = 0;
for (;;) {
  try { writeFileSync(join(workerData, "f" + i++), "x"); } catch (e) { parentPort.postMessage(e.code); break; }
}`;

describe("removeTemporarySync", () => {
  it("removes a directory while another thread keeps creating files in it", async () => {
    for (let trial = 0; trial < 10; trial++) {
      const dir = join(root, `.out.partial-${process.pid}-0000000${trial}`);
      mkdirSync(dir);
      const w = new Worker(WRITER, { eval: true, workerData: dir });
      const messages: string[] = [];
      const ended = new Promise<void>((resolve) => {
        w.on("message", (m: string) => {
          messages.push(m);
          if (m !== "started") resolve();
        });
      });
      while (messages.length === 0) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setTimeout(r, 5)); // let it fill the directory
      removeTemporarySync(dir);
      await ended;
      await w.terminate();
      expect(messages.at(-1)).toBe("ENOENT");
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(`${dir}.removing`)).toBe(false);
    }
  });
});
