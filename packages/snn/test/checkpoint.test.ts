import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, saveSafetensors, Tensor } from "@x/tensor-core";
import { afterAll, describe, expect, it } from "vitest";
import {
  evaluateCheckpoint,
  FastSnn,
  initModel,
  loadData,
  loadModel,
  type ModelSpec,
  overriddenSettings,
  paramTable,
  SnnCheckpointError,
  SnnConfigError,
  SnnDataError,
  saveModel,
  sewMlp,
  sewResNet,
} from "../src/index.js";
import { fashionSample, randomModel } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "snn-ckpt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the model's tensors as a foreign framework would (no x-snn metadata), with optional edits. */
async function writeForeign(
  file: string,
  spec: ModelSpec = sewMlp({ hidden: 16, blocks: 1 }),
  edit?: (m: Map<string, Tensor>) => void,
) {
  const m = randomModel(spec, 5);
  const tensors = new Map<string, Tensor>();
  for (const p of paramTable(spec))
    tensors.set(p.name, new Tensor("F32", [...p.shape], m.tensor(p.name).slice()));
  edit?.(tensors);
  await saveSafetensors(file, tensors);
  return m;
}

describe("checkpoints", () => {
  it("save → load round-trips every tensor and the spec", async () => {
    for (const spec of [sewMlp({ hidden: 32 }), sewResNet()]) {
      const m = initModel(spec, new Rng(3));
      const f = join(dir, `${spec.kind}.safetensors`);
      await saveModel(m, f);
      const back = await loadModel(f);
      expect(back.spec).toEqual(spec);
      expect(back.genome).toEqual(m.genome);
    }
  });

  it("a checkpoint written elsewhere with the same names evaluates identically (spec inferred from shapes)", async () => {
    const f = join(dir, "foreign.safetensors");
    const m = await writeForeign(f, sewMlp({ hidden: 16, blocks: 1 }), (t) => {
      // PyTorch writes num_batches_tracked (I64); it is accepted and ignored
      t.set("bn1.num_batches_tracked", new Tensor("I64", [], new BigInt64Array([100n])));
    });
    const back = await loadModel(f);
    expect(back.spec).toEqual(m.spec);
    const data = fashionSample(50);
    expect(new FastSnn(back).logits(data.images)).toEqual(new FastSnn(m).logits(data.images));
    // F16 / BF16 tensors are decoded to float32
    const f16 = join(dir, "f16.safetensors");
    await writeForeign(f16, sewMlp({ hidden: 16, blocks: 1 }), (t) => {
      t.set("fc.weight", (t.get("fc.weight") as Tensor).to("F16"));
    });
    expect((await loadModel(f16)).tensor("fc.weight").length).toBe(160);
    const conv = join(dir, "foreign-conv.safetensors");
    await writeForeign(conv, sewResNet({ stemChannels: 4 }));
    expect((await loadModel(conv)).spec).toEqual(sewResNet({ stemChannels: 4 }));
  });

  it("a missing tensor is named", async () => {
    const f = join(dir, "missing.safetensors");
    await writeForeign(f, undefined, (t) => t.delete("blocks.0.bn2.running_var"));
    await expect(loadModel(f)).rejects.toThrow(SnnCheckpointError);
    await expect(loadModel(f)).rejects.toThrow(/tensor "blocks.0.bn2.running_var": missing/);
  });

  it("a misshaped tensor is named with both shapes", async () => {
    const f = join(dir, "shape.safetensors");
    await writeForeign(f, undefined, (t) =>
      t.set("blocks.0.fc1.weight", new Tensor("F32", [16, 15], new Float32Array(240))),
    );
    await expect(loadModel(f)).rejects.toThrow(
      /tensor "blocks.0.fc1.weight": shape \[16,15\] does not match the model's \[16,16\]/,
    );
  });

  it("a dtype the model cannot take is named", async () => {
    const f = join(dir, "dtype.safetensors");
    await writeForeign(f, undefined, (t) => t.set("bn1.weight", new Tensor("I32", [16], new Int32Array(16))));
    await expect(loadModel(f)).rejects.toThrow(/tensor "bn1.weight": dtype I32 cannot be used/);
  });

  it("an unexpected tensor, a non-SEW file and a missing file are refused with the file named", async () => {
    const f = join(dir, "extra.safetensors");
    await writeForeign(f, undefined, (t) =>
      t.set("projector.0.weight", new Tensor("F32", [2], new Float32Array(2))),
    );
    await expect(loadModel(f)).rejects.toThrow(/tensor "projector.0.weight": unexpected/);
    const g = join(dir, "other.safetensors");
    await saveSafetensors(g, { x: new Tensor("F32", [1], new Float32Array(1)) });
    await expect(loadModel(g)).rejects.toThrow(/fc.weight/);
    await expect(loadModel(join(dir, "nope.safetensors"))).rejects.toThrow(/nope.safetensors/);
  });

  it("saving leaves no temporary files, and a failed save leaves nothing", async () => {
    const sub = mkdtempSync(join(dir, "atomic-"));
    await saveModel(initModel(sewMlp({ hidden: 8 }), new Rng(1)), join(sub, "m.safetensors"));
    expect(readdirSync(sub)).toEqual(["m.safetensors"]);
    await expect(
      saveModel(initModel(sewMlp({ hidden: 8 }), new Rng(1)), join(sub, "no-such-dir", "m.safetensors")),
    ).rejects.toThrow();
    expect(readdirSync(sub)).toEqual(["m.safetensors"]);
  });
});

