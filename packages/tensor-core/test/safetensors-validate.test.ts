import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  openSafetensors,
  SafetensorsError,
  type SafetensorsErrorCode,
  SafetensorsFile,
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
    await expectCode(fileBytes("{} x", 0), "HEADER_JSON");
    // Deep nesting in a field the reader skips is bounded, not recursed into.
    await expectCode(fileBytes(`{"a":{"dtype":"F32","x":${"[".repeat(5000)}}}`, 0), "HEADER_JSON");
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

  it("takes only integer literals for shapes and offsets, like the reference (usize) reader", async () => {
    const header = (shape: string, offsets: string) =>
      `{"w":{"dtype":"U8","shape":${shape},"data_offsets":${offsets}}}`;
    // 256.0 equals 256 for JSON.parse, but it is not an integer literal.
    const e = await expectCode(fileBytes(header("[256.0]", "[0,256]"), 256), "INVALID_SHAPE", "w");
    expect(e.message).toContain("shape[0] must be a non-negative integer, got 256.0");
    await expectCode(fileBytes(header("[2.56e2]", "[0,256]"), 256), "INVALID_SHAPE", "w");
    await expectCode(fileBytes(header("[256E0]", "[0,256]"), 256), "INVALID_SHAPE", "w");
    await expectCode(fileBytes(header("[-0]", "[0,0]"), 0), "INVALID_SHAPE", "w");
    await expectCode(fileBytes(header("[0256]", "[0,256]"), 256), "INVALID_SHAPE", "w");
    await expectCode(fileBytes(header('["4"]', "[0,4]"), 4), "INVALID_SHAPE", "w");
    await expectCode(fileBytes(header("[4]", "[0,4.0]"), 4), "INVALID_OFFSETS", "w");
    await expectCode(fileBytes(header("[4]", "[0.0,4]"), 4), "INVALID_OFFSETS", "w");
    await expectCode(fileBytes(header("[4]", "[0,4e0]"), 4), "INVALID_OFFSETS", "w");
    await expectCode(fileBytes(header("[4]", "[0,9007199254740993]"), 4), "INVALID_OFFSETS", "w");
    await expectCode(fileBytes(header("[4]", "[0,null]"), 4), "INVALID_OFFSETS", "w");
    await expectCode(fileBytes(header("4", "[0,4]"), 4), "INVALID_SHAPE", "w");
    // The same file with integers is fine, and whitespace between numbers is JSON.
    expect(await openBytes(fileBytes(header("[ 2 , 2 ]", "[ 0 , 4 ]"), 4))).toBeInstanceOf(SafetensorsFile);
  });

  it("requires valid Unicode strings: a lone surrogate escape is rejected, a pair is fine", async () => {
    const named = (name: string) => fileBytes(`{"${name}":${entry("U8", [1], 0, 1)}}`, 1);
    await expectCode(named("\\ud800"), "HEADER_JSON");
    await expectCode(named("a\\udc00"), "HEADER_JSON");
    await expectCode(named("\\ud800\\u0041"), "HEADER_JSON");
    await expectCode(named("\\ud800x"), "HEADER_JSON");
    await expectCode(named("\\u12G4"), "HEADER_JSON");
    await expectCode(named("tab\tinside"), "HEADER_JSON"); // a raw control character
    const pair = (await openBytes(named("\\ud83d\\ude00 \\u00e9\\n"))) as SafetensorsFile;
    expect(pair.names()).toEqual(["\u{1F600} é\n"]);
    await expectCode(
      fileBytes(`{"__metadata__":{"k":"\\udfff"},"a":${entry("U8", [1], 0, 1)}}`, 1),
      "HEADER_JSON",
    );
  });

  it("rejects a field listed twice in an entry and skips unknown fields", async () => {
    await expectCode(
      fileBytes(`{"w":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, 1),
      "DUPLICATE_KEY",
      "w",
    );
    await expectCode(
      fileBytes(`{"w":{"dtype":"U8","shape":[1],"shape":[1],"data_offsets":[0,1]}}`, 1),
      "DUPLICATE_KEY",
      "w",
    );
    await expectCode(
      fileBytes(`{"__metadata__":{"k":"v","k":"w"},"a":${entry("U8", [1], 0, 1)}}`, 1),
      "METADATA",
    );
    const extra = `{"w":{"dtype":"U8","note":{"x":[1.5,-2e3,true,null,"s"]},"shape":[1],"data_offsets":[0,1]}}`;
    expect(await openBytes(fileBytes(extra, 1))).toBeInstanceOf(SafetensorsFile);
    await expectCode(
      fileBytes(`{"w":{"dtype":"U8","note":{"x":1,"x":2},"shape":[1],"data_offsets":[0,1]}}`, 1),
      "HEADER_JSON",
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
