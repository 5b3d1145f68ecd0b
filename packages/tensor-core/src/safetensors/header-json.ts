// The safetensors header JSON, parsed in one pass over its bytes straight into tensor entries, with the
// reference reader's rules (docs/safetensors.md):
//   - the header is UTF-8 JSON: an object of tensor entries plus an optional "__metadata__" string map;
//   - strings follow RFC 8259: no raw control characters, known escapes only, and a \u escape of a UTF-16
//     surrogate must pair (a high one followed by a low one), so every string is valid Unicode;
//   - a tensor entry has exactly one "dtype" (string), "shape" (array of integers) and "data_offsets"
//     (array of two integers); other fields are skipped (the reference ignores unknown fields);
//   - shapes and offsets are non-negative integer literals: "256.0", "2.56e2" and "-0" are rejected, and so
//     is anything above 2^53 - 1 (exact in a JavaScript number; files that large do not exist);
//   - a shape has at most MAX_RANK dimensions (a limit the reference does not have; see MAX_RANK);
//   - no key appears twice in an object (JSON.parse would keep the last one silently).
// Memory: the bytes are never decoded to one string and no generic JSON tree is built; what stays is the
// entries themselves (names, shapes) and the metadata, about what the header says, not a multiple of it.

import { DTYPES, type DType, isDType } from "../dtype.js";
import type { SafetensorsErrorCode } from "../errors.js";

/** One tensor entry as written in the header (offsets relative to the data buffer). */
export interface HeaderEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

export interface HeaderJson {
  /** Entries in header order. */
  readonly entries: HeaderEntry[];
  /** The same entries by name. */
  readonly byName: Map<string, HeaderEntry>;
  /** `__metadata__` (a Map: a plain object of millions of keys takes seconds to build). */
  readonly metadata: ReadonlyMap<string, string> | null;
}

/** A header that breaks a rule: the SafetensorsError code, the problem, and the tensor it concerns. */
export class HeaderProblem extends Error {
  readonly code: SafetensorsErrorCode;
  readonly tensor: string | undefined;
  constructor(code: SafetensorsErrorCode, problem: string, tensor?: string) {
    super(problem);
    this.code = code;
    this.tensor = tensor;
  }
}

/**
 * Most dimensions a shape may have. The reference has no limit; numpy allows 64 (32 before 2.0), so 1,024
 * rejects no file a framework writes, and keeps a hostile shape of millions of dimensions out of memory.
 */
export const MAX_RANK = 1024;

/** Nesting limit for values the reader skips (unknown fields); deeper input is rejected, not recursed into. */
const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const DIGIT0 = 0x30;
const DIGIT9 = 0x39;

function isDigit(c: number): boolean {
  return c >= DIGIT0 && c <= DIGIT9;
}

/** A short, printable rendering of a key or value for messages (long ones cut). */
export function quoteForMessage(s: string, max = 80): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

class Parser {
  pos = 0;
  readonly bytes: Uint8Array;
  readonly text: Buffer;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(problem: string, code: SafetensorsErrorCode = "HEADER_JSON", tensor?: string): never {
    throw new HeaderProblem(code, `${problem} (at byte ${this.pos} of the header)`, tensor);
  }

