// Fuzzed safetensors files through the built reader: thousands of mutations of valid files (byte-level
// and structured header edits), each judged by an independent oracle (safetensors-oracle.ts). Counts:
// crashes (anything but a SafetensorsError), hangs, invalid files accepted, valid files rejected, and
// accepted files whose tensors read back other bytes than the oracle expects. All must be 0.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  isNumericDType,
  openSafetensors,
  Rng,
  SafetensorsError,
  saveSafetensors,
  Tensor,
  writeSafetensors,
} from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DTYPE_BITS, judge } from "./safetensors-oracle.js";

/** A variant slower than this counts as a hang (files here are at most a few kilobytes). */
const HANG_MS = 2_000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x-st-fuzz-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const enc = new TextEncoder();
type Part = string | Uint8Array;
const bytesOf = (parts: Part[]): Uint8Array => {
  const chunks = parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

/** A file from header bytes (padded with `pad` spaces), an optional length override, and data bytes. */
function fileOf(header: Uint8Array, data: Uint8Array, length?: bigint, pad = 0): Uint8Array {
  const h = new Uint8Array(header.length + pad).fill(0x20);
  h.set(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

interface Base {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly headerLen: number;
  /** The header as editable parts. */
  readonly entries: Entry[];
  readonly metadata: [string, string][] | null;
  readonly data: Uint8Array;
}

interface Entry {
  name: Part[]; // the JSON string contents (escaped text or raw bytes), without quotes
  fields: [string, Part[]][]; // key -> raw JSON value
}

async function bases(): Promise<Base[]> {
  const rng = new Rng(99);
  const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const sets: [string, Record<string, Tensor>, Record<string, string> | undefined, "reference" | "given"][] =
    [
      [
        "mixed",
        {
          "a.weight": Tensor.fromFloat32("F32", [3, 5], normal(15)),
          "a.bias": Tensor.fromFloat32("BF16", [5], normal(5)),
          ids: Tensor.fromNumbers("I64", [2], [1, 2]),
          m: Tensor.fromNumbers("BOOL", [3], [1, 0, 1]),
        },
        { note: "fuzz" },
        "reference",
      ],
      [
        "unaligned",
        {
          b: Tensor.fromNumbers("U8", [3], [1, 2, 3]),
          h: Tensor.fromFloat32("F16", [2, 2], normal(4)),
          d: Tensor.fromFloat32("F64", [2], normal(2)),
          empty: Tensor.zeros("F32", [0, 4]),
          "ünï/😀": Tensor.fromNumbers("I32", [1], [7]),
        },
        undefined,
        "given",
      ],
      ["scalar", { s: Tensor.fromFloat32("F32", [], Float32Array.of(1.5)) }, { format: "pt" }, "reference"],
    ];
  const out: Base[] = [];
  for (const [name, tensors, metadata, order] of sets) {
    const path = join(dir, `base-${name}.safetensors`);
    if (order === "given") {
      const specs = Object.entries(tensors).map(([n, t]) => ({ name: n, dtype: t.dtype, shape: t.shape }));
      await writeSafetensors(path, specs, (s) => tensors[s.name], { order: "given", format: null });
    } else await saveSafetensors(path, tensors, { metadata });
    const bytes = new Uint8Array(await (await import("node:fs/promises")).readFile(path));
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<
      string,
      unknown
    >;
    const entries: Entry[] = [];
    let meta: [string, string][] | null = null;
    for (const [k, v] of Object.entries(json)) {
      if (k === "__metadata__") {
        meta = Object.entries(v as Record<string, string>);
        continue;
      }
      const e = v as { dtype: string; shape: number[]; data_offsets: number[] };
      entries.push({
        name: [JSON.stringify(k).slice(1, -1)],
        fields: [
          ["dtype", [JSON.stringify(e.dtype)]],
          ["shape", [JSON.stringify(e.shape)]],
          ["data_offsets", [JSON.stringify(e.data_offsets)]],
        ],
      });
    }
    out.push({ name, bytes, headerLen, entries, metadata: meta, data: bytes.subarray(8 + headerLen) });
    expect(judge(bytes).valid, `base ${name}`).toBe(true);
  }
  return out;
}

/** Header bytes from entries and metadata (separators and surrounding text adjustable). */
function headerOf(
  entries: Entry[],
  metadata: [string, string][] | null,
  style: { sep?: string; open?: Part; close?: Part } = {},
): Uint8Array {
  const sep = style.sep ?? "";
  const parts: Part[] = [style.open ?? "{"];
  const members: Part[][] = [];
  if (metadata) {
    members.push([
      `"__metadata__":{${metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`,
    ]);
  }
  for (const e of entries) {
    const fields = e.fields.map(([k, v]) => [`${sep}"${k}"${sep}:${sep}`, ...v] as Part[]);
    const body: Part[] = ["{"];
    fields.forEach((f, i) => {
      if (i) body.push(",");
      body.push(...f);
    });
    body.push(`${sep}}`);
    members.push([`${sep}"`, ...e.name, `"${sep}:${sep}`, ...body]);
  }
  members.forEach((m, i) => {
    if (i) parts.push(`,${sep}`);
    parts.push(...m);
  });
  parts.push(style.close ?? "}");
  return bytesOf(parts);
}

const clone = (entries: Entry[]): Entry[] =>
  entries.map((e) => ({
    name: [...e.name],
    fields: e.fields.map(([k, v]) => [k, [...v]] as [string, Part[]]),
  }));
const field = (e: Entry, key: string): Part[] | undefined => e.fields.find(([k]) => k === key)?.[1];
const setField = (e: Entry, key: string, value: Part[]): void => {
  const f = e.fields.find(([k]) => k === key);
  if (f) f[1] = value;
  else e.fields.push([key, value]);
};
const numbers = (e: Entry, key: string): number[] => JSON.parse(String(field(e, key)![0])) as number[];

/** Structured header edits: each returns a file (header rebuilt, length prefix consistent unless noted). */
type Edit = (b: Base, rng: Rng) => Uint8Array;

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];
const rebuild = (b: Base, entries: Entry[], meta = b.metadata, style = {}, data = b.data) =>
  fileOf(headerOf(entries, meta, style), data, undefined, 0);

const EDITS: Record<string, Edit> = {
  "offset as float literal": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const [s, t] = numbers(e, "data_offsets");
    const form = pick(rng, [`${t}.0`, `${t}e0`, `${t / 100}e2`, `${t}E+0`]);
    setField(e, "data_offsets", [rng.uniform() < 0.5 ? `[${s},${form}]` : `[${s}.0,${t}]`]);
    return rebuild(b, es);
  },
  "shape as float literal": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const shape = numbers(e, "shape");
    if (shape.length === 0) shape.push(1);
    const i = rng.int(shape.length);
    const lits = shape.map(String);
    lits[i] = pick(rng, [`${shape[i]}.0`, `${shape[i]}e0`, `${shape[i]}.00`]);
    setField(e, "shape", [`[${lits.join(",")}]`]);
    return rebuild(b, es);
  },
  "negative, -0, leading zero, string or huge number": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const key = pick(rng, ["shape", "data_offsets"]);
    const xs = numbers(e, key);
    if (xs.length === 0) xs.push(0);
    const lits = xs.map(String);
    const i = rng.int(lits.length);
    lits[i] = pick(rng, [
      `-${xs[i]}`,
      "-0",
      `0${xs[i]}`,
      `"${xs[i]}"`,
      "18446744073709551615",
      "9007199254740993",
      "null",
      "true",
    ]);
    setField(e, key, [`[${lits.join(",")}]`]);
    return rebuild(b, es);
  },
  "overlapping offsets": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const [s, t] = numbers(e, "data_offsets");
    const k = 1 + rng.int(Math.max(1, t - s + 2));
    setField(e, "data_offsets", [`[${Math.max(0, s - k)},${Math.max(0, t - k)}]`]);
    return rebuild(b, es);
  },
  "gap or out-of-range offsets": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const [s, t] = numbers(e, "data_offsets");
    const k = 1 + rng.int(64);
    setField(e, "data_offsets", [`[${s + k},${t + k}]`]);
    return rebuild(b, es);
  },
  "offsets swapped": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const [s, t] = numbers(e, "data_offsets");
    setField(e, "data_offsets", [`[${t},${s}]`]);
    return rebuild(b, es);
  },
  "offsets not a pair": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const [s, t] = numbers(e, "data_offsets");
    setField(e, "data_offsets", [pick(rng, [`[${s}]`, `[${s},${t},${t}]`, "[]", `${t}`, `{"0":${s}}`])]);
    return rebuild(b, es);
  },
  "dtype changed": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    setField(e, "dtype", [JSON.stringify(pick(rng, [...Object.keys(DTYPE_BITS), "F128", "f32", "", "U8 "]))]);
    return rebuild(b, es);
  },
  "dtype not a string": (b, rng) => {
    const es = clone(b.entries);
    setField(pick(rng, es), "dtype", [pick(rng, ["32", "null", '["F32"]', "{}"])]);
    return rebuild(b, es);
  },
  "shape changed": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const shape = numbers(e, "shape");
    const kind = rng.int(4);
    let next: number[];
    if (kind === 0)
      next = [...shape].reverse(); // same element count: still valid
    else if (kind === 1) next = [...shape, 1, 1];
    else if (kind === 2) next = shape.map((d) => d + rng.int(3));
    else next = [rng.int(2 ** 30), rng.int(2 ** 30), rng.int(2 ** 30), 0];
    setField(e, "shape", [JSON.stringify(next)]);
    return rebuild(b, es);
  },
  "rank at and over the limit": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const shape = numbers(e, "shape");
    const ones = Array(Math.max(0, pick(rng, [1024, 1025, 5000]) - shape.length)).fill(1);
    setField(e, "shape", [JSON.stringify([...shape, ...ones])]);
    return rebuild(b, es);
  },
  "field missing": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    e.fields.splice(rng.int(e.fields.length), 1);
    return rebuild(b, es);
  },
  "field listed twice": (b, rng) => {
    const es = clone(b.entries);
    const e = pick(rng, es);
    const f = pick(rng, e.fields);
    e.fields.push([f[0], [...f[1]]]);
    return rebuild(b, es);
  },
  "tensor listed twice": (b, rng) => {
    const es = clone(b.entries);
    es.push(clone([pick(rng, es)])[0]);
    return rebuild(b, es);
  },
  "unknown field (skipped)": (b, rng) => {
    const es = clone(b.entries);
    const value = pick(rng, [
      "1.5e-3",
      '{"a":[1,{"b":null}],"c":"\\u00e9"}',
      "[true,false,null,-0.0]",
      `${"[".repeat(10)}${"]".repeat(10)}`,
      `${"[".repeat(63)}${"]".repeat(63)}`,
      `${"[".repeat(1000)}${"]".repeat(1000)}`,
      '{"x":1,"x":2}',
      '"\\ud800"',
      "[1,]",
      "01",
    ]);
    pick(rng, es).fields.splice(rng.int(3), 0, [`extra${rng.int(3)}`, [value]]);
    return rebuild(b, es);
  },
  "name escapes and surrogates": (b, rng) => {
    const es = clone(b.entries);
    const piece = pick(rng, [
      "\\ud800",
      "\\udc00",
      "\\ud800\\u0041",
      "\\ud83d\\ude00",
      '\\u00e9\\n\\t\\\\\\/\\"',
      "\\x41",
      "\\u12G4",
      "\\u00",
      "\\",
    ]);
    const e = pick(rng, es);
    e.name = rng.uniform() < 0.5 ? [...e.name, piece] : [piece, ...e.name];
    return rebuild(b, es);
  },
  "name with raw bytes": (b, rng) => {
    const es = clone(b.entries);
    const raw = pick(rng, [
      [0xff],
      [0xc0, 0x80], // overlong NUL
      [0xed, 0xa0, 0x80], // a surrogate encoded directly (CESU-8)
      [0xe2, 0x82], // truncated sequence
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0x01], // raw control character
      [0x09], // raw tab
      [0xc3, 0xa9], // é: valid
      [0xf0, 0x9f, 0x98, 0x80], // 😀: valid
    ]);
    const e = pick(rng, es);
    e.name = [...e.name, Uint8Array.from(raw)];
    return rebuild(b, es);
  },
  "metadata edits": (b, rng) => {
    const kind = rng.int(6);
    const meta = b.metadata ?? [["k", "v"]];
    if (kind === 0) return rebuild(b, b.entries, null); // no metadata: valid
    const members = meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    let value: string;
    if (kind === 1)
      value = `{${[...members, members[0]].join(",")}}`; // duplicate key
    else if (kind === 2)
      value = `{${[...members, `"n":${pick(rng, ["1", "null", "true", '{"a":"b"}', '["x"]'])}`].join(",")}}`;
    else if (kind === 3) value = pick(rng, ["null", "[]", '"pt"', "1"]);
    else if (kind === 4)
      value = `{${[...members, '"__proto__":"x"', '"":""'].join(",")}}`; // valid
    else value = `{${[...members, '"s":"\\udfff"'].join(",")}}`;
    const es = clone(b.entries);
    const header = bytesOf([
      `{"__metadata__":${value}`,
      ...(es.length ? [","] : []),
      headerOf(es, null).subarray(1),
    ]);
    return fileOf(header, b.data);
  },
  "metadata listed twice": (b) => {
    const header = headerOf(clone(b.entries), b.metadata ?? [["k", "v"]]);
    return fileOf(bytesOf(['{"__metadata__":{},', header.subarray(1)]), b.data);
  },
  "whitespace between tokens": (b, rng) =>
    rebuild(b, clone(b.entries), b.metadata, {
      sep: pick(rng, [" ", "\n", "\t", "\r\n ", "\f", "\u00a0", "\v"]),
    }),
  "entries reordered": (b, rng) => {
    const es = clone(b.entries);
    for (let i = es.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [es[i], es[j]] = [es[j], es[i]];
    }
    return rebuild(b, es);
  },
  "text around the object": (b, rng) => {
    const [open, close] = pick(rng, [
      ["\ufeff{", "}"],
      [" {", "}"],
      ["{", "}x"],
      ["{", "}}"],
      ["{", "} \n\t"],
      ["{", ""],
      ["[{", "}]"],
      ["{", "},{}"],
    ] as [string, string][]);
    return rebuild(b, clone(b.entries), b.metadata, { open, close });
  },
  "empty header": (b, rng) =>
    fileOf(
      enc.encode(pick(rng, ["{}", "{ }", "{}  ", "{\n}"])),
      rng.uniform() < 0.5 ? new Uint8Array() : b.data,
    ),
  "data truncated or extended": (b, rng) => {
    const k = 1 + rng.int(8);
    const data =
      rng.uniform() < 0.5
        ? b.data.subarray(0, Math.max(0, b.data.length - k))
        : bytesOf([b.data, new Uint8Array(k)]);
    return fileOf(headerOf(clone(b.entries), b.metadata), data);
  },
  "length prefix off": (b, rng) => {
    const header = headerOf(clone(b.entries), b.metadata);
    const delta = pick(rng, [-3, -2, -1, 1, 2, 3, 8, 1000]);
    return fileOf(header, b.data, BigInt(Math.max(0, header.length + delta)));
  },
  "length prefix huge": (b, rng) => {
    const v = pick(rng, [100_000_001n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 99_999_999n]);
    return fileOf(headerOf(clone(b.entries), b.metadata), b.data, v);
  },
};

