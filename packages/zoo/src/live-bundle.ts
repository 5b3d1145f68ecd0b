// The live-merge bundle: the zoo's base backbone, every task's fine-tuned backbone and head, and a small
// test subset per task, as little-endian binary files described by `manifest.json`. Written in Node by
// `writeLiveMergeBundle` (`@x/zoo`), read here from bytes (`@x/zoo/browser`: no Node built-ins), so the
// demo page can merge the zoo and score the result in a browser.

import { type FlatHead, type FlatImages, mlpAccuracy } from "./forward.js";
import { backboneLayout, backboneSize, type MlpArch } from "./layout.js";

/** The bundle's folder inside a data folder, and its manifest's name. */
export const LIVE_BUNDLE_DIR = "live-merge";
export const LIVE_BUNDLE_MANIFEST = "manifest.json";
export const LIVE_BUNDLE_FORMAT = "x-live-merge";
export const LIVE_BUNDLE_VERSION = 1;

/** A run of values inside one of the bundle's binary files (offset in bytes, length in elements). */
export interface LiveSection {
  readonly file: string;
  readonly dtype: "F32" | "U8";
  readonly offset: number;
  readonly length: number;
}

export interface LiveTaskInfo {
  readonly name: string;
  readonly description: string;
  readonly numClasses: number;
  /** Test images in the bundle (the first ones of the zoo's test split) and in the whole split. */
  readonly testCount: number;
  readonly testTotal: number;
  /** The expert's test accuracy on the whole split (the zoo's summary) and on the bundle's subset. */
  readonly expertTest: number;
  readonly expertTestSubset: number;
}

export interface LiveManifest {
  readonly format: typeof LIVE_BUNDLE_FORMAT;
  readonly version: typeof LIVE_BUNDLE_VERSION;
  /** The zoo it comes from: its folder name (`zoo-s<seed>-t<tasks>-<hash>`), seed and configuration hash. */
  readonly zoo: { readonly name: string; readonly seed: number; readonly hash: string };
  readonly arch: MlpArch;
  /** The backbone tensors inside a flat backbone (`flattenBackbone` order; offsets in elements). */
  readonly backbone: readonly {
    readonly name: string;
    readonly shape: readonly number[];
    readonly offset: number;
  }[];
  readonly tasks: readonly LiveTaskInfo[];
  readonly base: LiveSection;
  readonly models: readonly LiveSection[];
  readonly heads: readonly { readonly weight: LiveSection; readonly bias: LiveSection }[];
  readonly test: readonly { readonly images: LiveSection; readonly labels: LiveSection }[];
}

/** The bundle in memory: flat backbones (views into the files' bytes), heads and test sets per task. */
export interface LiveBundle {
  readonly manifest: LiveManifest;
  readonly arch: MlpArch;
  readonly base: Float32Array;
  readonly models: readonly Float32Array[];
  readonly heads: readonly FlatHead[];
  readonly test: readonly FlatImages[];
}

/** A bundle that cannot be read: the message names the file and the key. */
export class LiveBundleError extends Error {
  override readonly name = "LiveBundleError";
}

const PLAIN_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function fail(key: string, what: string): never {
  throw new LiveBundleError(`${LIVE_BUNDLE_DIR}/${LIVE_BUNDLE_MANIFEST}: ${key} ${what}`);
}

function obj(v: unknown, key: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(key, "is not an object");
  return v as Record<string, unknown>;
}
function arr(v: unknown, key: string): unknown[] {
  if (!Array.isArray(v)) fail(key, "is not an array");
  return v;
}
function int(v: unknown, key: string, min = 0): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) fail(key, `is not an integer ≥ ${min}`);
  return v;
}
function numOrNaN(v: unknown, key: string): number {
  if (v === null) return Number.NaN;
  if (typeof v !== "number") fail(key, "is not a number");
  return v;
}
function text(v: unknown, key: string): string {
  if (typeof v !== "string") fail(key, "is not a string");
  return v;
}

