// Interoperability with the reference implementation (huggingface/safetensors, Rust core used by the Python
// `save_file`). (1) Byte vectors asserted by the reference crate's own serialization tests must come out of our
// writer byte for byte and be readable. (2) A file laid out by hand from the format spec the way the reference
// writer lays it out (dtype rank descending, then name bytewise; compact JSON with __metadata__ first; spaces
// to a multiple of 8) must equal our writer's output, and read -> write round trips must be byte-identical.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DType, openSafetensors, Rng, saveSafetensors, Tensor, writeSafetensors } from "../src/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-interop-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// From safetensors/src/tensor.rs tests `test_serialization`, `test_empty`, `test_serialization_forced_alignement`.
const REF_ATTN_DOT_0 = [
  64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34,
  58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97,
  116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0,
  128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
];
const REF_EMPTY = [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32];
const REF_EMPTY_META = [
  40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102,
  114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
];
const REF_ATTN0 = [
  72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58,
  34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100,
  97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32,
  32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
];

const zeroToFive = () => Float32Array.of(0, 1, 2, 3, 4, 5);

async function bytesOf(path: string): Promise<number[]> {
  return Array.from(await readFile(path));
}

describe("reference implementation byte vectors", () => {
  it("writes the reference crate's serialization vectors byte for byte", async () => {
    const a = join(dir, "a.safetensors");
    await saveSafetensors(
      a,
      { "attn.0": Tensor.fromFloat32("F32", [1, 2, 3], zeroToFive()) },
      { format: null },
    );
    expect(await bytesOf(a)).toEqual(REF_ATTN_DOT_0);

    const b = join(dir, "b.safetensors");
    await saveSafetensors(
      b,
      { attn0: Tensor.fromFloat32("F32", [1, 1, 2, 3], zeroToFive()) },
      { format: null },
    );
    expect(await bytesOf(b)).toEqual(REF_ATTN0);

    const c = join(dir, "c.safetensors");
    await writeSafetensors(c, [], [], { format: null });
    expect(await bytesOf(c)).toEqual(REF_EMPTY);

    const d = join(dir, "d.safetensors");
    await writeSafetensors(d, [], [], { format: null, metadata: { framework: "pt" } });
    expect(await bytesOf(d)).toEqual(REF_EMPTY_META);
  });

  it("reads the reference vectors and rewrites them identically", async () => {
    for (const [i, vec] of [REF_ATTN_DOT_0, REF_ATTN0, REF_EMPTY, REF_EMPTY_META].entries()) {
      const src = join(dir, `ref${i}.safetensors`);
      const dst = join(dir, `ref${i}.out.safetensors`);
      await writeFile(src, Uint8Array.from(vec));
      const f = await openSafetensors(src);
      const meta = f.metadata;
      const tensors = new Map<string, Tensor>();
      for (const n of f.names()) tensors.set(n, await f.read(n));
      await f.close();
      if (tensors.has("attn.0"))
        expect(Array.from(tensors.get("attn.0")?.data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
      await saveSafetensors(dst, tensors, { format: null, metadata: meta ?? undefined });
      expect(await bytesOf(dst)).toEqual(vec);
    }
  });
});

// ---- An independent byte-level builder following the format spec and the reference writer's layout. ----

const RANK: DType[] = [
  "BOOL",
  "F4",
  "F6_E2M3",
  "F6_E3M2",
  "U8",
  "I8",
  "F8_E5M2",
  "F8_E4M3",
  "F8_E8M0",
  "F8_E4M3FNUZ",
  "F8_E5M2FNUZ",
  "I16",
  "U16",
  "F16",
  "BF16",
  "I32",
  "U32",
  "F32",
  "C64",
  "F64",
  "I64",
  "U64",
];

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function buildLikeReference(
  tensors: [string, DType, number[], Uint8Array][],
  metadata: Record<string, string> | null,
): Uint8Array {
  const sorted = [...tensors].sort(
    (x, y) => RANK.indexOf(y[1]) - RANK.indexOf(x[1]) || utf8Compare(x[0], y[0]),
  );
  let off = 0;
  let json = "{";
  const parts: string[] = [];
  if (metadata) parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  for (const [name, dtype, shape, data] of sorted) {
    parts.push(
      `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(",")}],"data_offsets":[${off},${off + data.length}]}`,
    );
    off += data.length;
  }
  json += `${parts.join(",")}}`;
  const header = Buffer.from(json, "utf8");
  const pad = (8 - (header.length % 8)) % 8;
  const out = Buffer.alloc(8 + header.length + pad + off, 0x20);
  out.writeBigUInt64LE(BigInt(header.length + pad), 0);
  header.copy(out, 8);
  let p = 8 + header.length + pad;
  for (const [, , , data] of sorted) {
    Buffer.from(data).copy(out, p);
    p += data.length;
  }
  return new Uint8Array(out);
}

describe("layout parity with the reference writer (save_file)", () => {
  it("mixed dtypes and awkward names: our writer equals the hand-built file; read -> write is byte-identical", async () => {
    const rng = new Rng(5);
    const f32 = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const ts: Record<string, Tensor> = {
      "model.layers.0.mlp.weight": Tensor.fromFloat32("BF16", [4, 3], f32(12)),
      "model.layers.0.mlp.bias": Tensor.fromFloat32("BF16", [3], f32(3)),
      "model.norm": Tensor.fromFloat32("F32", [5], f32(5)),
      "model.embed": Tensor.fromFloat32("F16", [2, 2], f32(4)),
      position_ids: Tensor.fromNumbers("I64", [1, 4], [0, 1, 2, 3]),
      'quote"and\\slash': Tensor.fromNumbers("U8", [3], [1, 2, 3]),
      "ｕｎｉ\uFF21": Tensor.fromNumbers("I32", [2], [-5, 5]),
      "emoji\u{1F600}": Tensor.fromNumbers("I32", [1], [9]),
      flag: Tensor.fromNumbers("BOOL", [2], [1, 0]),
      dbl: Tensor.fromNumbers("F64", [2], [Math.E, -0]),
      tiny: Tensor.fromNumbers("I8", [3], [-1, 0, 1]),
      zero: Tensor.zeros("F32", [0]),
    };
    const expected = buildLikeReference(
      Object.entries(ts).map(([n, t]) => [n, t.dtype, [...t.shape], t.bytes().slice()]),
      { format: "pt" },
    );
    const ours = join(dir, "ours.safetensors");
    await saveSafetensors(ours, ts);
    expect(Buffer.from(await readFile(ours)).equals(Buffer.from(expected))).toBe(true);

    // Round trip through the reader: every tensor decoded and re-encoded, file bytes unchanged.
    const f = await openSafetensors(ours);
    const back = new Map<string, Tensor>();
    for (const n of f.names()) back.set(n, await f.read(n));
    const meta = f.metadata;
    await f.close();
    const again = join(dir, "again.safetensors");
    await saveSafetensors(again, back, { format: null, metadata: meta ?? undefined });
    expect(Buffer.from(await readFile(again)).equals(Buffer.from(expected))).toBe(true);

    // Tensors converted F32 -> BF16 -> F32 -> BF16 keep their exact bits.
    const w = back.get("model.layers.0.mlp.weight") as Tensor;
    expect(Array.from(Tensor.fromFloat32("BF16", w.shape, w.toFloat32()).data)).toEqual(
      Array.from<number | bigint>(w.data),
    );
  });

  it("reads files in a non-reference layout (name order, unaligned) exactly", async () => {
    // Offsets ordered by name with a 1-byte tensor first, so the F64 tensor is not 8-aligned.
    const tensors: [string, DType, number[], Uint8Array][] = [
      ["a", "U8", [1], Uint8Array.of(42)],
      ["b", "F64", [2], new Uint8Array(Float64Array.of(1.25, -7).buffer)],
      ["c", "BF16", [2], new Uint8Array(Uint16Array.of(0x3f80, 0xc000).buffer)],
    ];
    let off = 0;
    const entries = tensors.map(([n, d, s, data]) => {
      const e = `"${n}":{"dtype":"${d}","shape":[${s.join(",")}],"data_offsets":[${off},${off + data.length}]}`;
      off += data.length;
      return e;
    });
    const header = Buffer.from(`{${entries.join(",")}}`);
    const file = Buffer.concat([Buffer.alloc(8), header, ...tensors.map((t) => Buffer.from(t[3]))]);
    file.writeBigUInt64LE(BigInt(header.length), 0);
    const path = join(dir, "byname.safetensors");
    await writeFile(path, file);
    const f = await openSafetensors(path);
    expect(f.names()).toEqual(["a", "b", "c"]);
    expect(Array.from((await f.read("b")).data as Float64Array)).toEqual([1.25, -7]);
    expect(Array.from(await f.readFloat32("c"))).toEqual([1, -2]);
    await f.close();
  });
});

describe("a file written by Python (test/fixtures/gen_numpy_f16.py, json + struct by the format)", () => {
  it("reads it and rewrites it byte for byte (given order, same metadata)", async () => {
    const src = fileURLToPath(new URL("fixtures/numpy-f16.safetensors", import.meta.url));
    const f = await openSafetensors(src);
    const names = f.names();
    const tensors = new Map<string, Tensor>();
    for (const n of names) tensors.set(n, await f.read(n));
    const meta = { ...(f.metadata ?? {}) };
    await f.close();
    expect(names).toEqual(["f64", "f32", "f16_from_f64", "f16_from_f32"]);
    const format = meta.format;
    delete meta.format;
    const out = join(dir, "python-rewrite.safetensors");
    await writeSafetensors(
      out,
      names.map((n) => ({
        name: n,
        dtype: (tensors.get(n) as Tensor).dtype,
        shape: (tensors.get(n) as Tensor).shape,
      })),
      (e) => tensors.get(e.name) as Tensor,
      { order: "given", format, metadata: meta },
    );
    expect((await readFile(out)).equals(await readFile(src))).toBe(true);
  });
});
