// Fuzzing the PyTorch reader: random byte mutations and truncations of real checkpoints must either
// read or fail with a PytorchError (never hang, crash with a TypeError / RangeError, or run anything).

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPytorchFile, PytorchError } from "../../src/index.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "pytorch");
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "pytorch-fuzz-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Opens and reads every tensor; returns "ok" or the error's class name. */
async function readAll(path: string): Promise<string> {
  try {
    const f = await openPytorchFile(path);
    try {
      for (const n of f.names()) await f.readBytes(n);
    } finally {
      await f.close();
    }
    return "ok";
  } catch (err) {
    if (err instanceof PytorchError) return err.name;
    throw err;
  }
}

describe("PyTorch reader under corrupted input", () => {
  for (const file of ["state-dict.bin", "legacy.bin", "module.bin"]) {
    it(`${file}: mutated bytes and truncations give data or a PytorchError`, async () => {
      const original = await readFile(join(FIXTURES, file));
      const path = join(tmp, file);
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          fc.option(fc.nat({ max: original.length }), { nil: undefined }),
          async (mutations, cut) => {
            const bytes = Uint8Array.from(original);
            for (const [at, v] of mutations) bytes[at] = v;
            await writeFile(path, cut === undefined ? bytes : bytes.subarray(0, cut));
            expect(["ok", "PytorchError", "UnsafePickleError"]).toContain(await readAll(path));
            n++;
          },
        ),
        { numRuns: 300, seed: 42 },
      );
      expect(n).toBe(300);
    });
  }
});
