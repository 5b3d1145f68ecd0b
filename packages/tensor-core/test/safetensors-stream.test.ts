import { existsSync } from "node:fs";
import { open as fsOpen, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  convertCheckpoint,
  numberToBf16,
  openCheckpoint,
  openSafetensors,
  Rng,
  SafetensorsError,
  saveSafetensors,
  Tensor,
  writeSafetensors,
} from "../src/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-stream-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("reading into caller buffers", () => {
  it("readInto / readFloat32(out) / readChunks(buffer) reuse memory and give the same values", async () => {
    const rng = new Rng(11);
    const vals = Float32Array.from({ length: 1000 }, () => rng.normal());
    const path = join(dir, "reuse.safetensors");
    await saveSafetensors(path, {
      a: Tensor.fromFloat32("F32", [1000], vals),
      b: Tensor.fromFloat32("BF16", [10, 100], vals),
      c: Tensor.fromFloat32("F16", [1000], vals),
      d: Tensor.fromNumbers(
        "I16",
        [1000],
        Array.from(vals, (v) => Math.round(v * 1000)),
      ),
    });
    const f = await openSafetensors(path);
    const out = new Float32Array(1000);
    for (const n of ["a", "b", "c", "d"]) {
      const fresh = await f.readFloat32(n);
      const reused = await f.readFloat32(n, out);
      expect(reused).toBe(out);
      expect(Array.from(reused)).toEqual(Array.from(fresh));
      expect(Array.from(fresh)).toEqual(Array.from((await f.read(n)).toFloat32()));
    }
    await expect(f.readFloat32("a", new Float32Array(3))).rejects.toMatchObject({
      code: "READ",
      tensor: "a",
    });
    const raw = new Uint8Array(4000);
    await f.readInto("a", raw);
    expect(Array.from(new Float32Array(raw.buffer))).toEqual(Array.from(vals));
    await expect(f.readInto("a", new Uint8Array(10))).rejects.toBeInstanceOf(SafetensorsError);
    const scratch = new Uint8Array(333);
    const seen: number[] = [];
    for await (const c of f.readChunks("c", 1 << 20, scratch)) {
      expect(c.buffer).toBe(scratch.buffer);
      expect(c.byteLength).toBeLessThanOrEqual(332);
      seen.push(...new Uint16Array(c.slice().buffer));
    }
    expect(seen).toEqual(Array.from((await f.read("c")).data as Uint16Array));
    // Concurrent reads on one handle are independent positional reads.
    const all = await Promise.all(["a", "b", "c", "d", "a"].map((n) => f.readFloat32(n)));
    expect(Array.from(all[4])).toEqual(Array.from(all[0]));
    await f.close();
  });
});

describe("64-bit offsets", () => {
  it("reads a tensor stored more than 4 GiB into the data buffer (sparse file)", async () => {
    const big = 5 * 2 ** 30;
    const header = JSON.stringify({
      big: { dtype: "U8", shape: [big], data_offsets: [0, big] },
      tail: { dtype: "F32", shape: [2], data_offsets: [big, big + 8] },
    });
    const path = join(dir, "sparse.safetensors");
    const fh = await fsOpen(path, "w");
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    await fh.write(len, 0, 8, 0);
    await fh.write(Buffer.from(header), 0, header.length, 8);
    const tail = Buffer.from(new Float32Array([3.5, -1]).buffer);
    await fh.write(tail, 0, 8, 8 + header.length + big);
    await fh.close();
    expect((await stat(path)).size).toBe(8 + header.length + big + 8);
    const f = await openSafetensors(path);
    expect(Array.from(await f.readFloat32("tail"))).toEqual([3.5, -1]);
    let n = 0;
    for await (const c of f.readChunks("big", 1 << 20)) {
      n += c.byteLength;
      if (n >= 4 << 20) break;
    }
    expect(n).toBe(4 << 20);
    // Loading the 5 GiB tensor at once would exceed what a typed array can hold here: a typed error, no crash.
    const whole = await f.readBytes("big").then(
      (b) => b.byteLength,
      (e) => e,
    );
    if (typeof whole === "number") expect(whole).toBe(big);
    else expect(whole).toMatchObject({ name: "SafetensorsError", code: "READ", tensor: "big" });
    await f.close();
    await rm(path);
  });
});

