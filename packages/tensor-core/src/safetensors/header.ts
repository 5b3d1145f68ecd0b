// safetensors header: parsing with the reference reader's validation, and building headers for the writer.

import { isUtf8 } from "node:buffer";
import { byteLengthOf, type DType, dtypeInfo, isDType, numelOf } from "../dtype.js";
import { SafetensorsError } from "../errors.js";
import { type HeaderJson, HeaderProblem, parseHeaderJson } from "./header-json.js";

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
  /** The same entries by tensor name. */
  readonly byName: ReadonlyMap<string, SafetensorsEntry>;
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

/** `[2, 3, 4]`, cut after 16 dimensions (a hostile header may hold millions). */
export function formatShape(shape: readonly number[]): string {
  const shown =
    shape.length > 16 ? `${shape.slice(0, 16).join(", ")}, … (${shape.length} dimensions)` : shape.join(", ");
  return `[${shown}]`;
}

/**
 * Bytes of a tensor of `dtype` and `shape`, or -1 when the element count overflows 2^53 - 1 (multiplied in
 * order, like the reference's checked multiplication) or the bits are not whole bytes.
 */
function tensorBytes(dtype: DType, shape: readonly number[]): number {
  let numel = 1;
  for (let i = 0; i < shape.length; i++) {
    numel *= shape[i];
    if (!Number.isSafeInteger(numel)) return -1;
  }
  return byteLengthOf(dtype, numel);
}

/** Parses and validates the header JSON bytes of a file of `fileSize` bytes. */
export function parseHeader(file: string, json: Uint8Array, fileSize: number): SafetensorsHeader {
  const headerLength = json.length;
  if (!isUtf8(json)) throw new SafetensorsError("HEADER_UTF8", file, "header is not valid UTF-8");
  let parsed: HeaderJson;
  try {
    parsed = parseHeaderJson(json);
  } catch (cause) {
    if (cause instanceof HeaderProblem) {
      throw new SafetensorsError(cause.code, file, cause.message, cause.tensor, { cause });
    }
    throw cause;
  }
  const entries = parsed.entries;
  let sorted = true;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.end < e.begin) {
      throw new SafetensorsError(
        "INVALID_OFFSETS",
        file,
        `data_offsets [${e.begin}, ${e.end}] end before they begin`,
        e.name,
      );
    }
    const bytes = tensorBytes(e.dtype, e.shape);
    if (bytes < 0) {
      throw new SafetensorsError(
        "INVALID_SHAPE",
        file,
        `shape ${formatShape(e.shape)} of ${e.dtype} overflows or is not whole bytes`,
        e.name,
      );
    }
    if (e.end - e.begin !== bytes) {
      throw new SafetensorsError(
        "SIZE_MISMATCH",
        file,
        `shape ${formatShape(e.shape)} of ${e.dtype} needs ${bytes} bytes but data_offsets [${e.begin}, ${e.end}] hold ${e.end - e.begin}`,
        e.name,
      );
    }
    if (i > 0 && byOffsets(entries[i - 1], e) > 0) sorted = false;
  }
  // Like the reference: order by (begin, end), then each entry must start where the previous one ended.
  if (!sorted) entries.sort(byOffsets);
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
  const meta = parsed.metadata;
  let record: Readonly<Record<string, string>> | undefined;
  return {
    headerLength,
    dataOffset,
    dataLength: expected,
    entries,
    byName: parsed.byName,
    // Built on first use: a hostile header's millions of keys cost nothing unless someone asks for them.
    get metadata() {
      if (meta === null) return null;
      record ??= metadataRecord(meta);
      return record;
    },
  };
}

/** A frozen plain object of the metadata ("__proto__" stays an ordinary own key). */
function metadataRecord(meta: ReadonlyMap<string, string>): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [k, v] of meta) {
    if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
    else out[k] = v;
  }
  return Object.freeze(out);
}

function byOffsets(a: SafetensorsEntry, b: SafetensorsEntry): number {
  return a.begin - b.begin || a.end - b.end;
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
        `invalid shape ${formatShape(s.shape)} for ${s.dtype}`,
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
