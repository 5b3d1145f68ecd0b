import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveSafetensors, Tensor } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import {
  CADE_LIF,
  loadClassPool,
  modelSpecOf,
  NEURON_PRESETS,
  neuronFromPreset,
  SnnConfigError,
  SPIKINGJELLY_LIF,
  sewMlp,
  sewResNet,
} from "../src/index.js";

const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

describe("neuronFromPreset", () => {
  it("returns the preset unchanged without overrides", () => {
    expect(neuronFromPreset("cade-lif")).toEqual(CADE_LIF);
    expect(neuronFromPreset("spikingjelly-lif")).toEqual(SPIKINGJELLY_LIF);
    expect(neuronFromPreset("if")).toEqual(NEURON_PRESETS.if);
    expect(NEURON_PRESETS.if).toMatchObject({ kind: "if", vThreshold: 1, vReset: 0, detachReset: false });
  });

  it("applies every override; a soft reset is null; a new surrogate takes its alpha", () => {
    const n = neuronFromPreset("cade-lif", {
      tau: 3,
      decayInput: true,
      vThreshold: 0.5,
      vReset: null,
      detachReset: false,
      surrogate: "atan",
      alpha: 2,
    });
    expect(n).toEqual({
      kind: "lif",
      tau: 3,
      decayInput: true,
      vThreshold: 0.5,
      vReset: null,
      detachReset: false,
      surrogate: { kind: "atan", alpha: 2 },
    });
    // the preset's surrogate keeps its alpha unless one is given
    expect(neuronFromPreset("if", { surrogate: "sigmoid" }).surrogate).toEqual(CADE_LIF.surrogate);
    expect(neuronFromPreset("if", { alpha: 8 }).surrogate).toEqual({ kind: "sigmoid", alpha: 8 });
  });

  it("refuses LIF fields on IF and a new surrogate without alpha, naming the options as asked", () => {
    expect(() => neuronFromPreset("if", { tau: 2 })).toThrow(SnnConfigError);
    expect(() => neuronFromPreset("if", { decayInput: false })).toThrow(
      "tau and decayInput apply to LIF neurons, not neuron if",
    );
    expect(() => neuronFromPreset("if", { tau: 2 }, flag)).toThrow(
      "--tau and --decay-input apply to LIF neurons, not --neuron if",
    );
    expect(() => neuronFromPreset("cade-lif", { surrogate: "atan" }, flag)).toThrow(
      "--surrogate atan needs --alpha",
    );
  });
});

describe("modelSpecOf", () => {
  it("builds either architecture with the library's defaults for fields left undefined", () => {
    expect(modelSpecOf({ model: "sew-mlp" }, 10)).toEqual(sewMlp());
    expect(modelSpecOf({ model: "sew-resnet", hidden: undefined }, 6)).toEqual(sewResNet({ classes: 6 }));
    const s = modelSpecOf(
      {
        model: "sew-mlp",
        hidden: 32,
        blocks: 1,
        timeSteps: 2,
        connect: "IAND",
        neuron: "if",
        vThreshold: 0.5,
      },
      4,
    );
    expect(s).toEqual(
      sewMlp({
        hidden: 32,
        blocks: 1,
        timeSteps: 2,
        connect: "IAND",
        classes: 4,
        neuron: { ...NEURON_PRESETS.if, vThreshold: 0.5 },
      }),
    );
  });

  it("refuses fields of the other architecture and invalid values with SnnConfigError", () => {
    expect(() => modelSpecOf({ model: "sew-resnet", hidden: 8 }, 10, flag)).toThrow(
      "--hidden does not apply to --model sew-resnet",
    );
    expect(() => modelSpecOf({ model: "sew-mlp", stages: [] }, 10)).toThrow(
      "stages does not apply to model sew-mlp",
    );
    expect(() => modelSpecOf({ model: "sew-mlp", hidden: 0 }, 10)).toThrow(SnnConfigError);
  });
});

describe("loadClassPool", () => {
  it("relabels the classes asked for, counts classes, and refuses a class without images or an empty set", async () => {
    const dir = mkdtempSync(join(tmpdir(), "snn-pool-"));
    try {
      const file = join(dir, "data.safetensors");
      const labels = Uint8Array.from([0, 1, 1, 3, 3, 3]);
      await saveSafetensors(file, {
        images: new Tensor("F32", [labels.length, 784], new Float32Array(labels.length * 784)),
        labels: new Tensor("U8", [labels.length], labels),
      });
      const all = await loadClassPool(file, "train");
      expect(all.classes).toBe(4);
      expect(all.set.count).toBe(6);
      const some = await loadClassPool(file, "train", [3, 1]);
      expect(some.classes).toBe(2);
      expect(Array.from(some.set.labels).sort()).toEqual([0, 0, 0, 1, 1]);
      await expect(loadClassPool(file, "train", [1, 2, 4], flag)).rejects.toThrow(
        `--classes: ${file} (train) has no image of class 2, 4`,
      );
      await expect(loadClassPool(file, "test", [2])).rejects.toThrow(SnnConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("parseStages", () => {
  it("is the inverse of formatStages, stride 1 when omitted; malformed stages are SnnConfigError", async () => {
    const { formatStages, parseStages } = await import("../src/index.js");
    const stages = [
      { channels: 8, blocks: 1, stride: 2 },
      { channels: 16, blocks: 2, stride: 1 },
    ];
    expect(parseStages(formatStages(stages))).toEqual(stages);
    expect(parseStages(" 4x3 ")).toEqual([{ channels: 4, blocks: 3, stride: 1 }]);
    expect(() => parseStages("8x1/3")).toThrow(SnnConfigError);
    expect(() => parseStages("8,16")).toThrow("bad stage '8' (expected CHANNELSxBLOCKS/STRIDE, e.g. 16x1/2)");
  });
});

describe("optimizerOf", () => {
  it("fills sgd from TRAIN_DEFAULTS and adam from its own defaults; refuses sgd settings with adam", async () => {
    const { ADAM_LR, optimizerOf, TRAIN_DEFAULTS } = await import("../src/index.js");
    expect(optimizerOf({ optimizer: "sgd" })).toEqual(TRAIN_DEFAULTS.optimizer);
    expect(optimizerOf({ optimizer: "sgd", lr: 0.01, nesterov: false })).toEqual({
      ...TRAIN_DEFAULTS.optimizer,
      lr: 0.01,
      nesterov: false,
    });
    expect(optimizerOf({ optimizer: "adam" })).toEqual({ kind: "adam", lr: ADAM_LR, weightDecay: 0 });
    expect(optimizerOf({ optimizer: "adam", lr: 0.5, weightDecay: 1e-4 })).toEqual({
      kind: "adam",
      lr: 0.5,
      weightDecay: 1e-4,
    });
    expect(() => optimizerOf({ optimizer: "adam", momentum: 0.5 }, flag)).toThrow(
      "--momentum applies to --optimizer sgd",
    );
    expect(() => optimizerOf({ optimizer: "adam", nesterov: false })).toThrow(SnnConfigError);
  });
});