describe("convertCheckpoint", () => {
  it("chunked conversion equals whole-tensor conversion; ints copied; metadata kept", async () => {
    const rng = new Rng(3);
    const vals = Float32Array.from({ length: 5000 }, () => rng.normal() * 3);
    vals[0] = Number.NaN;
    vals[1] = Number.POSITIVE_INFINITY;
    vals[2] = 1e-42;
    const tensors = {
      w: Tensor.fromFloat32("F32", [50, 100], vals),
      h: Tensor.fromFloat32("F16", [5000], vals),
      d: Tensor.fromFloat32("F32", [5000], vals).to("F64"),
      i: Tensor.fromNumbers("I64", [3], [1, -2, 3]),
    };
    const src = join(dir, "src.safetensors");
    await saveSafetensors(src, tensors, { metadata: { keep: "me" } });
    const out = join(dir, "bf16.safetensors");
    const progress: number[] = [];
    // 1000-byte chunks force many chunk boundaries inside every tensor.
    const res = await convertCheckpoint(src, out, {
      dtype: "BF16",
      chunkBytes: 1000,
      onProgress: (d) => progress.push(d),
    });
    expect(res.converted).toBe(3);
    expect(progress[progress.length - 1]).toBe(res.inputBytes);
    const f = await openSafetensors(out);
    expect(f.metadata).toEqual({ format: "pt", keep: "me" });
    for (const [name, t] of Object.entries(tensors)) {
      const c = await f.read(name);
      if (name === "i") {
        expect(c.dtype).toBe("I64");
        expect(Array.from(c.data as BigInt64Array)).toEqual([1n, -2n, 3n]);
        continue;
      }
      expect(c.dtype).toBe("BF16");
      expect(Array.from<number | bigint>(c.data)).toEqual(Array.from(t.to("BF16").data));
    }
    // F64 converts with a single rounding, per element.
    const d = (await f.read("d")).data as Uint16Array;
    const d64 = tensors.d.data as Float64Array;
    for (let k = 3; k < d64.length; k++) expect(d[k]).toBe(numberToBf16(d64[k]));
    await f.close();
    // Round trip back to F32 into a sharded directory.
    const shardDir = join(dir, "f32-sharded");
    await convertCheckpoint(out, shardDir, { dtype: "F32", maxShardSize: 15000, chunkBytes: 777 });
    const ck = await openCheckpoint(shardDir);
    expect(ck.files.length).toBeGreaterThan(1);
    expect(Array.from(await ck.readFloat32("w"))).toEqual(Array.from(tensors.w.to("BF16").toFloat32()));
    await ck.close();
    await expect(
      convertCheckpoint(src, join(dir, "x.safetensors"), { dtype: "F8_E4M3" }),
    ).rejects.toBeInstanceOf(SafetensorsError);
  });

  // Reference data beside the repository (../shared); skipped where it is absent.
  const profiles = fileURLToPath(
    new URL("../../../../shared/data/loads/residential_1min_100profiles.csv", import.meta.url),
  );
  it.skipIf(!existsSync(profiles))(
    "end to end on real data: 100 household load profiles (CSV) -> safetensors -> BF16 -> verified",
    async () => {
      const csv = await readFile(profiles, "utf8");
      const lines = csv.trim().split("\n").slice(1);
      const rows = lines.length;
      const cols = lines[0].split(",").length - 1;
      const kw = new Float64Array(rows * cols);
      lines.forEach((line, r) => {
        const cells = line.split(",");
        for (let c = 0; c < cols; c++) kw[r * cols + c] = Number(cells[c + 1]);
      });
      expect(rows).toBe(1440);
      expect(cols).toBe(100);
      const path = join(dir, "loads.safetensors");
      await writeSafetensors(
        path,
        [
          { name: "profiles.kw", dtype: "F64", shape: [rows, cols] },
          { name: "profiles.minute", dtype: "I32", shape: [rows] },
        ],
        (e) =>
          e.name === "profiles.kw"
            ? new Tensor("F64", [rows, cols], kw)
            : Tensor.fromNumbers(
                "I32",
                [rows],
                lines.map((l) => Number(l.split(",")[0])),
              ),
        { metadata: { source: "residential_1min_100profiles.csv" } },
      );
      const bf = join(dir, "loads-bf16");
      const res = await convertCheckpoint(path, bf, { dtype: "BF16", maxShardSize: 200_000 });
      expect(res.outputBytes).toBe(rows * cols * 2 + rows * 4);
      const ck = await openCheckpoint(bf);
      const back = await ck.readFloat32("profiles.kw");
      let maxRel = 0;
      let mean64 = 0;
      let mean16 = 0;
      for (let k = 0; k < kw.length; k++) {
        if (kw[k] !== 0) maxRel = Math.max(maxRel, Math.abs(back[k] - kw[k]) / Math.abs(kw[k]));
        mean64 += kw[k];
        mean16 += back[k];
      }
      // BF16 keeps 8 significant bits: relative error <= 2^-8 per value; the daily mean barely moves.
      expect(maxRel).toBeLessThanOrEqual(2 ** -8);
      expect(Math.abs(mean16 - mean64) / mean64).toBeLessThan(1e-3);
      expect(mean64 / kw.length).toBeCloseTo(0.35, 1);
      expect(Array.from<number | bigint>((await ck.read("profiles.minute")).data).slice(0, 3)).toEqual([
        0, 1, 2,
      ]);
      await ck.close();
    },
  );
});

