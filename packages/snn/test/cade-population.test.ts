import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ImageSet } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type CadeData,
  type CadePopulationOptions,
  type CadeResult,
  cadeDocument,
  cadePopulation,
  genomesChecksum,
  initModel,
  SnnConfigError,
  saveModel,
  sewMlp,
} from "../src/index.js";

const spec = sewMlp({ hidden: 8, blocks: 1, classes: 3, timeSteps: 2 });
const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const set = (n: number): ImageSet => ({
  images: new Rng(5).fillUniform(new Float32Array(n * 784)) as Float32Array,
  labels: Uint8Array.from({ length: n }, (_, i) => i % 3),
  count: n,
});
const train = set(12);

let dir: string;
let files: string[];
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "snn-cade-pop-"));
  files = [0, 1, 2, 3].map((i) => join(dir, `m${i}.safetensors`));
  for (let i = 0; i < 4; i++) await saveModel(initModel(spec, new Rng(i + 1)), files[i]!);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const options = (o: Partial<CadePopulationOptions>): CadePopulationOptions => ({
  modelSpec: () => spec,
  size: 4,
  memberEpochs: 0,
  batchSize: 4,
  backend: "cpu",
  seed: 1,
  ...o,
});
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => "resolved",
    (e: unknown) => (e instanceof SnnConfigError ? e.message : `not an SnnConfigError: ${e}`),
  );

describe("cadePopulation", () => {
  it("loads the files with their origin", async () => {
    const pop = await cadePopulation(options({ population: files }), train, 3, flag);
    expect(pop.spec).toEqual(spec);
    expect(pop.genomes).toHaveLength(4);
    expect(pop.origin).toEqual({ files: files.map((f) => resolve(f)), sha256: genomesChecksum(pop.genomes) });
  });

  it("refuses settings that contradict the files, too few files and another class count", async () => {
    const typed = (keys: string[]) => (k: string) => keys.includes(k);
    expect(
      await refusal(
        cadePopulation(options({ population: files, given: typed(["memberEpochs"]) }), train, 3, flag),
      ),
    ).toBe("--member-epochs builds a population; --population gives one");
    expect(
      await refusal(cadePopulation(options({ population: files, given: typed(["tau"]) }), train, 3, flag)),
    ).toBe("--tau builds a population; --population gives one");
    expect(await refusal(cadePopulation(options({ population: files.slice(0, 3) }), train, 3, flag))).toBe(
      "CADE's DE/rand/1 needs at least 4 members, --population gives 3",
    );
    expect(await refusal(cadePopulation(options({ population: files }), train, 5, flag))).toBe(
      "the population has 3 classes, --data/--classes give 5",
    );
    expect(
      await refusal(cadePopulation(options({ source: files[0], given: typed(["hidden"]) }), train, 3, flag)),
    ).toBe("--hidden cannot change the model of --source (its file defines it)");
  });
});

describe("cadeDocument", () => {
  it("repeats the settings and counts, then the result without its genomes and the outcome", () => {
    const r = {
      population: [new Float32Array(1)],
      fitness: [50],
      val: [60],
      selected: 0,
      evaluations: 4,
      skipped: 0,
      curve: [],
      history: [],
      elapsedMs: 7,
    } as CadeResult;
    const outcome = {
      initial: { val: [55], bestByVal: 0, bestVal: 55, bestTest: null },
      selected: { index: 0, fitness: 50, val: 60, test: null },
      accepted: 2,
    };
    const sets = { train, val: set(3), fitnessSet: set(6), test: null } as unknown as CadeData;
    const arm = { kind: "constant", f: 0.5, cr: 0.5, jRand: false } as const;
    const run = {
      out: "o",
      spec,
      arm,
      generations: 1,
      seed: 2,
      engine: "float64",
      data: "d",
      classes: null,
    } as const;
    const doc = cadeDocument(run, sets, r, outcome, null);
    expect(Object.keys(doc)).toEqual([
      "out",
      "spec",
      "arm",
      "generations",
      "seed",
      "engine",
      "data",
      "initial",
      "fitness",
      "val",
      "selected",
      "evaluations",
      "skipped",
      "curve",
      "history",
      "elapsedMs",
      "accepted",
      "selectedScores",
      "queue",
    ]);
    expect(doc.data).toEqual({ data: "d", classes: null, train: 12, val: 3, fitness: 6, test: null });
    expect([doc.initial, doc.selectedScores, doc.accepted]).toEqual([outcome.initial, outcome.selected, 2]);
  });
});
