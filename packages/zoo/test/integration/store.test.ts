import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCheckpoint } from "@x/tensor-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  backboneKeys,
  buildZoo,
  ExpertStatsOptionError,
  evaluateModelDir,
  quickZooConfig,
  readBackbone,
  writeExpertStats,
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
  it("writeExpertStats: Fisher / Gram files beside each expert where pathOf says; same settings kept, others refused unless overwrite", async () => {
    const pathOf = (dir: string, kind: string) => join(dir, `${kind}.safetensors`);
    const first = await writeExpertStats(zoo.dir, { pathOf, tasks: ["fashion-classes"] });
    expect(first.samples).toBe(zoo.config.statsSamples);
    expect(first.files.map((f) => [f.task, f.kind, f.status, f.tensors])).toEqual([
      ["fashion-classes", "fisher", "written", 6],
      ["fashion-classes", "gram", "written", 3],
    ]);
    const expert = zoo.experts[1]!;
    const fisher = await openCheckpoint(first.files[0]!.path);
    expect(fisher.metadata).toMatchObject({ kind: "fisher", task: "fashion-classes", samples: "64" });
    // The backbone's Fisher is the zoo's own (same code, same first images of the training split).
    for (const k of backboneKeys(zoo.config.arch)) {
      const got = await fisher.readFloat32(k);
      const want = expert.fisher.get(k)!.data;
      for (let i = 0; i < got.length; i += 97) expect(got[i]).toBeCloseTo(want[i]!, 6);
    }
    expect(fisher.has("head.weight") && fisher.has("head.bias")).toBe(true);
    await fisher.close();
    const gram = await openCheckpoint(first.files[1]!.path);
    expect(gram.names().sort()).toEqual(["backbone.fc1.weight", "backbone.fc2.weight", "head.weight"]);
    const g = await gram.readFloat32("backbone.fc1.weight");
    const raw = expert.grams.get("backbone.fc1.weight")!.data;
    expect(g[0]).toBeGreaterThan(raw[0]!); // the ridge on the diagonal (a border pixel: 0 in every image)
    expect(g[1]).toBe(raw[1]);
    await gram.close();
    const again = await writeExpertStats(zoo.dir, { pathOf, tasks: ["fashion-classes"] });
    expect(again.files.map((f) => f.status)).toEqual(["kept", "kept"]);
    await expect(
      writeExpertStats(zoo.dir, { pathOf, tasks: ["fashion-classes"], samples: 8 }),
    ).rejects.toThrow(ExpertStatsOptionError);
    const other = await writeExpertStats(zoo.dir, {
      pathOf,
      tasks: ["fashion-classes"],
      samples: 8,
      overwrite: true,
    });
    expect(other.files.map((f) => f.status)).toEqual(["written", "written"]);
    await expect(writeExpertStats(zoo.dir, { pathOf, tasks: ["nope"] })).rejects.toThrow(
      /no task 'nope' \(the zoo has mnist-digits, fashion-classes\)/,
    );
  });
});
