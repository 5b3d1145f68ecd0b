// The live-merge bundle: written from a real (small) zoo, read back bit for bit, and the typed-array
// forward pass (`mlpAccuracy`, what the browser runs) equals the zoo's TensorFlow.js evaluation.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildZoo,
  evaluateLiveBundle,
  evaluateTasks,
  flattenBackbone,
  LiveBundleError,
  type LiveMergeBundleResult,
  mlpAccuracy,
  parseLiveManifest,
  quickZooConfig,
  readLiveMergeBundle,
  unflattenBackbone,
  writeLiveMergeBundle,
  type Zoo,
} from "../../src/index.js";

describe("live-merge bundle", () => {
  let root: string;
  let zoo: Zoo;
  let written: LiveMergeBundleResult;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "x-zoo-live-"));
    const cfg = { ...quickZooConfig(5, 3), sizes: { train: 120, val: 40, test: 90, pretrainPerSource: 100 } };
    zoo = await buildZoo(cfg, { root: join(root, "cache"), workers: 0 });
    written = await writeLiveMergeBundle({ zoo, outDir: join(root, "data"), testPerTask: 70 });
  }, 300_000);
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("writes manifest, weights and test files, and nothing else in the data folder", () => {
    expect(written.dir).toBe(join(root, "data", "live-merge"));
    expect(readdirSync(join(root, "data"))).toEqual(["live-merge"]);
    expect(readdirSync(written.dir).sort()).toEqual(["manifest.json", "test.bin", "weights.bin"]);
    expect(written.files).toEqual(["manifest.json", "test.bin", "weights.bin"]);
    const D = flattenBackbone(zoo.config.arch, zoo.pretrained.backbone).length;
    // 4 backbones (base + 3 experts) + heads, and 3 × 70 images + labels.
    const heads = zoo.experts.reduce((s, e) => s + e.head.weight.data.length + e.head.bias.data.length, 0);
    expect(written.bytes).toBeGreaterThan(4 * (4 * D + heads + 3 * 70 * 784) + 3 * 70);
    expect(written.manifest.tasks.map((t) => [t.name, t.testCount, t.testTotal])).toEqual([
      ["mnist-digits", 70, 90],
      ["fashion-classes", 70, 90],
      ["mnist-rotated", 70, 90],
    ]);
  });

  it("reads back exactly what the zoo holds", async () => {
    const b = await readLiveMergeBundle(join(root, "data"));
    const { arch } = zoo.config;
    expect(b.base).toEqual(flattenBackbone(arch, zoo.pretrained.backbone));
    zoo.experts.forEach((e, k) => {
      expect(b.models[k]).toEqual(flattenBackbone(arch, e.backbone));
      expect(b.heads[k]!.weight).toEqual(e.head.weight.data);
      expect(b.heads[k]!.bias).toEqual(e.head.bias.data);
      const t = zoo.data.tasks[k]!.test;
      expect(b.test[k]!.images).toEqual(t.images.subarray(0, 70 * 784));
      expect(b.test[k]!.labels).toEqual(t.labels.subarray(0, 70));
    });
  });

  it("scores like the zoo's TensorFlow.js evaluation: pretrained, experts, and a merged backbone", async () => {
    const b = await readLiveMergeBundle(join(root, "data"));
    const { arch } = zoo.config;
    const tfjs = (flat: Float32Array) =>
      evaluateTasks(
        arch,
        unflattenBackbone(arch, flat),
        zoo.experts.map((e, k) => ({
          head: e.head,
          data: { images: b.test[k]!.images, labels: b.test[k]!.labels, count: b.test[k]!.count },
        })),
      );
    const average = b.base.map((v, i) => v + b.models.reduce((s, m) => s + (m[i]! - v), 0) * 0.4);
    for (const flat of [b.base, ...b.models, average])
      expect(evaluateLiveBundle(b, flat)).toEqual(await tfjs(flat));
    // The expert on its own task, as the manifest records it, and far above chance.
    b.manifest.tasks.forEach((t, k) => {
      expect(t.expertTestSubset).toBe(mlpAccuracy(arch, b.models[k]!, b.heads[k]!, b.test[k]!));
      expect(t.expertTestSubset).toBeGreaterThan(0.4);
    });
  });

  it("replaces an older bundle in place and leaves no temporaries", async () => {
    const again = await writeLiveMergeBundle({ zoo, outDir: join(root, "data"), testPerTask: 10 });
    expect(again.manifest.tasks.every((t) => t.testCount === 10)).toBe(true);
    expect(readdirSync(join(root, "data"))).toEqual(["live-merge"]);
    written = await writeLiveMergeBundle({ zoo, outDir: join(root, "data"), testPerTask: 70 });
  });

  it("rejects broken manifests and files, naming the file and key", async () => {
    const m = JSON.parse(readFileSync(join(written.dir, "manifest.json"), "utf8"));
    expect(() => parseLiveManifest({ ...m, version: 9 })).toThrow(
      new LiveBundleError("live-merge/manifest.json: version is 9, expected 1"),
    );
    expect(() => parseLiveManifest({ ...m, base: { ...m.base, file: "../secret" } })).toThrow(
      /base\.file '\.\.\/secret' is not a plain data file name/,
    );
    expect(() => parseLiveManifest({ ...m, heads: m.heads.slice(1) })).toThrow(
      /heads has 2 entries for 3 tasks/,
    );
    expect(() => parseLiveManifest({ ...m, arch: { input: 784, hidden: [96, 47] } })).toThrow(
      /backbone is .*fc2\.bias \[48\].*; the architecture's layout is .*fc2\.bias \[47\]/,
    );
    const bad = join(root, "bad");
    await writeLiveMergeBundle({ zoo, outDir: bad, testPerTask: 5 });
    writeFileSync(join(bad, "live-merge", "test.bin"), new Uint8Array(10));
    await expect(readLiveMergeBundle(bad)).rejects.toThrow(
      /live-merge\/test\.bin: test\[0\]\.images needs bytes \[0, 15680\) but the file has 10/,
    );
    await expect(readLiveMergeBundle(join(root, "nowhere"))).rejects.toThrow(
      /cannot read the live-merge manifest/,
    );
    await expect(writeLiveMergeBundle({ zoo, outDir: bad, testPerTask: 0 })).rejects.toThrow(
      /testPerTask must be/,
    );
    expect(existsSync(join(bad, "live-merge", "manifest.json"))).toBe(true);
  });
});
