import { readdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CheckpointError,
  openCheckpoint,
  openSafetensors,
  Rng,
  SafetensorsError,
  StateDict,
  saveSafetensors,
  Tensor,
  writeSafetensors,
  writeShardedSafetensors,
} from "../src/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-rt-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sample(): Record<string, Tensor> {
  const rng = new Rng(7);
  const f32 = Float32Array.from({ length: 12 }, () => rng.normal());
  return {
    "layer.0.weight": Tensor.fromFloat32("F32", [3, 4], f32),
    "layer.0.bias": Tensor.fromFloat32("BF16", [4], f32.subarray(0, 4)),
    "emb.f16": Tensor.fromFloat32("F16", [2, 3], f32.subarray(0, 6)),
    ids: Tensor.fromNumbers("I64", [3], [-1, 2 ** 40, 7]),
    mask: Tensor.fromNumbers("BOOL", [5], [1, 0, 1, 1, 0]),
    scalar: Tensor.fromNumbers("F64", [], [Math.PI]),
    empty: Tensor.zeros("I32", [0, 3]),
    u8: Tensor.fromNumbers("U8", [3], [0, 128, 255]),
    i8: Tensor.fromNumbers("I8", [2], [-128, 127]),
    i16: Tensor.fromNumbers("I16", [2], [-300, 300]),
  };
}

