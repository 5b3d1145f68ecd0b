import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCheckpoint, Tensor, writeShardedSafetensors } from "../src/index.js";
import { syncDirectory } from "../src/safetensors/sync-dir.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x-durable-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("durable writes", () => {
  it("syncs an existing directory and reports a missing one", async () => {
    await expect(syncDirectory(dir)).resolves.toBeUndefined();
    await expect(syncDirectory(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a durable sharded write leaves exactly the final files, readable", async () => {
    const out = join(dir, "sharded");
    const specs = Array.from({ length: 5 }, (_, i) => ({
      name: `t${i}`,
      dtype: "F32" as const,
      shape: [25],
    }));
    const value = (i: number) =>
      Tensor.fromNumbers(
        "F32",
        [25],
        Array.from({ length: 25 }, (_, j) => i + j / 32),
      );
    await writeShardedSafetensors(out, specs, (e) => value(Number(e.name.slice(1))), {
      maxShardSize: 250,
      durable: true,
    });
    expect((await readdir(out)).sort()).toEqual([
      "model-00001-of-00003.safetensors",
      "model-00002-of-00003.safetensors",
      "model-00003-of-00003.safetensors",
      "model.safetensors.index.json",
    ]);
    const ck = await openCheckpoint(out);
    for (let i = 0; i < 5; i++)
      expect(Array.from(await ck.readFloat32(`t${i}`))).toEqual(Array.from(value(i).data));
    await ck.close();
  });
});