describe("writer misuse", () => {
  it("rejects unknown names, double writes, oversized chunks and writes after finish", async () => {
    const { SafetensorsWriter } = await import("../src/index.js");
    const path = join(dir, "misuse.safetensors");
    const w = await SafetensorsWriter.create(path, [{ name: "a", dtype: "U8", shape: [4] }]);
    await expect(w.write("zzz", new Uint8Array(4))).rejects.toMatchObject({
      code: "NOT_FOUND",
      tensor: "zzz",
    });
    await expect(w.writeChunk("a", new Uint8Array(5))).rejects.toMatchObject({ code: "WRITE" });
    await w.writeChunk("a", new Uint8Array(2));
    await expect(w.write("a", new Uint8Array(4))).rejects.toMatchObject({ code: "WRITE" });
    await expect(w.finish()).rejects.toMatchObject({ code: "WRITE" });
    await expect(stat(path)).rejects.toThrow();
    const w2 = await SafetensorsWriter.create(path, [{ name: "a", dtype: "U8", shape: [4] }]);
    await w2.write("a", Uint8Array.of(1, 2, 3, 4));
    await w2.finish();
    await expect(w2.write("a", new Uint8Array(4))).rejects.toMatchObject({ code: "CLOSED" });
    expect(Array.from((await readFile(path)).subarray(-4))).toEqual([1, 2, 3, 4]);
  });

  it("refuses a directory as a file and a conversion that would overwrite its input; durable writes work", async () => {
    await expect(openSafetensors(dir)).rejects.toMatchObject({ name: "SafetensorsError", code: "NOT_FOUND" });
    const path = join(dir, "self.safetensors");
    await saveSafetensors(path, { a: Tensor.zeros("F32", [2]) }, { durable: true });
    await expect(convertCheckpoint(path, path, { dtype: "BF16" })).rejects.toMatchObject({ code: "WRITE" });
    await expect(convertCheckpoint(path, dir, { dtype: "BF16" })).rejects.toMatchObject({ code: "WRITE" });
    const ck = await openCheckpoint(path);
    expect(ck.info("a")?.dtype).toBe("F32");
    await ck.close();
  });
});
