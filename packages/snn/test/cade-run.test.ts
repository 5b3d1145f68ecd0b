import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CADE_RUN_FILE,
  CadeSettingsError,
  checkCadeRunSettings,
  describeSpec,
  genomesChecksum,
  initModel,
  loadPopulation,
  SnnCheckpointError,
  SnnConfigError,
  saveModel,
  sewMlp,
  sewResNet,
} from "../src/index.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "snn-cade-run-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("describeSpec", () => {
  it("names architecture, time steps, connect, classes and neuron", () => {
    const mlp = sewMlp({ hidden: 32, blocks: 2, classes: 4 });
    expect(describeSpec(mlp)).toMatch(/^sew-mlp H 32 K 2, T \d+, (ADD|AND|IAND), 4 classes, (LIF|IF)/);
    const res = sewResNet({ stemChannels: 8, stages: [{ channels: 16, blocks: 1, stride: 2 }] });
    expect(describeSpec(res)).toContain("sew-resnet stem 8 stages 16x1/2,");
  });
});

describe("checkCadeRunSettings", () => {
  const settings = { arm: { kind: "cade" }, seed: 1, generations: 3 };

  it("writes the settings, accepts them on resume and names the keys that differ", async () => {
    const ck = join(dir, "ck");
    await checkCadeRunSettings(ck, settings, false);
    expect(JSON.parse(readFileSync(join(ck, CADE_RUN_FILE), "utf8"))).toEqual(settings);
    await checkCadeRunSettings(ck, { ...settings }, true);
    const other = { ...settings, arm: { kind: "constant" }, seed: 2 };
    const err = await checkCadeRunSettings(ck, other, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CadeSettingsError);
    expect(err).toBeInstanceOf(SnnConfigError);
    expect((err as CadeSettingsError).keys).toEqual(["arm", "seed"]);
    expect((err as Error).message).toBe(`${ck} holds a run with other settings (arm, seed)`);
    // a fresh run replaces the settings
    await checkCadeRunSettings(ck, other, false);
    expect(JSON.parse(readFileSync(join(ck, CADE_RUN_FILE), "utf8"))).toEqual(other);
    expect(readdirSync(ck)).toEqual([CADE_RUN_FILE]);
  });

  it("on resume without stored settings writes them", async () => {
    await checkCadeRunSettings(dir, settings, true);
    expect(JSON.parse(readFileSync(join(dir, CADE_RUN_FILE), "utf8"))).toEqual(settings);
  });
});

describe("loadPopulation and genomesChecksum", () => {
  it("loads members of one model and refuses another model, naming both", async () => {
    const spec = sewMlp({ hidden: 8, blocks: 1, classes: 3 });
    const files = [0, 1].map((i) => join(dir, `m${i}.safetensors`));
    const models = [initModel(spec, new Rng(1)), initModel(spec, new Rng(2))];
    for (let i = 0; i < 2; i++) await saveModel(models[i]!, files[i]!);
    const pop = await loadPopulation(files);
    expect(pop.spec).toEqual(models[0]!.spec);
    expect(pop.genomes.map((g) => Array.from(g))).toEqual(models.map((m) => Array.from(m.genome)));
    expect(genomesChecksum(pop.genomes)).toBe(genomesChecksum(models.map((m) => m.genome)));
    expect(genomesChecksum(pop.genomes)).not.toBe(genomesChecksum([pop.genomes[1]!, pop.genomes[0]!]));

    const odd = join(dir, "odd.safetensors");
    await saveModel(initModel(sewMlp({ hidden: 16, blocks: 1, classes: 3 }), new Rng(3)), odd);
    const err = await loadPopulation([...files, odd]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnnCheckpointError);
    expect((err as SnnCheckpointError).file).toBe(odd);
    expect((err as Error).message).toContain(`a different model than ${files[0]} (sew-mlp H 16 K 1`);
    await expect(loadPopulation([])).rejects.toThrow(SnnConfigError);
  });

  it("checksums the bytes: a genome of other values differs", () => {
    const a = new Float32Array([1, 2, 3]);
    expect(genomesChecksum([a])).toMatch(/^[0-9a-f]{64}$/);
    expect(genomesChecksum([a])).not.toBe(genomesChecksum([new Float32Array([1, 2, 4])]));
  });
});
