import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isPytorchCheckpoint } from "../src/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tc-pt-detect-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("isPytorchCheckpoint", () => {
  it("knows PyTorch files by name, existing or not", () => {
    for (const f of ["m.bin", "m.pt", "m.pth", "pytorch_model.bin.index.json"])
      expect(isPytorchCheckpoint(join(dir, f))).toBe(true);
    for (const f of ["m.safetensors", "model.safetensors.index.json", "m.json", "absent"])
      expect(isPytorchCheckpoint(join(dir, f))).toBe(false);
  });

  it("a directory is PyTorch when it holds .bin files and no safetensors", () => {
    const pt = join(dir, "pt");
    mkdirSync(pt);
    writeFileSync(join(pt, "pytorch_model.bin"), "");
    writeFileSync(join(pt, "config.json"), "{}");
    expect(isPytorchCheckpoint(pt)).toBe(true);
    writeFileSync(join(pt, "model.safetensors"), "");
    expect(isPytorchCheckpoint(pt)).toBe(false);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    expect(isPytorchCheckpoint(empty)).toBe(false);
  });
});
