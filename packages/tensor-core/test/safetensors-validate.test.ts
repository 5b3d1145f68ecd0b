import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isNumericDType,
  MAX_HEADER_SIZE,
  openSafetensors,
  parseHeader,
  Rng,
  readHeaderLength,
  SafetensorsError,
  type SafetensorsErrorCode,
  saveSafetensors,
  Tensor,
} from "../src/index.js";

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tc-val-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file from a header JSON string (padded as given) and a data buffer. */
function fileBytes(header: string, data: Uint8Array | number, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

async function openBytes(bytes: Uint8Array): Promise<unknown> {
  const path = join(dir, `f${n++}.safetensors`);
  await writeFile(path, bytes);
  try {
    const f = await openSafetensors(path);
    await f.close();
    return f;
  } catch (e) {
    return e;
  }
}

async function expectCode(
  bytes: Uint8Array,
  code: SafetensorsErrorCode,
  tensor?: string,
): Promise<SafetensorsError> {
  const err = await openBytes(bytes);
  expect(err).toBeInstanceOf(SafetensorsError);
  const e = err as SafetensorsError;
  expect(e.code).toBe(code);
  expect(e.message).toContain(".safetensors");
  if (tensor !== undefined) {
    expect(e.tensor).toBe(tensor);
    expect(e.message).toContain(JSON.stringify(tensor));
  }
  return e;
}

const entry = (dtype: string, shape: number[], b: number, e: number) =>
  `{"dtype":"${dtype}","shape":[${shape.join(",")}],"data_offsets":[${b},${e}]}`;

describe("header validation (what the reference reader rejects)", () => {
  it("accepts a minimal valid file, an empty header and zero-sized tensors", async () => {
    expect(await openBytes(fileBytes(`{"a":${entry("F32", [2], 0, 8)}}`, 8))).not.toBeInstanceOf(Error);
    expect(await openBytes(fileBytes("{}      ", 0))).not.toBeInstanceOf(Error);
    expect(
      await openBytes(fileBytes(`{"z":${entry("F32", [0, 4], 0, 0)},"a":${entry("U8", [1], 0, 1)}}`, 1)),
    ).not.toBeInstanceOf(Error);
  });

  it("rejects files shorter than 8 bytes", async () => {
    await expectCode(new Uint8Array(5), "HEADER_TOO_SMALL");
  });

  it("rejects header lengths over 100,000,000 (including 10 GB and 2^64-1) without allocating them", async () => {
    await expectCode(fileBytes("{}", 0, 100_000_001n), "HEADER_TOO_LARGE");
    await expectCode(fileBytes("{}", 0, 10_000_000_000n), "HEADER_TOO_LARGE");
    await expectCode(fileBytes("{}", 0, 2n ** 64n - 1n), "HEADER_TOO_LARGE");
  });

  it("rejects a header length past the end of the file", async () => {
    await expectCode(fileBytes("{}", 0, 1000n), "HEADER_LENGTH");
  });

  it("rejects invalid UTF-8, a non-'{' start, bad JSON and non-object JSON", async () => {
    const bad = fileBytes('{"a":1}', 0);
    bad[10] = 0xff;
    await expectCode(bad, "HEADER_UTF8");
    await expectCode(fileBytes(' {"a":1}', 0), "HEADER_START");
    await expectCode(fileBytes("[1,2]", 0), "HEADER_START");
    await expectCode(fileBytes('{"a":', 0), "HEADER_JSON");
    await expectCode(fileBytes('{"a":{}} x', 0), "HEADER_JSON");
    await expectCode(fileBytes(`{"a":${"[".repeat(5000)}}`, 0), "HEADER_JSON");
  });

  it("rejects duplicate tensor names (JSON.parse would silently keep one)", async () => {
    await expectCode(
      fileBytes(`{"a":${entry("U8", [1], 0, 1)},"a":${entry("U8", [1], 1, 2)}}`, 2),
      "DUPLICATE_KEY",
      "a",
    );
  });

  it("rejects unknown dtypes, naming the tensor", async () => {
    await expectCode(fileBytes(`{"w":${entry("F128", [1], 0, 16)}}`, 16), "UNKNOWN_DTYPE", "w");
    await expectCode(fileBytes(`{"w":${entry("f32", [1], 0, 4)}}`, 4), "UNKNOWN_DTYPE", "w");
  });

  it("rejects malformed entries and shapes", async () => {
    await expectCode(fileBytes(`{"w":[1,2]}`, 0), "INVALID_ENTRY", "w");
    await expectCode(fileBytes(`{"w":{"shape":[1],"data_offsets":[0,1]}}`, 1), "INVALID_ENTRY", "w");
    await expectCode(fileBytes(`{"w":${entry("U8", [-1], 0, 1)}}`, 1), "INVALID_SHAPE", "w");
    await expectCode(
      fileBytes(`{"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, 1),
      "INVALID_SHAPE",
      "w",
    );
    await expectCode(
      fileBytes(`{"w":${entry("F32", [2 ** 30, 2 ** 30, 2 ** 30], 0, 4)}}`, 4),
      "INVALID_SHAPE",
      "w",
    );
    await expectCode(
      fileBytes(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, 1),
      "INVALID_OFFSETS",
      "w",
    );
    await expectCode(
      fileBytes(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,18446744073709551615]}}`, 1),
      "INVALID_OFFSETS",
      "w",
    );
  });

  it("rejects shape x element size != byte length", async () => {
    const e = await expectCode(fileBytes(`{"w":${entry("F32", [3], 0, 8)}}`, 8), "SIZE_MISMATCH", "w");
    expect(e.message).toContain("needs 12 bytes");
  });

  it("rejects overlapping offsets, gaps, and offsets that do not start at 0", async () => {
    await expectCode(
      fileBytes(`{"a":${entry("U8", [4], 0, 4)},"b":${entry("U8", [4], 2, 6)}}`, 6),
      "INVALID_OFFSETS",
      "b",
    );
    await expectCode(
      fileBytes(`{"a":${entry("U8", [4], 0, 4)},"b":${entry("U8", [4], 5, 9)}}`, 9),
      "INVALID_OFFSETS",
      "b",
    );
    await expectCode(fileBytes(`{"a":${entry("U8", [4], 4, 8)}}`, 8), "INVALID_OFFSETS", "a");
    await expectCode(
      fileBytes(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, 4),
      "INVALID_OFFSETS",
      "a",
    );
  });

  it("rejects a file whose size differs from 8 + N + last offset (truncated or trailing bytes)", async () => {
    const e = await expectCode(fileBytes(`{"a":${entry("F32", [4], 0, 16)}}`, 12), "FILE_SIZE");
    expect(e.message).toContain("truncated");
    await expectCode(fileBytes(`{"a":${entry("F32", [4], 0, 16)}}`, 17), "FILE_SIZE");
  });

  it("accepts a string map in __metadata__ and rejects anything else", async () => {
    const ok = (await openBytes(
      fileBytes(`{"__metadata__":{"format":"pt","k":"v"},"a":${entry("U8", [1], 0, 1)}}`, 1),
    )) as {
      metadata: unknown;
    };
    expect(ok.metadata).toEqual({ format: "pt", k: "v" });
    await expectCode(fileBytes(`{"__metadata__":{"n":1}}`, 0), "METADATA");
    await expectCode(fileBytes(`{"__metadata__":["pt"]}`, 0), "METADATA");
    await expectCode(fileBytes(`{"__metadata__":{"n":{"x":"y"}}}`, 0), "METADATA");
  });

  it("treats __proto__ as an ordinary tensor name", async () => {
    const f = (await openBytes(fileBytes(`{"__proto__":${entry("U8", [1], 0, 1)}}`, 1))) as {
      names(): string[];
    };
    expect(f.names()).toEqual(["__proto__"]);
  });

  it("reads tensors at unaligned offsets (copying) and reports a file truncated after open", async () => {
    // A 1-byte tensor first makes the F32 tensor start at an odd offset.
    const data = new Uint8Array(9);
    data[0] = 7;
    new DataView(data.buffer).setFloat32(1, 1.5, true);
    new DataView(data.buffer).setFloat32(5, -2.25, true);
    const header = `{"a":${entry("U8", [1], 0, 1)},"b":${entry("F32", [2], 1, 9)}}`;
    const path = join(dir, "unaligned.safetensors");
    await writeFile(path, fileBytes(header, data));
    const f = await openSafetensors(path);
    expect(Array.from((await f.read("b")).data as Float32Array)).toEqual([1.5, -2.25]);
    expect(Array.from(await f.readFloat32("b"))).toEqual([1.5, -2.25]);
    await expect(f.read("nope")).rejects.toMatchObject({ code: "NOT_FOUND", tensor: "nope" });
    // Truncate behind the reader's back.
    const fh = await open(path, "r+");
    await fh.truncate(8 + header.length + 4);
    await fh.close();
    await expect(f.read("b")).rejects.toMatchObject({ code: "TRUNCATED", tensor: "b" });
    await f.close();
    await expect(f.read("a")).rejects.toMatchObject({ code: "CLOSED" });
  });
});

describe("fuzz: mutated valid files give a valid read or a typed error, never a crash", () => {
  const interesting = [
    0, 1, 0x7f, 0x80, 0xff, 0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d, 0x30, 0x39, 0x2d, 0x20,
  ];

  function mutate(orig: Uint8Array, headerLen: number, rng: Rng): Uint8Array {
    let m = orig.slice();
    const kind = rng.int(7);
    if (kind === 0) {
      // Flip random bits anywhere.
      for (let k = 0, c = 1 + rng.int(4); k < c; k++) m[rng.int(m.length)] ^= 1 << rng.int(8);
    } else if (kind === 1) {
      // Overwrite header bytes with JSON-significant characters.
      for (let k = 0, c = 1 + rng.int(3); k < c; k++)
        m[8 + rng.int(headerLen)] = interesting[rng.int(interesting.length)];
    } else if (kind === 2) {
      m = m.slice(0, rng.int(m.length));
    } else if (kind === 3) {
      const extra = new Uint8Array(m.length + 1 + rng.int(16));
      extra.set(m);
      m = extra;
    } else if (kind === 4) {
      // Random header length, including huge ones.
      const v =
        rng.uniform() < 0.5
          ? BigInt(rng.int(headerLen * 2))
          : BigInt(rng.int(2 ** 31)) * BigInt(rng.int(2 ** 31) + 1);
      new DataView(m.buffer).setBigUint64(0, v, true);
    } else if (kind === 5) {
      // Change one digit inside the header (offsets/shapes).
      const digits: number[] = [];
      for (let i = 8; i < 8 + headerLen; i++) if (m[i] >= 0x30 && m[i] <= 0x39) digits.push(i);
      m[digits[rng.int(digits.length)]] = 0x30 + rng.int(10);
    } else {
      // Delete or duplicate a header byte range, keeping the length prefix.
      const a = 8 + rng.int(headerLen);
      const b = Math.min(8 + headerLen, a + 1 + rng.int(12));
      const dup = rng.uniform() < 0.5;
      const joined = new Uint8Array(m.length + (dup ? b - a : -(b - a)));
      // Duplicate: bytes [0, b) then [a, end). Delete: bytes [0, a) then [b, end).
      joined.set(m.subarray(0, dup ? b : a));
      joined.set(m.subarray(dup ? a : b), dup ? b : a);
      m = joined;
    }
    return m;
  }

  async function baseFile(): Promise<{ orig: Uint8Array; headerLen: number }> {
    const base = join(dir, "base.safetensors");
    const rng = new Rng(99);
    await saveSafetensors(base, {
      "a.weight": Tensor.fromFloat32(
        "F32",
        [3, 5],
        Float32Array.from({ length: 15 }, () => rng.normal()),
      ),
      "a.bias": Tensor.fromFloat32(
        "BF16",
        [5],
        Float32Array.from({ length: 5 }, () => rng.normal()),
      ),
      ids: Tensor.fromNumbers("I64", [2], [1, 2]),
      m: Tensor.fromNumbers("BOOL", [3], [1, 0, 1]),
    });
    const orig = new Uint8Array(await readFile(base));
    return { orig, headerLen: Number(new DataView(orig.buffer).getBigUint64(0, true)) };
  }

  it("3000 seeded mutations through header parsing and tensor decoding (in memory)", async () => {
    const { orig, headerLen } = await baseFile();
    const rng = new Rng(1234);
    const seen = new Map<string, number>();
    for (let iter = 0; iter < 3000; iter++) {
      const m = mutate(orig, headerLen, rng);
      let outcome = "valid";
      try {
        const n = readHeaderLength("mem.safetensors", m.subarray(0, 8), m.length, MAX_HEADER_SIZE);
        const h = parseHeader("mem.safetensors", m.subarray(8, 8 + n), m.length);
        for (const e of h.entries) {
          const t = Tensor.fromBytes(
            e.dtype,
            e.shape,
            m.subarray(h.dataOffset + e.begin, h.dataOffset + e.end),
          );
          if (isNumericDType(t.dtype)) expect(t.toFloat32().length).toBe(t.numel);
        }
      } catch (e) {
        if (!(e instanceof SafetensorsError))
          throw new Error(`iteration ${iter}: untyped error ${String(e)}`);
        outcome = e.code;
      }
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
    }
    // The mutations reach many distinct failure modes, and some files stay valid.
    expect(seen.size).toBeGreaterThanOrEqual(8);
    expect(seen.get("valid") ?? 0).toBeGreaterThan(0);
  });

  it("400 seeded mutations through the file reader (open, read, readFloat32)", async () => {
    const { orig, headerLen } = await baseFile();
    const rng = new Rng(99);
    const path = join(dir, "fuzz.safetensors");
    let typed = 0;
    for (let iter = 0; iter < 400; iter++) {
      await writeFile(path, mutate(orig, headerLen, rng));
      try {
        const f = await openSafetensors(path);
        try {
          for (const e of f.header.entries) {
            const t = await f.read(e.name);
            expect(t.byteLength).toBe(e.end - e.begin);
            if (isNumericDType(e.dtype)) expect((await f.readFloat32(e.name)).length).toBe(t.numel);
          }
        } finally {
          await f.close();
        }
      } catch (e) {
        if (!(e instanceof SafetensorsError))
          throw new Error(`iteration ${iter}: untyped error ${String(e)}`);
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(0);
  });
});