/** Byte-level mutations of a whole file (bit flips, overwrites, truncation, splices). */
const INTERESTING = [
  0, 1, 0x7f, 0x80, 0xff, 0x22, 0x2c, 0x2e, 0x3a, 0x5b, 0x5d, 0x5c, 0x7b, 0x7d, 0x30, 0x39, 0x2d, 0x20, 0x65,
];
function mutateBytes(b: Base, rng: Rng): [string, Uint8Array] {
  let m: Uint8Array = b.bytes.slice();
  const kind = rng.int(6);
  if (kind === 0) {
    for (let k = 0, c = 1 + rng.int(4); k < c; k++) m[rng.int(m.length)] ^= 1 << rng.int(8);
    return ["bit flips", m];
  }
  if (kind === 1) {
    for (let k = 0, c = 1 + rng.int(3); k < c; k++) m[8 + rng.int(b.headerLen)] = pick(rng, INTERESTING);
    return ["header byte overwritten", m];
  }
  if (kind === 2) return ["truncated", m.slice(0, rng.int(m.length))];
  if (kind === 3) {
    const digits: number[] = [];
    for (let i = 8; i < 8 + b.headerLen; i++) if (m[i] >= 0x30 && m[i] <= 0x39) digits.push(i);
    m[pick(rng, digits)] = 0x30 + rng.int(10);
    return ["header digit changed", m];
  }
  if (kind === 4) {
    // Delete or duplicate a header byte range, keeping the length prefix.
    const a = 8 + rng.int(b.headerLen);
    const e = Math.min(8 + b.headerLen, a + 1 + rng.int(12));
    const dup = rng.uniform() < 0.5;
    const joined = new Uint8Array(m.length + (dup ? e - a : -(e - a)));
    joined.set(m.subarray(0, dup ? e : a));
    joined.set(m.subarray(dup ? a : e), dup ? e : a);
    return [dup ? "header range duplicated" : "header range deleted", joined];
  }
  m = bytesOf([m, new Uint8Array(1 + rng.int(16)).map(() => rng.int(256))]);
  return ["trailing bytes", m];
}

