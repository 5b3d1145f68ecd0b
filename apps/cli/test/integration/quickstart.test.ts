import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { openCheckpoint, saveSafetensors, Tensor } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import { built, tempDir, x } from "./helpers.js";

const tmp = { path: tempDir("x-cli-st-") };

const run = async (args: string[]) => x(args);

describe.skipIf(!built)("x quickstart", () => {
  it("writes, reads back, converts to BF16 and verifies a multi-dtype model", async () => {
    const work = join(tmp.path, "qs");
    const r = await run(["quickstart", "--only", "tensors", "--dir", work, "--seed", "3"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/read\s+12\/12 tensors back, byte-identical/);
    expect(r.out).toMatch(/convert 8 float tensors -> BF16/);
    expect(r.out).toMatch(/verify\s+\d+ values correctly rounded/);
    // Sharded output with an index, and the converted copy is readable on its own.
    expect((await readdir(join(work, "tensors", "model"))).filter((f) => f.endsWith(".index.json"))).toEqual([
      "model.safetensors.index.json",
    ]);
    const ck = await openCheckpoint(join(work, "tensors", "model-bf16"));
    expect(ck.info("embed.weight")?.dtype).toBe("BF16");
    expect(ck.info("position_ids")?.dtype).toBe("I64");
    expect(ck.metadata).toEqual({ format: "pt", producer: "x quickstart" });
    await ck.close();
  });
});

describe.skipIf(!built)("x quickstart grid step", () => {
  it("simulates IEEE 13-bus meters, identifies the feeder and scores it against the truth", async () => {
    const r = await run(["quickstart", "--only", "grid", "--dir", join(tmp.path, "qs-grid"), "--seed", "1"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/edge accuracy/i);
  });

  it("rejects an unknown step with a usage error", async () => {
    const r = await run(["quickstart", "--only", "nope"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--only <step>.*Allowed choices are tensors, merging, grid/);
  });
});

describe.skipIf(!built)("x safetensors", () => {
  it("inspects a file and converts it with --dtype", async () => {
    const file = join(tmp.path, "m.safetensors");
    await saveSafetensors(file, {
      w: Tensor.fromNumbers("F32", [2, 3], [1, 2, 3, 4, 5, 1 / 3]),
      ids: Tensor.fromNumbers("I32", [2], [7, 8]),
    });
    const ins = await run(["safetensors", "inspect", file]);
    expect(ins.code).toBe(0);
    expect(ins.out).toMatch(/tensors:\s+2 \(1 F32, 1 I32\)/);
    expect(ins.out).toMatch(/w\s+F32\s+\[2, 3\]\s+24B/);
    expect(ins.out).toContain('{"format":"pt"}');
    const js = await run(["safetensors", "inspect", file, "--json"]);
    expect(JSON.parse(js.out).tensors.map((t: { name: string }) => t.name)).toEqual(["w", "ids"]);

    const out = join(tmp.path, "m16.safetensors");
    const conv = await run(["safetensors", "convert", file, out, "--dtype", "bfloat16", "--quiet"]);
    expect(conv.code).toBe(0);
    expect(conv.out).toContain("converted 1 of 2 tensors to BF16");
    const ck = await openCheckpoint(out);
    expect(Array.from(await ck.readFloat32("w"))).toEqual([1, 2, 3, 4, 5, 0.333984375]);
    expect(ck.info("ids")?.dtype).toBe("I32");
    await ck.close();

    // Into a directory with a tiny shard limit: a sharded checkpoint that inspect reads through its index.
    const shardDir = join(tmp.path, "m-sharded");
    const sh = await run([
      "safetensors",
      "convert",
      file,
      shardDir,
      "--dtype=fp16",
      "--max-shard-size",
      "16B",
      "--quiet",
    ]);
    expect(sh.code).toBe(0);
    const insp = await run(["safetensors", "inspect", shardDir]);
    expect(insp.out).toMatch(/files:\s+2 \(sharded\)/);
    expect(insp.out).toMatch(/w\s+F16\s+\[2, 3\]\s+12B\s+model-00001-of-00002\.safetensors/);
  });

  it("reports bad input as a one-line typed error with exit code 1, and usage errors with 2", async () => {
    const bad = await run(["safetensors", "inspect", join(tmp.path, "missing.safetensors")]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/CheckpointError: .*missing\.safetensors: no such file/);
    const usage = await run(["safetensors", "convert", "a", "b"]);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("--dtype");
  });
});
