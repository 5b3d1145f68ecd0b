import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveSafetensors, Tensor } from "@x/tensor-core";
import { afterAll, describe, expect, it } from "vitest";
import { cadeArmOf, loadCadeData, SnnConfigError } from "../src/index.js";

const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

describe("cadeArmOf", () => {
  it("builds each arm; CR0 defaults to F0; jRand only when asked", () => {
    expect(cadeArmOf({ arm: "cade", f0: 0.01 })).toEqual({
      kind: "cade",
      f0: 0.01,
      cr0: 0.01,
      fMin: undefined,
      halfPeriod: undefined,
      jRand: false,
    });
    expect(cadeArmOf({ arm: "constant", f0: 0.5, cr0: 0.9, jRand: true })).toEqual({
      kind: "constant",
      f: 0.5,
      cr: 0.9,
      jRand: true,
    });
    expect(cadeArmOf({ arm: "linear", f0: 0.1, fMin: 0.01 })).toEqual({
      kind: "linear",
      f0: 0.1,
      cr0: 0.1,
      fMin: 0.01,
    });
    expect(cadeArmOf({ arm: "jitter", f0: 0.1, halfPeriod: 4 })).toMatchObject({
      kind: "jitter",
      halfPeriod: 4,
    });
  });

  it("refuses settings the arm does not take, naming them as asked", () => {
    expect(() => cadeArmOf({ arm: "linear", f0: 0.1, jRand: true }, flag)).toThrow(
      "--j-rand does not apply to --arm linear",
    );
    expect(() => cadeArmOf({ arm: "constant", f0: 0.1, fMin: 0.01 })).toThrow(
      "fMin does not apply to arm constant",
    );
    expect(() => cadeArmOf({ arm: "linear", f0: 0.1, halfPeriod: 3 })).toThrow(SnnConfigError);
  });
});

describe("loadCadeData", () => {
  const dir = mkdtempSync(join(tmpdir(), "snn-cade-data-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function dataFile(name: string, labels: number[]): Promise<string> {
    const file = join(dir, name);
    const images = new Float32Array(labels.length * 784);
    labels.forEach((_, i) => {
      images[i * 784] = i; // tell the images apart
    });
    await saveSafetensors(file, {
      images: new Tensor("F32", [labels.length, 784], images),
      labels: new Tensor("U8", [labels.length], Uint8Array.from(labels)),
    });
    return file;
  }

  it("holds validation out per class, samples the fitness set from the rest, reproducibly", async () => {
    const file = await dataFile("d.safetensors", [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    const o = { data: file, classes: [2, 0], valPerClass: 1, fitnessSize: 4, seed: 3 };
    const d = await loadCadeData(o);
    expect(d.classes).toBe(2);
    expect([d.train.count, d.val.count, d.fitnessSet.count]).toEqual([6, 2, 4]);
    expect(d.test).toBeNull();
    expect(d.fitnessRef).toMatchObject({ data: file, split: "train", classes: [2, 0] });
    expect(new Set(d.fitnessRef.indices).size).toBe(4);
    expect((await loadCadeData(o)).fitnessRef).toEqual(d.fitnessRef);
    // the validation images are not in the fitness set
    const firstPixels = (s: { images: Float32Array; count: number }) =>
      Array.from({ length: s.count }, (_, i) => s.images[i * 784]);
    const val = new Set(firstPixels(d.val));
    for (const p of firstPixels(d.fitnessSet)) expect(val.has(p)).toBe(false);
  });

  it("takes validation and test files, and refuses an empty validation set or too large a fitness set", async () => {
    const file = await dataFile("e.safetensors", [0, 0, 1, 1]);
    const valFile = await dataFile("v.safetensors", [1, 0, 5]);
    const d = await loadCadeData({
      data: file,
      classes: [0, 1],
      valPerClass: 1,
      valData: valFile,
      testData: valFile,
      fitnessSize: 4,
      seed: 1,
    });
    expect([d.train.count, d.val.count, d.test?.count]).toEqual([4, 2, 2]);
    await expect(loadCadeData({ data: file, valPerClass: 0, fitnessSize: 1, seed: 1 }, flag)).rejects.toThrow(
      "the validation set is empty (--val-per-class or --val-data)",
    );
    await expect(loadCadeData({ data: file, valPerClass: 1, fitnessSize: 3, seed: 1 }, flag)).rejects.toThrow(
      "--fitness-size 3 exceeds the 2 training images",
    );
  });
});