describe("safetensors write/read round trip", () => {
  it("writes every dtype and reads back identical bytes, dtypes and shapes", async () => {
    const tensors = sample();
    const path = join(dir, "all.safetensors");
    await saveSafetensors(path, tensors, { metadata: { note: "x" } });
    const f = await openSafetensors(path);
    try {
      expect(f.metadata).toEqual({ format: "pt", note: "x" });
      expect(new Set(f.names())).toEqual(new Set(Object.keys(tensors)));
      for (const [name, t] of Object.entries(tensors)) {
        const back = await f.read(name);
        expect(back.dtype).toBe(t.dtype);
        expect(back.shape).toEqual(t.shape);
        expect(Buffer.from(back.bytes()).equals(Buffer.from(t.bytes()))).toBe(true);
      }
      expect(Array.from(await f.readFloat32("layer.0.bias"))).toEqual(
        Array.from(tensors["layer.0.bias"].toFloat32()),
      );
      expect(Array.from(await f.readFloat32("emb.f16"))).toEqual(Array.from(tensors["emb.f16"].toFloat32()));
      expect(Array.from(await f.readFloat32("ids"))).toEqual([-1, 2 ** 40, 7]);
      // The header is padded to a multiple of 8 so the data buffer starts 8-aligned.
      expect(f.header.dataOffset % 8).toBe(0);
    } finally {
      await f.close();
    }
    // No temporary files are left behind.
    expect((await readdir(dir)).filter((n) => n.includes(".tmp"))).toEqual([]);
  });

  it("streams chunks and lazy producers, and the result equals an in-memory save", async () => {
    const tensors = sample();
    const a = join(dir, "a.safetensors");
    const b = join(dir, "b.safetensors");
    await saveSafetensors(a, tensors);
    const specs = Object.entries(tensors).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
    async function* stream() {
      // Reverse order and byte chunks of 3: order of arrival must not matter.
      for (const [name, t] of Object.entries(tensors).reverse()) {
        const bytes = t.bytes();
        const chunks: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.slice(i, i + 3));
        yield [name, chunks] as const;
      }
    }
    await writeSafetensors(b, specs, stream());
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
  });

  it("aborts atomically: a failing source leaves no file and no temp file", async () => {
    const path = join(dir, "fail.safetensors");
    const specs = [{ name: "x", dtype: "F32" as const, shape: [4] }];
    await expect(
      writeSafetensors(path, specs, () => {
        throw new Error("producer failed");
      }),
    ).rejects.toThrow("producer failed");
    await expect(writeSafetensors(path, specs, [["x", new Float32Array(3)]])).rejects.toBeInstanceOf(
      SafetensorsError,
    );
    const names = await readdir(dir);
    expect(names.filter((n) => n.startsWith("fail") || n.includes("fail.safetensors"))).toEqual([]);
  });

  it("rejects a tensor whose dtype or shape differs from its spec", async () => {
    const path = join(dir, "mismatch.safetensors");
    const err = await writeSafetensors(
      path,
      [{ name: "w", dtype: "F32", shape: [2, 2] }],
      [["w", Tensor.zeros("F32", [4])]],
    ).catch((e) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toContain('"w"');
    expect(err.message).toContain("[2, 2]");
  });

  it("streams a tensor in bounded chunks", async () => {
    const path = join(dir, "chunks.safetensors");
    const t = Tensor.fromNumbers(
      "F32",
      [1000],
      Array.from({ length: 1000 }, (_, i) => i),
    );
    await saveSafetensors(path, { t });
    const f = await openSafetensors(path);
    const parts: number[] = [];
    for await (const c of f.readChunks("t", 1001)) {
      expect(c.byteLength % 4).toBe(0);
      expect(c.byteLength).toBeLessThanOrEqual(1001);
      parts.push(...new Float32Array(c.slice().buffer));
    }
    await f.close();
    expect(parts).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it("lazy state dicts load on demand and flatten in code-point order", async () => {
    const path = join(dir, "lazy.safetensors");
    await saveSafetensors(path, {
      b: Tensor.fromNumbers("F32", [2], [3, 4]),
      a: Tensor.fromNumbers("BF16", [1], [1]),
      "\u{1F600}": Tensor.fromNumbers("F16", [1], [9]),
      "\uFF21": Tensor.fromNumbers("F32", [1], [8]),
    });
    const f = await openSafetensors(path);
    const sd = f.stateDict();
    const flat = await sd.flatten();
    // U+FF21 < U+1F600 by code point although its UTF-16 unit 0xFF21 > 0xD83D.
    expect(flat.layout.entries.map((e) => e.name)).toEqual(["a", "b", "\uFF21", "\u{1F600}"]);
    expect(Array.from(flat.data)).toEqual([1, 3, 4, 8, 9]);
    const back = StateDict.unflatten(flat.data, flat.layout);
    expect((await back.tensor("\u{1F600}")).dtype).toBe("F16");
    await f.close();
  });
});

describe("sharded checkpoints", () => {
  it("plans shards by bytes, uses HF names and an index, and reads back through openCheckpoint", async () => {
    const out = join(dir, "sharded");
    await import("node:fs/promises").then((fs) => fs.mkdir(out));
    const specs = Array.from({ length: 7 }, (_, i) => ({
      name: `t${i}`,
      dtype: "F32" as const,
      shape: [25],
    }));
    const data = (i: number) =>
      Tensor.fromNumbers(
        "F32",
        [25],
        Array.from({ length: 25 }, (_, j) => i * 100 + j),
      );
    const res = await writeShardedSafetensors(out, specs, (e) => data(Number(e.name.slice(1))), {
      maxShardSize: 250,
      indexMetadata: { mergekit_version: "0.1.4" },
    });
    // 100 bytes each, at most 250 per shard -> 2 + 2 + 2 + 1.
    expect(res.files.map((f) => f.split("/").pop())).toEqual([
      "model-00001-of-00004.safetensors",
      "model-00002-of-00004.safetensors",
      "model-00003-of-00004.safetensors",
      "model-00004-of-00004.safetensors",
    ]);
    const index = JSON.parse(await readFile(join(out, "model.safetensors.index.json"), "utf8"));
    expect(index.metadata).toEqual({ total_size: 700, mergekit_version: "0.1.4" });
    expect(index.weight_map.t6).toBe("model-00004-of-00004.safetensors");
    const ck = await openCheckpoint(out);
    expect(ck.names()).toEqual(specs.map((s) => s.name));
    for (let i = 0; i < 7; i++)
      expect(Array.from(await ck.readFloat32(`t${i}`))).toEqual(Array.from(data(i).data));
    await ck.close();
  });

  it("keeps about one shard file open while streaming many shards", async () => {
    const out = join(dir, "many");
    const fds = () => readdirSync("/proc/self/fd").length;
    const base = fds();
    let peak = 0;
    const specs = Array.from({ length: 40 }, (_, i) => ({
      name: `w${String(i).padStart(2, "0")}`,
      dtype: "F32" as const,
      shape: [64],
    }));
    const res = await writeShardedSafetensors(
      out,
      specs,
      (e) => {
        peak = Math.max(peak, fds());
        return Tensor.fromNumbers(
          "F32",
          [64],
          Array.from({ length: 64 }, (_, j) => j + Number(e.name.slice(1))),
        );
      },
      { maxShardSize: 512 },
    );
    expect(res.files.length).toBe(20);
    // 20 shards, but shards are opened on first write and closed once complete.
    expect(peak - base).toBeLessThanOrEqual(3);
    const ck = await openCheckpoint(out);
    expect(Array.from(await ck.readFloat32("w39")).slice(0, 2)).toEqual([39, 40]);
    await ck.close();
  });

  it("writes a single model.safetensors without an index when everything fits", async () => {
    const out = join(dir, "single");
    await import("node:fs/promises").then((fs) => fs.mkdir(out));
    const res = await writeShardedSafetensors(out, [{ name: "w", dtype: "BF16", shape: [2] }], () =>
      Tensor.zeros("BF16", [2]),
    );
    expect(res.indexFile).toBeNull();
    expect(await readdir(out)).toEqual(["model.safetensors"]);
    const ck = await openCheckpoint(out);
    expect(ck.info("w")).toEqual({ dtype: "BF16", shape: [2] });
    await ck.close();
  });

  it("reports a missing shard, a tensor absent from its shard, path escapes and pickle-only dirs", async () => {
    const out = join(dir, "broken");
    const fs = await import("node:fs/promises");
    await fs.mkdir(out);
    await saveSafetensors(join(out, "a.safetensors"), { x: Tensor.zeros("F32", [1]) });
    const idx = join(out, "model.safetensors.index.json");
    await writeFile(
      idx,
      JSON.stringify({ metadata: {}, weight_map: { x: "a.safetensors", y: "b.safetensors" } }),
    );
    await expect(openCheckpoint(out)).rejects.toMatchObject({ name: "CheckpointError", code: "NOT_FOUND" });
    await writeFile(idx, JSON.stringify({ weight_map: { x: "a.safetensors", y: "a.safetensors" } }));
    await expect(openCheckpoint(out)).rejects.toMatchObject({ code: "MISSING_TENSOR", tensor: "y" });
    await writeFile(idx, JSON.stringify({ weight_map: { x: "../a.safetensors" } }));
    await expect(openCheckpoint(out)).rejects.toMatchObject({ code: "INDEX" });
    const pickles = join(dir, "pickles");
    await fs.mkdir(pickles);
    await writeFile(join(pickles, "pytorch_model.bin"), "not read");
    const err = await openCheckpoint(pickles).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.code).toBe("UNSUPPORTED");
  });
});