describe("evaluateCheckpoint and data files", () => {
  it("scores a checkpoint on a data file: accuracy and a predictions checksum that changes with the predictions", async () => {
    const m = randomModel(sewMlp({ hidden: 32 }), 9);
    const f = join(dir, "eval.safetensors");
    await saveModel(m, f);
    const data = fashionSample(60, 4);
    const df = join(dir, "data.safetensors");
    await saveSafetensors(df, {
      images: new Tensor("F32", [60, 28, 28], data.images),
      labels: new Tensor("U8", [60], data.labels),
    });
    const r = await evaluateCheckpoint(f, { data: df });
    const preds = new FastSnn(m).predict(data.images);
    let correct = 0;
    for (let i = 0; i < 60; i++) if (preds[i] === data.labels[i]) correct++;
    expect(r.count).toBe(60);
    expect(r.correct).toBe(correct);
    expect(r.predictionsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    const other = randomModel(sewMlp({ hidden: 32 }), 10);
    await saveModel(other, f);
    expect((await evaluateCheckpoint(f, { data: df })).predictionsSha256).not.toBe(r.predictionsSha256);
  });

  it("a class a built-in data set does not have is refused before the checkpoint is read", async () => {
    const absent = join(dir, "absent-model.safetensors");
    const flag = (k: string) => `--${k}`;
    await expect(evaluateCheckpoint(absent, { data: "mnist", classes: [0, 10, 12] }, flag)).rejects.toThrow(
      new SnnConfigError("--classes: mnist has classes 0..9, not 10, 12"),
    );
    await expect(evaluateCheckpoint(absent, { classes: [10] })).rejects.toThrow(
      "classes: fashion-mnist has classes 0..9, not 10",
    );
  });

  it("overriddenSettings: the settings a file's own spec overrode, the neuron too once one differs", () => {
    const spec = sewMlp({ hidden: 16, timeSteps: 4, connect: "ADD" });
    const other = { ...spec.neuron, vThreshold: spec.neuron.vThreshold + 1 };
    expect(overriddenSettings({}, spec)).toEqual([]);
    expect(overriddenSettings({ timeSteps: 4, connect: "ADD", neuron: spec.neuron }, spec)).toEqual([]);
    expect(overriddenSettings({ timeSteps: 8, connect: "ADD" }, spec)).toEqual(["timeSteps"]);
    expect(overriddenSettings({ connect: "IAND", neuron: spec.neuron }, spec)).toEqual(["connect", "neuron"]);
    expect(overriddenSettings({ neuron: other }, spec)).toEqual(["neuron"]);
  });

  it("a data path that does not exist, or a file without labels, is a typed error naming the file", async () => {
    await expect(loadData(join(dir, "absent.safetensors"))).rejects.toThrow(SnnDataError);
    await expect(loadData(join(dir, "absent.safetensors"))).rejects.toThrow(
      /absent.safetensors: data file does not exist/,
    );
    const df = join(dir, "nolabels.safetensors");
    await saveSafetensors(df, { images: new Tensor("F32", [1, 784], new Float32Array(784)) });
    await expect(loadData(df)).rejects.toThrow(/tensor "labels" is missing/);
    await expect(loadData("cifar")).rejects.toThrow(/cifar/);
  });
});
