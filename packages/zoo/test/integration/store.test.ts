import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backboneKeys,
  buildZoo,
  evaluateModelDir,
  quickZooConfig,
  readBackbone,
  type Zoo,
} from "../../src/index.js";

// A 2-task zoo trained for real (small), written to a temp cache, then reloaded and evaluated from disk.
describe("zoo build / cache / eval", () => {
  let root: string;
  let zoo: Zoo;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "x-zoo-"));
    const cfg = { ...quickZooConfig(3, 2), sizes: { train: 120, val: 40, test: 60, pretrainPerSource: 100 } };
    zoo = await buildZoo(cfg, { root, workers: 0 });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("trains experts far above chance (10 classes) on their own task", () => {
    expect(zoo.cached).toBe(false);
    expect(zoo.summary.tasks.map((t) => t.name)).toEqual(["mnist-digits", "fashion-classes"]);
    for (const t of zoo.summary.tasks) expect(t.expertTest).toBeGreaterThan(0.4);
  });

  it("writes safetensors model directories that reload bit-identically from the cache", async () => {
    const ckpt = await openCheckpoint(join(zoo.dir, "experts", "mnist-digits"));
    expect(ckpt.names().sort()).toEqual(
      [...backboneKeys(zoo.config.arch), "head.bias", "head.weight"].sort(),
    );
    expect(ckpt.metadata?.format).toBe("pt");
    await ckpt.close();
    const again = await buildZoo(zoo.config, { root, workers: 0 });
    expect(again.cached).toBe(true);
    expect(again.summary).toEqual(zoo.summary);
    for (const k of backboneKeys(zoo.config.arch)) {
      expect(again.experts[1]!.backbone.get(k)!.data).toEqual(zoo.experts[1]!.backbone.get(k)!.data);
      expect(again.experts[0]!.fisher.get(k)!.data).toEqual(zoo.experts[0]!.fisher.get(k)!.data);
      expect(again.joint.backbone.get(k)!.data).toEqual(zoo.joint.backbone.get(k)!.data);
    }
    expect(again.experts[0]!.grams.get("backbone.fc2.weight")!.data).toEqual(
      zoo.experts[0]!.grams.get("backbone.fc2.weight")!.data,
    );
    expect(again.joint.heads[1]!.weight.data).toEqual(zoo.joint.heads[1]!.weight.data);
  });

  it("evaluates a model directory with every task head (expert heads, or the model's own joint heads)", async () => {
    const expert = await evaluateModelDir(join(zoo.dir, "experts", "fashion-classes"));
    expect(expert.headSource).toBe("expert");
    expect(expert.tasks[1]!.accuracy).toBeCloseTo(zoo.summary.tasks[1]!.expertTest, 10);
    const joint = await evaluateModelDir(join(zoo.dir, "joint"));
    expect(joint.headSource).toBe("model");
    expect(joint.tasks.map((t) => t.accuracy)).toEqual(zoo.summary.tasks.map((t) => t.jointTest));
  });

  it("names the file and tensor on bad input", async () => {
    const bad = join(root, "bad");
    await expect(evaluateModelDir(bad, { zooDir: zoo.dir })).rejects.toThrow(/bad/);
    await expect(
      readBackbone(join(zoo.dir, "experts", "mnist-digits"), { input: 784, hidden: [7] }),
    ).rejects.toThrow(/backbone.fc1.*shape/);
    const noZoo = join(root, "nozoo");
    await (await import("node:fs/promises")).mkdir(noZoo);
    await writeFile(join(noZoo, "config.json"), "{}");
    await expect(evaluateModelDir(noZoo)).rejects.toThrow(/zoo_dir/);
  });
});