interface Counts {
  variants: number;
  valid: number;
  invalid: number;
  crashes: number;
  hangs: number;
  invalidAccepted: number;
  validRejected: number;
  wrongData: number;
  maxMs: number;
  byFamily: Record<string, number>;
  byCode: Record<string, number>;
  problems: string[];
}

/** Opens `bytes` as a file with the built reader, reads every tensor, and scores it against the oracle. */
async function score(c: Counts, family: string, bytes: Uint8Array, path: string): Promise<void> {
  c.variants++;
  c.byFamily[family] = (c.byFamily[family] ?? 0) + 1;
  const verdict = judge(bytes);
  if (verdict.valid) c.valid++;
  else c.invalid++;
  await writeFile(path, bytes);
  const t0 = performance.now();
  let outcome: "accepted" | string;
  try {
    const f = await openSafetensors(path);
    try {
      if (verdict.valid) {
        const names = f.names();
        const expected = verdict.tensors.map((t) => t.name);
        if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
          c.wrongData++;
          c.problems.push(`${family}: names ${JSON.stringify(names)} != ${JSON.stringify(expected)}`);
        }
        for (const t of verdict.tensors) {
          const raw = await f.readBytes(t.name);
          const want = bytes.subarray(t.start, t.end);
          const info = f.info(t.name);
          if (
            !Buffer.from(raw).equals(Buffer.from(want)) ||
            info?.dtype !== t.dtype ||
            info.shape.join() !== t.shape.join()
          ) {
            c.wrongData++;
            c.problems.push(`${family}: tensor ${JSON.stringify(t.name)} reads back differently`);
          }
          if (isNumericDType(info!.dtype)) {
            const decoded = await f.readFloat32(t.name);
            if (decoded.length !== t.shape.reduce((a, d) => a * d, 1)) c.wrongData++;
          }
        }
      } else {
        for (const name of f.names()) await f.readBytes(name);
      }
    } finally {
      await f.close();
    }
    outcome = "accepted";
  } catch (e) {
    if (!(e instanceof SafetensorsError)) {
      c.crashes++;
      c.problems.push(`${family}: crash ${(e as Error)?.stack ?? String(e)}`);
      outcome = "crash";
    } else outcome = e.code;
  }
  const ms = performance.now() - t0;
  c.maxMs = Math.max(c.maxMs, ms);
  if (ms > HANG_MS) {
    c.hangs++;
    c.problems.push(`${family}: ${ms.toFixed(0)} ms`);
  }
  c.byCode[outcome] = (c.byCode[outcome] ?? 0) + 1;
  if (outcome === "accepted" && !verdict.valid) {
    c.invalidAccepted++;
    c.problems.push(`${family}: invalid file accepted (${verdict.reason})`);
  }
  if (outcome !== "accepted" && outcome !== "crash" && verdict.valid) {
    c.validRejected++;
    c.problems.push(`${family}: valid file rejected with ${outcome}`);
  }
}

