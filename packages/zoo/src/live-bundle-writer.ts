// Writes the live-merge bundle (see `live-bundle.ts`) of a zoo into a data folder: the demo page's live
// panel fetches it from `data/live-merge/` and merges the zoo in the browser.

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { buildZoo } from "./build.js";
import { defaultZooConfig, type ZooConfig } from "./config.js";
import { mlpAccuracy } from "./forward.js";
import { backboneLayout } from "./layout.js";
import {
  LIVE_BUNDLE_DIR,
  LIVE_BUNDLE_FORMAT,
  LIVE_BUNDLE_MANIFEST,
  LIVE_BUNDLE_VERSION,
  type LiveBundle,
  LiveBundleError,
  type LiveManifest,
  type LiveSection,
  liveBundleFiles,
  openLiveBundle,
  parseLiveManifest,
} from "./live-bundle.js";
import { flattenBackbone } from "./model.js";
import type { BuildOptions, Zoo } from "./types.js";

export interface WriteLiveMergeBundleOptions {
  /** The data folder the page is served with; the bundle goes into `<outDir>/live-merge/` (replacing one there). */
  readonly outDir: string;
  /** The zoo to bundle; default `defaultZooConfig()` (8 tasks, seed 1). Ignored when `zoo` is given. */
  readonly config?: ZooConfig;
  /** An already built or loaded zoo (skips `buildZoo`). */
  readonly zoo?: Zoo;
  /** Zoo cache root (default `$X_ZOO_CACHE` or `./.zoo-cache`); the zoo is trained there when absent. */
  readonly cacheRoot?: string;
  /** Test images per task: the first ones of each task's test split (default 200, at most the split). */
  readonly testPerTask?: number;
  /** Training threads when the zoo must be built (default 2; 0 = in-process). */
  readonly workers?: number;
  readonly progress?: BuildOptions["progress"];
}

export interface LiveMergeBundleResult {
  /** `<outDir>/live-merge` */
  readonly dir: string;
  readonly manifest: LiveManifest;
  /** Files written, manifest included, and their total size in bytes. */
  readonly files: readonly string[];
  readonly bytes: number;
}

export const LIVE_TEST_PER_TASK = 200;

/** Appends float32 / uint8 arrays to one file's worth of chunks and returns their sections. */
class BinFile {
  readonly chunks: Uint8Array[] = [];
  size = 0;
  constructor(readonly file: string) {}
  add(a: Float32Array | Uint8Array): LiveSection {
    if (a instanceof Float32Array && this.size % 4 !== 0) this.push(new Uint8Array(4 - (this.size % 4)));
    const s: LiveSection = {
      file: this.file,
      dtype: a instanceof Float32Array ? "F32" : "U8",
      offset: this.size,
      length: a.length,
    };
    // Float32Array bytes are the platform's order; every platform Node runs on is little-endian.
    this.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return s;
  }
  private push(b: Uint8Array) {
    this.chunks.push(b);
    this.size += b.byteLength;
  }
}

/**
 * Writes `<outDir>/live-merge/` for the demo page's live panel: `manifest.json` (architecture, tasks,
 * where every array lies), `weights.bin` (the pretrained backbone, each expert's fine-tuned backbone and
 * head, float32) and `test.bin` (the first `testPerTask` test images of each task, float32, and their
 * labels, uint8). Builds or loads the zoo first (`buildZoo`, from the cache when it is there). The
 * folder is written under a temporary name and renamed into place.
 */
export async function writeLiveMergeBundle(
  options: WriteLiveMergeBundleOptions,
): Promise<LiveMergeBundleResult> {
  const perTask = options.testPerTask ?? LIVE_TEST_PER_TASK;
  if (!Number.isInteger(perTask) || perTask < 1)
    throw new LiveBundleError(`testPerTask must be a whole number ≥ 1 (got ${perTask})`);
  const zoo =
    options.zoo ??
    (await buildZoo(options.config ?? defaultZooConfig(), {
      ...(options.cacheRoot !== undefined ? { root: options.cacheRoot } : {}),
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
    }));
  const { arch } = zoo.config;
  const weights = new BinFile("weights.bin");
  const test = new BinFile("test.bin");
  const base = weights.add(flattenBackbone(arch, zoo.pretrained.backbone));
  const flats = zoo.experts.map((e) => flattenBackbone(arch, e.backbone));
  const models = flats.map((f) => weights.add(f));
  const heads = zoo.experts.map((e) => ({
    weight: weights.add(e.head.weight.data),
    bias: weights.add(e.head.bias.data),
  }));
  const tasks = zoo.experts.map((e, k) => {
    const split = zoo.data.tasks[k]!.test;
    const count = Math.min(perTask, split.count);
    const images = split.images.subarray(0, count * arch.input);
    const labels = split.labels.subarray(0, count);
    const summary = zoo.summary.tasks[k]!;
    const numClasses = e.head.bias.data.length;
    return {
      info: {
        name: e.name,
        description: summary.description,
        numClasses,
        testCount: count,
        testTotal: split.count,
        expertTest: summary.expertTest,
        expertTestSubset: mlpAccuracy(
          arch,
          flats[k]!,
          { weight: e.head.weight.data, bias: e.head.bias.data, numClasses },
          { images, labels, count },
        ),
      },
      sections: { images: test.add(images), labels: test.add(labels) },
    };
  });
  const manifest: LiveManifest = {
    format: LIVE_BUNDLE_FORMAT,
    version: LIVE_BUNDLE_VERSION,
    zoo: { name: basename(zoo.dir), seed: zoo.config.seed, hash: zoo.summary.hash },
    arch: { input: arch.input, hidden: [...arch.hidden] },
    backbone: backboneLayout(arch),
    tasks: tasks.map((t) => t.info),
    base,
    models,
    heads,
    test: tasks.map((t) => t.sections),
  };
  parseLiveManifest(JSON.parse(JSON.stringify(manifest))); // what the page will check

  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const dir = join(outDir, LIVE_BUNDLE_DIR);
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const tmp = join(outDir, `.${LIVE_BUNDLE_DIR}.tmp-${tag}`);
  const old = join(outDir, `.${LIVE_BUNDLE_DIR}.old-${tag}`);
  try {
    await mkdir(tmp);
    for (const f of [weights, test]) await writeFile(join(tmp, f.file), f.chunks);
    await writeFile(join(tmp, LIVE_BUNDLE_MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
    if (existsSync(dir)) await rename(dir, old);
    await rename(tmp, dir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
  const files = [LIVE_BUNDLE_MANIFEST, ...liveBundleFiles(manifest)];
  let bytes = 0;
  for (const f of files) bytes += (await stat(join(dir, f))).size;
  return { dir, manifest, files, bytes };
}

/** Reads a bundle written by `writeLiveMergeBundle` from `<dataDir>/live-merge/` (Node; the page fetches it). */
export async function readLiveMergeBundle(dataDir: string): Promise<LiveBundle> {
  const dir = join(resolve(dataDir), LIVE_BUNDLE_DIR);
  const path = join(dir, LIVE_BUNDLE_MANIFEST);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new LiveBundleError(
      `${path}: cannot read the live-merge manifest: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const manifest = parseLiveManifest(json);
  const files = new Map<string, Uint8Array>();
  for (const f of liveBundleFiles(manifest)) files.set(f, new Uint8Array(await readFile(join(dir, f))));
  return openLiveBundle(manifest, files);
}
