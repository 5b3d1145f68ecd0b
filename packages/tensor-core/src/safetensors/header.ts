// safetensors header: parsing with the reference reader's validation, and building headers for the writer.

import { byteLengthOf, DTYPES, type DType, dtypeInfo, isDType, numelOf } from "../dtype.js";
import { SafetensorsError } from "../errors.js";
import { JsonSyntaxError, type JsonValue, parseJsonStrict } from "./json.js";

/** The reference reader's maximum header length (bytes). */
export const MAX_HEADER_SIZE = 100_000_000;

/** One tensor's header entry; `begin`/`end` are byte offsets relative to the data buffer. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A parsed and validated header. */
export interface SafetensorsHeader {
  /** N, the JSON header length in bytes. */
  readonly headerLength: number;
  /** File offset of the data buffer (8 + N). */
  readonly dataOffset: number;
  /** Bytes in the data buffer. */
  readonly dataLength: number;
  /** Entries in data-offset order. */
  readonly entries: readonly SafetensorsEntry[];
  /** `__metadata__`, or null when absent. */
  readonly metadata: Readonly<Record<string, string>> | null;
}

/** Reads the little-endian u64 header length; throws for values above `maxHeaderSize` without allocating. */
export function readHeaderLength(
  file: string,
  prefix: Uint8Array,
  fileSize: number,
  maxHeaderSize: number,
): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsError(
      "HEADER_TOO_SMALL",
      file,
      `file is ${fileSize} bytes, shorter than the 8-byte header length`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const n = hi * 4294967296 + lo;
  if (hi >= 0x200000 || n > maxHeaderSize) {
    throw new SafetensorsError(
      "HEADER_TOO_LARGE",
      file,
      `header length ${hi >= 0x200000 ? `>= 2^53` : n} exceeds the limit of ${maxHeaderSize} bytes`,
    );
  }
  if (8 + n > fileSize) {
    throw new SafetensorsError(
      "HEADER_LENGTH",
      file,
      `header length ${n} runs past the end of the ${fileSize}-byte file`,
    );
  }
  return n;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isPlainObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses and validates the header JSON bytes of a file of `fileSize` bytes. */
export function parseHeader(file: string, json: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = json.length;
  let text: string;
  try {
    text = utf8.decode(json);
  } catch (cause) {
    throw new SafetensorsError("HEADER_UTF8", file, "header is not valid UTF-8", undefined, { cause });
  }
  if (!text.startsWith("{")) {
    throw new SafetensorsError(
      "HEADER_START",
      file,
      `header must start with '{', got ${JSON.stringify(text.slice(0, 16))}`,
    );
  }
  let root: JsonValue;
  try {
    root = parseJsonStrict(text);
  } catch (cause) {
    if (cause instanceof JsonSyntaxError && cause.duplicateKey !== undefined) {
      throw new SafetensorsError(
        "DUPLICATE_KEY",
        file,
        "the header lists this key twice",
        cause.duplicateKey,
        { cause },
      );
    }
    const msg = cause instanceof Error ? cause.message : String(cause);
    throw new SafetensorsError("HEADER_JSON", file, `header is not valid JSON: ${msg}`, undefined, { cause });
  }
  if (!isPlainObject(root)) throw new SafetensorsError("HEADER_JSON", file, "header JSON is not an object");

  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const name of Object.keys(root)) {
    const value = root[name];
    if (name === "__metadata__") {
      metadata = parseMetadata(file, value);
      continue;
    }
    entries.push(parseEntry(file, name, value));
  }

  // Like the reference: order by (begin, end), then each entry must start where the previous one ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin !== expected) {
      const problem =
        e.begin < expected
          ? `data_offsets [${e.begin}, ${e.end}] overlap the previous tensor, which ends at ${expected}`
          : `data_offsets [${e.begin}, ${e.end}] leave a gap after byte ${expected}`;
      throw new SafetensorsError("INVALID_OFFSETS", file, problem, e.name);
    }
    expected = e.end;
  }
  const dataOffset = 8 + headerLength;
  if (dataOffset + expected !== fileSize) {
    throw new SafetensorsError(
      "FILE_SIZE",
      file,
      `header describes ${expected} data bytes (file size ${dataOffset + expected}) but the file has ${fileSize} bytes` +
        (fileSize < dataOffset + expected ? " (truncated?)" : ""),
    );
  }
  return { headerLength, dataOffset, dataLength: expected, entries, metadata };
}

function parseMetadata(file: string, value: JsonValue): Record<string, string> | null {
  if (value === null) return null;
  if (!isPlainObject(value))
    throw new SafetensorsError("METADATA", file, "__metadata__ must be an object of strings");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new SafetensorsError(
        "METADATA",
        file,
        `__metadata__ value for ${JSON.stringify(k)} is not a string`,
      );
    }
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: false, configurable: false });
  }
  return out;
}