function section(v: unknown, key: string, dtype: "F32" | "U8", length?: number): LiveSection {
  const o = obj(v, key);
  const file = text(o.file, `${key}.file`);
  if (!PLAIN_FILE.test(file) || file.includes("..") || file === LIVE_BUNDLE_MANIFEST)
    fail(`${key}.file`, `'${file}' is not a plain data file name`);
  if (o.dtype !== dtype) fail(`${key}.dtype`, `is ${JSON.stringify(o.dtype)}, expected "${dtype}"`);
  const offset = int(o.offset, `${key}.offset`);
  if (dtype === "F32" && offset % 4 !== 0) fail(`${key}.offset`, `${offset} is not a multiple of 4`);
  const len = int(o.length, `${key}.length`);
  if (length !== undefined && len !== length) fail(`${key}.length`, `is ${len}, expected ${length}`);
  return { file, dtype, offset, length: len };
}

/** Checks a parsed `manifest.json` (shapes that agree with the architecture, plain file names). */
export function parseLiveManifest(json: unknown): LiveManifest {
  const m = obj(json, "the manifest");
  if (m.format !== LIVE_BUNDLE_FORMAT)
    fail("format", `is ${JSON.stringify(m.format)}, expected "${LIVE_BUNDLE_FORMAT}"`);
  if (m.version !== LIVE_BUNDLE_VERSION)
    fail("version", `is ${JSON.stringify(m.version)}, expected ${LIVE_BUNDLE_VERSION}`);
  const z = obj(m.zoo, "zoo");
  const zoo = {
    name: text(z.name, "zoo.name"),
    seed: int(z.seed, "zoo.seed"),
    hash: text(z.hash, "zoo.hash"),
  };
  const a = obj(m.arch, "arch");
  const arch: MlpArch = {
    input: int(a.input, "arch.input", 1),
    hidden: arr(a.hidden, "arch.hidden").map((h, i) => int(h, `arch.hidden[${i}]`, 1)),
  };
  if (arch.hidden.length === 0) fail("arch.hidden", "is empty");
  const D = backboneSize(arch);
  const expected = backboneLayout(arch);
  const backbone = arr(m.backbone, "backbone").map((t, i) => {
    const o = obj(t, `backbone[${i}]`);
    return {
      name: text(o.name, `backbone[${i}].name`),
      shape: arr(o.shape, `backbone[${i}].shape`).map((s, k) => int(s, `backbone[${i}].shape[${k}]`, 1)),
      offset: int(o.offset, `backbone[${i}].offset`),
    };
  });
  const describe = (l: readonly { name: string; shape: readonly number[]; offset: number }[]) =>
    l.map((t) => `${t.name} [${t.shape.join(", ")}] @${t.offset}`).join("; ");
  if (describe(backbone) !== describe(expected))
    fail("backbone", `is ${describe(backbone)}; the architecture's layout is ${describe(expected)}`);
  const features = arch.hidden[arch.hidden.length - 1]!;
  const tasks = arr(m.tasks, "tasks").map((t, i) => {
    const o = obj(t, `tasks[${i}]`);
    return {
      name: text(o.name, `tasks[${i}].name`),
      description: text(o.description, `tasks[${i}].description`),
      numClasses: int(o.numClasses, `tasks[${i}].numClasses`, 2),
      testCount: int(o.testCount, `tasks[${i}].testCount`),
      testTotal: int(o.testTotal, `tasks[${i}].testTotal`),
      expertTest: numOrNaN(o.expertTest, `tasks[${i}].expertTest`),
      expertTestSubset: numOrNaN(o.expertTestSubset, `tasks[${i}].expertTestSubset`),
    };
  });
  if (tasks.length === 0) fail("tasks", "is empty");
  const n = tasks.length;
  const perTask = (key: string) => {
    const list = arr(m[key], key);
    if (list.length !== n) fail(key, `has ${list.length} entries for ${n} tasks`);
    return list;
  };
  return {
    format: LIVE_BUNDLE_FORMAT,
    version: LIVE_BUNDLE_VERSION,
    zoo,
    arch,
    backbone,
    tasks,
    base: section(m.base, "base", "F32", D),
    models: perTask("models").map((s, i) => section(s, `models[${i}]`, "F32", D)),
    heads: perTask("heads").map((h, i) => {
      const o = obj(h, `heads[${i}]`);
      const c = tasks[i]!.numClasses;
      return {
        weight: section(o.weight, `heads[${i}].weight`, "F32", c * features),
        bias: section(o.bias, `heads[${i}].bias`, "F32", c),
      };
    }),
    test: perTask("test").map((t, i) => {
      const o = obj(t, `test[${i}]`);
      const count = tasks[i]!.testCount;
      return {
        images: section(o.images, `test[${i}].images`, "F32", count * arch.input),
        labels: section(o.labels, `test[${i}].labels`, "U8", count),
      };
    }),
  };
}

