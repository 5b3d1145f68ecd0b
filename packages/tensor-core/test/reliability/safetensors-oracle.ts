// An independent statement of which safetensors files are valid, for the fuzz test to judge the reader
// by. Written plainly and separately from src/safetensors (a tokenizer plus a tree of raw tokens): the
// reader parses bytes in one pass for speed and memory, this one decodes the whole text and keeps every
// number's literal, so a shared bug is unlikely. The rules are those of docs/safetensors.md.

export type Verdict =
  | { readonly valid: true; readonly tensors: readonly OracleTensor[] }
  | { readonly valid: false; readonly reason: string };

export interface OracleTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute file offsets of the tensor's bytes. */
  readonly start: number;
  readonly end: number;
}

/** Bits per element of every dtype the format defines. */
export const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

const LIMIT = 100_000_000;
const MAX_RANK = 1024;
const MAX_DEPTH = 64;

type Node =
  | { kind: "object"; members: [string, Node][] }
  | { kind: "array"; items: Node[] }
  | { kind: "string"; value: string }
  | { kind: "number"; literal: string }
  | { kind: "literal"; value: boolean | null };

class Invalid extends Error {}

function invalid(reason: string): never {
  throw new Invalid(reason);
}

/** Parses JSON text into raw nodes (numbers keep their literal). Throws Invalid. */
function parseJson(text: string): Node {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = (depth: number): Node => {
    if (depth > MAX_DEPTH + 2) invalid("too deep");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const members: [string, Node][] = [];
      ws();
      if (text[i] === "}") {
        i++;
        return { kind: "object", members };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') invalid("key expected");
        const key = str();
        ws();
        if (text[i++] !== ":") invalid("colon expected");
        members.push([key, value(depth + 1)]);
        ws();
        const d = text[i++];
        if (d === "}") return { kind: "object", members };
        if (d !== ",") invalid("comma expected");
      }
    }
    if (c === "[") {
      i++;
      const items: Node[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return { kind: "array", items };
      }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        const d = text[i++];
        if (d === "]") return { kind: "array", items };
        if (d !== ",") invalid("comma expected");
      }
    }
    if (c === '"') return { kind: "string", value: str() };
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return { kind: "literal", value: v };
      }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) invalid("value expected");
    i += m[0].length;
    return { kind: "number", literal: m[0] };
  };
  const str = (): string => {
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) invalid("unterminated string");
      const c = text[i++];
      if (c === '"') break;
      if (c.charCodeAt(0) < 0x20) invalid("control character");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = text[i++];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e in simple) out += simple[e];
      else if (e === "u") {
        const hex = text.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) invalid("bad \\u");
        out += String.fromCharCode(Number.parseInt(hex, 16));
        i += 4;
      } else invalid("bad escape");
    }
    if (!out.isWellFormed()) invalid("lone surrogate");
    return out;
  };
  const root = value(0);
  ws();
  if (i !== text.length) invalid("trailing characters");
  return root;
}

function checkNoDuplicates(node: Node): void {
  if (node.kind === "object") {
    const keys = new Set<string>();
    for (const [k, v] of node.members) {
      if (keys.has(k)) invalid(`duplicate key ${k}`);
      keys.add(k);
      checkNoDuplicates(v);
    }
  } else if (node.kind === "array") node.items.forEach(checkNoDuplicates);
}

/** The nesting level of the deepest value inside `node`, counting `node` itself as level `level`. */
function deepest(node: Node, level: number): number {
  const children =
    node.kind === "object" ? node.members.map(([, v]) => v) : node.kind === "array" ? node.items : [];
  let d = level;
  for (const c of children) d = Math.max(d, deepest(c, level + 1));
  return d;
}

function integers(node: Node | undefined, what: string, max: number): number[] {
  if (node?.kind !== "array") invalid(`${what} is not an array`);
  if (node.items.length > max) invalid(`${what} too long`);
  return node.items.map((n) => {
    if (n.kind !== "number" || !/^(0|[1-9][0-9]*)$/.test(n.literal)) invalid(`${what} has a non-integer`);
    const v = Number(n.literal);
    if (!Number.isSafeInteger(v)) invalid(`${what} above 2^53 - 1`);
    return v;
  });
}

/** The verdict on a whole file's bytes. */
export function judge(file: Uint8Array): Verdict {
  try {
    return { valid: true, tensors: check(file) };
  } catch (e) {
    if (e instanceof Invalid) return { valid: false, reason: e.message };
    throw e;
  }
}

function check(file: Uint8Array): OracleTensor[] {
  if (file.length < 8) invalid("shorter than 8 bytes");
  const n = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(LIMIT)) invalid("header too large");
  const headerEnd = 8 + Number(n);
  if (headerEnd > file.length) invalid("header past the end");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(file.subarray(8, headerEnd));
  } catch {
    return invalid("not UTF-8");
  }
  if (!text.startsWith("{")) invalid("does not start with {");
  const root = parseJson(text);
  if (root.kind !== "object") invalid("not an object");
  checkNoDuplicates(root);
  const tensors: OracleTensor[] = [];
  for (const [name, node] of root.members) {
    if (name === "__metadata__") {
      if (node.kind === "literal" && node.value === null) continue;
      if (node.kind !== "object") invalid("metadata not an object");
      for (const [, v] of node.members) if (v.kind !== "string") invalid("metadata value not a string");
      continue;
    }
    if (node.kind !== "object") invalid("entry not an object");
    const fields = new Map(node.members);
    for (const [k, v] of node.members) {
      // An unknown field's value sits at level 2 (the header object is 0, the entry 1).
      if (k !== "dtype" && k !== "shape" && k !== "data_offsets" && deepest(v, 2) > MAX_DEPTH) {
        invalid("unknown field too deep");
      }
    }
    const dtype = fields.get("dtype");
    if (dtype?.kind !== "string") invalid("dtype missing or not a string");
    const bits = DTYPE_BITS[dtype.value];
    if (bits === undefined) invalid("unknown dtype");
    const shape = integers(fields.get("shape"), "shape", MAX_RANK);
    const offsets = integers(fields.get("data_offsets"), "data_offsets", 2);
    if (offsets.length !== 2) invalid("data_offsets not a pair");
    const [begin, end] = offsets;
    if (end < begin) invalid("end before begin");
    let numel = 1;
    for (const d of shape) {
      numel *= d;
      if (!Number.isSafeInteger(numel)) invalid("element count overflows");
    }
    const totalBits = numel * bits;
    if (!Number.isSafeInteger(totalBits) || totalBits % 8 !== 0) invalid("not whole bytes");
    if (end - begin !== totalBits / 8) invalid("size mismatch");
    tensors.push({ name, dtype: dtype.value, shape, start: headerEnd + begin, end: headerEnd + end });
  }
  const sorted = [...tensors].sort((a, b) => a.start - b.start || a.end - b.end);
  let at = headerEnd;
  for (const t of sorted) {
    if (t.start !== at) invalid("offsets do not tile the data");
    at = t.end;
  }
  if (at !== file.length) invalid("file size differs");
  return sorted;
}