describe("fuzzed safetensors through the built reader", () => {
  it("4,000+ variants: 0 crashes, 0 hangs, 0 invalid files accepted, 0 valid files rejected", async () => {
    const bs = await bases();
    const rng = new Rng(20240613);
    const c: Counts = {
      variants: 0,
      valid: 0,
      invalid: 0,
      crashes: 0,
      hangs: 0,
      invalidAccepted: 0,
      validRejected: 0,
      wrongData: 0,
      maxMs: 0,
      byFamily: {},
      byCode: {},
      problems: [],
    };
    const path = join(dir, "variant.safetensors");
    for (const b of bs) await score(c, "unmodified", b.bytes, path);
    for (let i = 0; i < 2_000; i++) {
      const [family, bytes] = mutateBytes(pick(rng, bs), rng);
      await score(c, family, bytes, path);
    }
    const edits = Object.entries(EDITS);
    for (let round = 0; round < 80; round++) {
      for (const [family, edit] of edits) await score(c, family, edit(pick(rng, bs), rng), path);
    }
    console.log(
      [
        `safetensors fuzz: ${c.variants} variants (${c.valid} valid, ${c.invalid} invalid by the oracle)`,
        `  crashes ${c.crashes}, hangs ${c.hangs} (slowest ${c.maxMs.toFixed(1)} ms), invalid accepted ${c.invalidAccepted}, ` +
          `valid rejected ${c.validRejected}, wrong data ${c.wrongData}`,
        `  outcomes: ${Object.entries(c.byCode)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
        `  families: ${Object.entries(c.byFamily)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
      ].join("\n"),
    );
    expect(c.problems.slice(0, 10)).toEqual([]);
    expect(c.variants).toBeGreaterThanOrEqual(3_000);
    expect([c.crashes, c.hangs, c.invalidAccepted, c.validRejected, c.wrongData]).toEqual([0, 0, 0, 0, 0]);
    // The variants reach both verdicts and many distinct rejection codes.
    expect(c.valid).toBeGreaterThan(300);
    expect(Object.keys(c.byCode).length).toBeGreaterThanOrEqual(12);
  });
});