  ws(): void {
    const b = this.bytes;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  /** The next non-space byte (-1 at the end), not consumed. */
  peek(): number {
    this.ws();
    return this.pos < this.bytes.length ? this.bytes[this.pos] : -1;
  }

  expect(c: number, what: string): void {
    if (this.peek() !== c) this.fail(`expected ${what}`);
    this.pos++;
  }

  /** After a member: true if another follows (a comma), false at the closing `close`. */
  more(close: number, what: string): boolean {
    const c = this.peek();
    if (c === COMMA) {
      this.pos++;
      return true;
    }
    if (c === close) {
      this.pos++;
      return false;
    }
    return this.fail(`expected ',' or '${String.fromCharCode(close)}' in ${what}`);
  }

  /** A JSON string at `pos` (which holds the opening quote), decoded; `skip` validates without decoding. */
  string(skip = false): string {
    const b = this.bytes;
    let p = this.pos + 1;
    let start = p;
    let out = "";
    while (true) {
      if (p >= b.length) {
        this.pos = p;
        this.fail("unterminated string");
      }
      const c = b[p];
      if (c === QUOTE) break;
      if (c < 0x20) {
        this.pos = p;
        this.fail("raw control character in a string");
      }
      if (c !== BACKSLASH) {
        p++;
        continue;
      }
      if (!skip) out += this.text.toString("utf8", start, p);
      this.pos = p;
      const e = b[p + 1];
      p += 2;
      let ch: string;
      switch (e) {
        case 0x22:
          ch = '"';
          break;
        case 0x5c:
          ch = "\\";
          break;
        case 0x2f:
          ch = "/";
          break;
        case 0x62:
          ch = "\b";
          break;
        case 0x66:
          ch = "\f";
          break;
        case 0x6e:
          ch = "\n";
          break;
        case 0x72:
          ch = "\r";
          break;
        case 0x74:
          ch = "\t";
          break;
        case 0x75: {
          const unit = this.hex4(p);
          p += 4;
          if (unit >= 0xdc00 && unit <= 0xdfff) this.fail("lone low surrogate \\u escape in a string");
          if (unit >= 0xd800 && unit <= 0xdbff) {
            // A high surrogate must be followed by an escaped low one: together one code point.
            const low = b[p] === BACKSLASH && b[p + 1] === 0x75 ? this.hex4(p + 2) : -1;
            if (low < 0xdc00 || low > 0xdfff) this.fail("lone high surrogate \\u escape in a string");
            p += 6;
            ch = String.fromCharCode(unit, low);
          } else ch = String.fromCharCode(unit);
          break;
        }
        default:
          this.fail("invalid escape in a string");
      }
      if (!skip) out += ch;
      start = p;
    }
    if (!skip) out += this.text.toString("utf8", start, p);
    this.pos = p + 1;
    return out;
  }

  hex4(at: number): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.bytes[at + i];
      const d =
        c >= DIGIT0 && c <= DIGIT9
          ? c - DIGIT0
          : c >= 0x61 && c <= 0x66
            ? c - 0x57
            : c >= 0x41 && c <= 0x46
              ? c - 0x37
              : -1;
      if (d < 0) {
        this.pos = at;
        this.fail("invalid \\u escape in a string");
      }
      v = v * 16 + d;
    }
    return v;
  }

  /** A key: a string followed by a colon. */
  key(): string {
    if (this.peek() !== QUOTE) this.fail("expected a string key");
    const k = this.string();
    this.expect(COLON, "':' after a key");
    return k;
  }

  /** A JSON number (validated by the grammar, value unused). */
  skipNumber(): void {
    const b = this.bytes;
    let p = this.pos;
    if (b[p] === MINUS) p++;
    if (b[p] === DIGIT0) p++;
    else if (isDigit(b[p])) while (isDigit(b[p])) p++;
    else {
      this.pos = p;
      this.fail("invalid number");
    }
    if (b[p] === 0x2e) {
      p++;
      if (!isDigit(b[p])) {
        this.pos = p;
        this.fail("invalid number");
      }
      while (isDigit(b[p])) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      p++;
      if (b[p] === 0x2b || b[p] === MINUS) p++;
      if (!isDigit(b[p])) {
        this.pos = p;
        this.fail("invalid number");
      }
      while (isDigit(b[p])) p++;
    }
    this.pos = p;
  }

  /** Any JSON value, validated and dropped (unknown fields). Objects still may not repeat a key. */
  skipValue(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`value nested deeper than ${MAX_DEPTH} levels`);
    const c = this.peek();
    if (c === QUOTE) this.string(true);
    else if (c === LBRACE) {
      this.pos++;
      if (this.peek() === RBRACE) {
        this.pos++;
        return;
      }
      const seen = new Set<string>();
      do {
        const k = this.key();
        if (seen.has(k)) this.fail(`duplicate key ${quoteForMessage(k)}`);
        seen.add(k);
        this.skipValue(depth + 1);
      } while (this.more(RBRACE, "an object"));
    } else if (c === LBRACKET) {
      this.pos++;
      if (this.peek() === RBRACKET) {
        this.pos++;
        return;
      }
      do this.skipValue(depth + 1);
      while (this.more(RBRACKET, "an array"));
    } else if (c === MINUS || isDigit(c)) this.skipNumber();
    else if (!this.literal("true") && !this.literal("false") && !this.literal("null")) {
      this.fail("expected a JSON value");
    }
  }

  literal(word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.bytes[this.pos + i] !== word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }

  /** A non-negative integer literal (element `index` of a shape or the offsets), at most 2^53 - 1. */
  integer(array: string, index: number, code: SafetensorsErrorCode, tensor: string): number {
    this.ws();
    const b = this.bytes;
    const at = this.pos;
    let p = at;
    let v = 0;
    if (isDigit(b[p])) {
      if (b[p] === DIGIT0 && isDigit(b[p + 1]))
        this.fail(`${array}[${index}] has a leading zero`, code, tensor);
      while (isDigit(b[p])) {
        v = v * 10 + (b[p] - DIGIT0);
        p++;
      }
    }
    const next = b[p];
    if (p === at || next === 0x2e || next === 0x65 || next === 0x45 || b[at] === MINUS) {
      // Not a plain integer: say what it is (a float literal, a negative number, not a number).
      let shown = "";
      if (b[at] === MINUS || isDigit(b[at])) {
        this.skipNumber();
        shown = this.text.toString("latin1", at, Math.min(this.pos, at + 40));
        this.pos = at;
        this.fail(`${array}[${index}] must be a non-negative integer, got ${shown}`, code, tensor);
      }
      this.fail(`${array}[${index}] must be a non-negative integer`, code, tensor);
    }
    if (!Number.isSafeInteger(v)) {
      this.fail(
        `${array}[${index}] ${this.text.toString("latin1", at, Math.min(p, at + 40))} exceeds 2^53 - 1`,
        code,
        tensor,
      );
    }
    this.pos = p;
    return v;
  }

  /**
   * An array of at most `max` integer literals, counted before it is read, so a hostile header cannot make
   * the reader allocate an array of millions of dimensions.
   */
  integers(what: string, max: number, code: SafetensorsErrorCode, tensor: string): number[] {
    if (this.peek() !== LBRACKET) this.fail(`${what} must be an array of integers`, code, tensor);
    this.pos++;
    if (this.peek() === RBRACKET) {
      this.pos++;
      return [];
    }
    const count = this.countItems();
    if (count > max) this.fail(`${what} has ${count} elements, more than ${max}`, code, tensor);
    const out: number[] = new Array(count);
    let n = 0;
    do {
      if (n >= max) this.fail(`${what} has more than ${max} elements`, code, tensor);
      const v = this.integer(what, n, code, tensor);
      if (n < count) out[n] = v;
      else out.push(v); // only when the count stopped at something that is not an integer list
      n++;
    } while (this.more(RBRACKET, what));
    return out;
  }

  /** Items of the array at `pos` if it is a plain list of digits, commas and spaces; else 0 (unknown). */
  countItems(): number {
    const b = this.bytes;
    let commas = 0;
    for (let p = this.pos; p < b.length; p++) {
      const c = b[p];
      if (c === RBRACKET) return commas + 1;
      if (c === COMMA) commas++;
      else if (!isDigit(c) && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return 0;
    }
    return 0;
  }

  entry(name: string): HeaderEntry {
    if (this.peek() === -1) this.fail("unexpected end of the header");
    if (this.peek() !== LBRACE) {
      this.fail("entry must be an object with dtype, shape and data_offsets", "INVALID_ENTRY", name);
    }
    this.pos++;
    let dtype: DType | undefined;
    let shape: number[] | undefined;
    let offsets: number[] | undefined;
    let others: Set<string> | undefined;
    const twice = (k: string): never =>
      this.fail(`entry lists ${quoteForMessage(k)} twice`, "DUPLICATE_KEY", name);
    if (this.peek() === RBRACE) this.pos++;
    else {
      do {
        const k = this.key();
        if (k === "dtype") {
          if (dtype !== undefined) twice(k);
          if (this.peek() !== QUOTE) this.fail("dtype must be a string", "INVALID_ENTRY", name);
          const d = this.string();
          if (!isDType(d)) {
            this.fail(
              `unknown dtype ${quoteForMessage(d)} (known: ${DTYPES.join(", ")})`,
              "UNKNOWN_DTYPE",
              name,
            );
          }
          dtype = d;
        } else if (k === "shape") {
          if (shape !== undefined) twice(k);
          shape = this.integers("shape", MAX_RANK, "INVALID_SHAPE", name);
        } else if (k === "data_offsets") {
          if (offsets !== undefined) twice(k);
          offsets = this.integers("data_offsets", 2, "INVALID_OFFSETS", name);
        } else {
          others ??= new Set();
          if (others.has(k)) twice(k);
          others.add(k);
          this.skipValue(2);
        }
      } while (this.more(RBRACE, "an entry"));
    }
    if (dtype === undefined) this.fail("entry has no dtype", "INVALID_ENTRY", name);
    if (shape === undefined) this.fail("entry has no shape", "INVALID_SHAPE", name);
    if (offsets === undefined) this.fail("entry has no data_offsets", "INVALID_OFFSETS", name);
    if (offsets.length !== 2) {
      this.fail(`data_offsets must be [begin, end], got ${offsets.length} numbers`, "INVALID_OFFSETS", name);
    }
    return { name, dtype, shape: Object.freeze(shape), begin: offsets[0], end: offsets[1] };
  }

  metadata(): Map<string, string> | null {
    this.ws();
    if (this.literal("null")) return null;
    if (this.peek() !== LBRACE) this.fail("__metadata__ must be an object of strings", "METADATA");
    this.pos++;
    const out = new Map<string, string>();
    if (this.peek() === RBRACE) {
      this.pos++;
      return out;
    }
    do {
      const k = this.key();
      if (out.has(k)) this.fail(`__metadata__ lists ${quoteForMessage(k)} twice`, "METADATA");
      if (this.peek() !== QUOTE) {
        this.fail(`__metadata__ value for ${quoteForMessage(k)} is not a string`, "METADATA");
      }
      out.set(k, this.string());
    } while (this.more(RBRACE, "__metadata__"));
    return out;
  }

  header(): HeaderJson {
    if (this.bytes[0] !== LBRACE) {
      this.fail(
        `header must start with '{', got ${JSON.stringify(this.text.toString("utf8", 0, Math.min(16, this.bytes.length)))}`,
        "HEADER_START",
      );
    }
    this.pos = 1;
    const entries: HeaderEntry[] = [];
    const byName = new Map<string, HeaderEntry>();
    let metadata: Map<string, string> | null = null;
    let sawMetadata = false;
    if (this.peek() === RBRACE) this.pos++;
    else {
      do {
        const name = this.key();
        if (name === "__metadata__") {
          if (sawMetadata) this.fail("the header lists this key twice", "DUPLICATE_KEY", name);
          sawMetadata = true;
          metadata = this.metadata();
        } else {
          if (byName.has(name)) this.fail("the header lists this key twice", "DUPLICATE_KEY", name);
          const e = this.entry(name);
          byName.set(name, e);
          entries.push(e);
        }
      } while (this.more(RBRACE, "the header"));
    }
    this.ws();
    if (this.pos !== this.bytes.length) this.fail("trailing characters after the header object");
    return { entries, byName, metadata };
  }
}

/** Parses header bytes (already checked to be UTF-8) into entries and metadata; throws HeaderProblem. */
export function parseHeaderJson(bytes: Uint8Array): HeaderJson {
  return new Parser(bytes).header();
}