function isOffset(v: JsonValue): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(file: string, name: string, value: JsonValue): SafetensorsEntry {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(
      "INVALID_ENTRY",
      file,
      "entry must be an object with dtype, shape and data_offsets",
      name,
    );
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== "string")
    throw new SafetensorsError("INVALID_ENTRY", file, "missing or non-string dtype", name);
  if (!isDType(dtype)) {
    throw new SafetensorsError(
      "UNKNOWN_DTYPE",
      file,
      `unknown dtype ${JSON.stringify(dtype)} (known: ${DTYPES.join(", ")})`,
      name,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isOffset)) {
    throw new SafetensorsError(
      "INVALID_SHAPE",
      file,
      "shape must be an array of non-negative integers",
      name,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isOffset(offsets[0]) || !isOffset(offsets[1])) {
    throw new SafetensorsError(
      "INVALID_OFFSETS",
      file,
      "data_offsets must be [begin, end] non-negative integers",
      name,
    );
  }
  const begin = offsets[0];
  const end = offsets[1];
  if (end < begin)
    throw new SafetensorsError(
      "INVALID_OFFSETS",
      file,
      `data_offsets [${begin}, ${end}] end before they begin`,
      name,
    );
  const dims = shape as number[];
  const numel = numelOf(dims);
  const bytes = numel < 0 ? -1 : byteLengthOf(dtype, numel);
  if (bytes < 0) {
    throw new SafetensorsError(
      "INVALID_SHAPE",
      file,
      `shape [${dims.join(", ")}] of ${dtype} overflows or is not whole bytes`,
      name,
    );
  }
  if (end - begin !== bytes) {
    throw new SafetensorsError(
      "SIZE_MISMATCH",
      file,
      `shape [${dims.join(", ")}] of ${dtype} needs ${bytes} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      name,
    );
  }
  return { name, dtype, shape: Object.freeze([...dims]), begin, end };
}

/** A tensor to be written: its header facts. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** "reference": descending dtype rank then name, like the Rust/Python writer; "given": the order passed in. */
export type LayoutOrder = "reference" | "given";

/** Orders specs for the data buffer. The reference writer compares names bytewise (UTF-8 = code point order). */
export function layoutOrder<T extends TensorSpec>(specs: readonly T[], order: LayoutOrder): T[] {
  const out = [...specs];
  if (order === "reference") {
    out.sort((a, b) => dtypeInfo(b.dtype).rank - dtypeInfo(a.dtype).rank || compareUtf8(a.name, b.name));
  }
  return out;
}

function compareUtf8(a: string, b: string): number {
  // Code point order equals UTF-8 byte order; compare via code points.
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  while (true) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = (x.value as string).codePointAt(0) as number;
    const cy = (y.value as string).codePointAt(0) as number;
    if (cx !== cy) return cx - cy;
  }
}

/** Header bytes (JSON padded with spaces to a multiple of 8) plus entries for specs in layout order. */
export interface BuiltHeader {
  readonly bytes: Uint8Array;
  readonly entries: readonly SafetensorsEntry[];
  readonly dataLength: number;
}

/**
 * Builds the header for `ordered` specs (already in layout order) and optional metadata, serialized like the
 * reference writer (compact JSON, `__metadata__` first, then tensors in data order).
 */
export function buildHeader(
  file: string,
  ordered: readonly TensorSpec[],
  metadata: Readonly<Record<string, string>> | null,
): BuiltHeader {
  const seen = new Set<string>();
  const entries: SafetensorsEntry[] = [];
  let offset = 0;
  const parts: string[] = [];
  if (metadata !== null) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string")
        throw new SafetensorsError(
          "METADATA",
          file,
          `metadata value for ${JSON.stringify(k)} is not a string`,
        );
    }
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  for (const s of ordered) {
    if (s.name === "__metadata__")
      throw new SafetensorsError("INVALID_ENTRY", file, "reserved tensor name", s.name);
    if (seen.has(s.name)) throw new SafetensorsError("DUPLICATE_KEY", file, "tensor listed twice", s.name);
    seen.add(s.name);
    if (!isDType(s.dtype))
      throw new SafetensorsError("UNKNOWN_DTYPE", file, `unknown dtype ${JSON.stringify(s.dtype)}`, s.name);
    const numel = numelOf(s.shape);
    const bytes = numel < 0 ? -1 : byteLengthOf(s.dtype, numel);
    if (bytes < 0)
      throw new SafetensorsError(
        "INVALID_SHAPE",
        file,
        `invalid shape [${s.shape.join(", ")}] for ${s.dtype}`,
        s.name,
      );
    const entry = {
      name: s.name,
      dtype: s.dtype,
      shape: Object.freeze([...s.shape]),
      begin: offset,
      end: offset + bytes,
    };
    entries.push(entry);
    parts.push(
      `${JSON.stringify(s.name)}:{"dtype":"${s.dtype}","shape":[${s.shape.join(",")}],"data_offsets":[${entry.begin},${entry.end}]}`,
    );
    offset += bytes;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded);
  bytes.fill(0x20, 8);
  bytes.set(json, 8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  if (padded > MAX_HEADER_SIZE) {
    throw new SafetensorsError(
      "HEADER_TOO_LARGE",
      file,
      `header of ${padded} bytes exceeds the ${MAX_HEADER_SIZE}-byte limit readers accept`,
    );
  }
  return { bytes, entries, dataLength: offset };
}