/** The binary files a manifest refers to (fetch each from the bundle's folder). */
export function liveBundleFiles(manifest: LiveManifest): string[] {
  const all = [
    manifest.base,
    ...manifest.models,
    ...manifest.heads.flatMap((h) => [h.weight, h.bias]),
    ...manifest.test.flatMap((t) => [t.images, t.labels]),
  ];
  return [...new Set(all.map((s) => s.file))].sort();
}

/**
 * The bundle from its manifest and the bytes of its files (by name). Float arrays are views into the
 * bytes (little-endian float32, as the writer stores them); every section is checked to lie inside its file.
 */
export function openLiveBundle(
  manifest: LiveManifest,
  files: ReadonlyMap<string, ArrayBuffer | Uint8Array>,
): LiveBundle {
  const view = (s: LiveSection, key: string): Float32Array | Uint8Array => {
    const raw = files.get(s.file);
    if (!raw) throw new LiveBundleError(`${LIVE_BUNDLE_DIR}/${s.file}: missing (needed by ${key})`);
    const bytes = raw instanceof Uint8Array ? raw : new Uint8Array(raw);
    const size = s.length * (s.dtype === "F32" ? 4 : 1);
    if (s.offset + size > bytes.byteLength)
      throw new LiveBundleError(
        `${LIVE_BUNDLE_DIR}/${s.file}: ${key} needs bytes [${s.offset}, ${s.offset + size}) but the file has ${bytes.byteLength}`,
      );
    if (s.dtype === "U8") return bytes.subarray(s.offset, s.offset + s.length);
    const at = bytes.byteOffset + s.offset;
    // A Float32Array view needs 4-byte alignment; copy when the file's bytes sit unaligned.
    return at % 4 === 0
      ? new Float32Array(bytes.buffer, at, s.length)
      : new Float32Array(bytes.slice(s.offset, s.offset + size).buffer);
  };
  const f32 = (s: LiveSection, key: string) => view(s, key) as Float32Array;
  return {
    manifest,
    arch: manifest.arch,
    base: f32(manifest.base, "base"),
    models: manifest.models.map((s, i) => f32(s, `models[${i}]`)),
    heads: manifest.heads.map((h, i) => ({
      weight: f32(h.weight, `heads[${i}].weight`),
      bias: f32(h.bias, `heads[${i}].bias`),
      numClasses: manifest.tasks[i]!.numClasses,
    })),
    test: manifest.test.map((t, i) => ({
      images: f32(t.images, `test[${i}].images`),
      labels: view(t.labels, `test[${i}].labels`) as Uint8Array,
      count: manifest.tasks[i]!.testCount,
    })),
  };
}

/** Test accuracy per task (fractions, in the manifest's task order) of a flat backbone with each task's head. */
export function evaluateLiveBundle(bundle: LiveBundle, backbone: Float32Array): number[] {
  if (backbone.length !== bundle.base.length)
    throw new LiveBundleError(
      `backbone has ${backbone.length} values, the bundle's architecture needs ${bundle.base.length}`,
    );
  return bundle.heads.map((head, k) => mlpAccuracy(bundle.arch, backbone, head, bundle.test[k]!));
}
