import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatCheckpointDescription, inspectCheckpoint, saveSafetensors, Tensor } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "tc-inspect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("inspectCheckpoint", () => {
  it("describes a safetensors file's tensors, sizes and metadata, and formats them", async () => {
    const file = join(dir, "model.safetensors");
    await saveSafetensors(
      file,
      {
        "a.weight": new Tensor("F32", [2, 3], new Float32Array(6)),
        b: new Tensor("F16", [4], new Uint16Array(4)),
      },
      { metadata: { format: "pt" } },
    );
    const d = await inspectCheckpoint(file);
    expect(d).toMatchObject({ path: file, format: "safetensors", files: [file], metadata: { format: "pt" } });
    expect(d.indexMetadata).toBeNull();
    expect(d.totalBytes).toBe(24 + 8);
    expect(d.tensors.map((t) => [t.name, t.dtype, t.shape, t.bytes])).toEqual([
      ["a.weight", "F32", [2, 3], 24],
      ["b", "F16", [4], 8],
    ]);
    const text = formatCheckpointDescription(d).split("\n");
    expect(text).toEqual([
      file,
      "  format:   safetensors",
      "  files:    1",
      "  tensors:  2 (1 F32, 1 F16), 32B of data",
      '  metadata: {"format":"pt"}',
      "  a.weight  F32    [2, 3]  24B",
      "  b         F16    [4]  8B",
    ]);
  });
});
