/**
 * The demo tour (`x demo`): short real computations on built-in data, one section per package — merging of the
 * model zoo (several seeds), one grid identification on the IEEE 13-bus feeder with small sweeps, a short Evolver
 * run against random search, and a short CADE run on a spiking network with one sample's spikes. Returns the plain
 * result object of `tour.json`; the caller checks it against the page's schema before writing. A section that
 * fails says `status: "not-run"` with the reason, and the others still run.
 */
import os from "node:os";
import { join } from "node:path";
import { writeLiveMergeBundle } from "@x/zoo";
import { QUICK_SIZES } from "../evolver/setup.js";
import { zooConfigFor } from "../merging-8task/experiment.js";
import type { ExperimentHooks } from "../results.js";
import { tourEvolverSeed } from "./evolution.js";
import { TOUR_GRID_NOISE, tourGrid } from "./grid.js";
import { tourMerging } from "./merging.js";
import { tourSnn } from "./snn.js";
import type { DemoTour, NotRunSection, TourEvolutionRun } from "./types.js";

export const DEMO_TOUR_SECTIONS = ["merging", "grid", "evolution", "snn"] as const;
export type DemoTourSection = (typeof DEMO_TOUR_SECTIONS)[number];

export interface DemoTourOptions {
  /** The reduced configuration for tests (well under a minute). */
  readonly quick?: boolean;
  /** Seeds of every section (default 1, 2, 3; 1, 2 with `quick`). */
  readonly seeds?: readonly number[];
  /** Sections to run (default all); the others say "not-run". */
  readonly sections?: readonly DemoTourSection[];
  /** Scratch folder for models the tour trains (SNN source and population); kept between runs, resumable. */
  readonly workDir: string;
  /** Zoo cache root (default $X_ZOO_CACHE, else `<workDir>/zoo`). */
  readonly zooCache?: string;
  /** Threads for training the zoo (default 2). */
  readonly workers?: number;
  /** The command line recorded in the result. */
  readonly command?: string;
  /** Stops the tour between steps (the current step finishes first). */
  readonly signal?: AbortSignal;
  /**
   * Data folder that gets the live merge panel's bundle (`live-merge/`: the merging section's zoo of the first
   * seed, written by `@x/zoo`'s writeLiveMergeBundle) after a successful merging section; none when omitted.
   */
  readonly liveMergeDir?: string;
}

/** Sizes of each section, default and quick. */
export const DEMO_TOUR_CONFIG = {
  default: {
    seeds: [1, 2, 3],
    mergeTasks: 8,
    gridSamples: 2880,
    gridSampleSizes: [672, 2880, 10000],
    gridNoise: TOUR_GRID_NOISE,
    evolverSizes: { ...QUICK_SIZES, pretrain: 1000, train: 300, dev: 100, test: 300, oodTest: 60 },
    evolverGenerations: 8,
    snnScale: {
      populationSize: 6,
      generations: 8,
      trainPerClass: 150,
      valPerClass: 80,
      fitnessSetSize: 200,
      sourcePerClass: 300,
      pretrainEpochs: 1,
      memberEpochs: 1,
    },
  },
  quick: {
    seeds: [1, 2],
    mergeTasks: 3,
    gridSamples: 672,
    gridSampleSizes: [300, 672],
    gridNoise: [
      [0, 0],
      [0.1, 0.5],
    ] as const,
    evolverSizes: QUICK_SIZES,
    evolverGenerations: 3,
    snnScale: {
      populationSize: 4,
      generations: 3,
      trainPerClass: 60,
      valPerClass: 30,
      fitnessSetSize: 60,
      sourcePerClass: 100,
      pretrainEpochs: 1,
      memberEpochs: 1,
    },
  },
} as const;

/** Thrown when `signal` stopped the tour; `reason` is the signal's reason. */
export class DemoTourAborted extends Error {
  override readonly name = "DemoTourAborted";
}

export async function runDemoTour(o: DemoTourOptions, hooks: ExperimentHooks = {}): Promise<DemoTour> {
  const t0 = performance.now();
  const createdAt = new Date().toISOString();
  const load = os.loadavg().map((v) => Number(v.toFixed(2)));
  const c = o.quick ? DEMO_TOUR_CONFIG.quick : DEMO_TOUR_CONFIG.default;
  const seeds = [...(o.seeds ?? c.seeds)];
  const wanted = new Set(o.sections ?? DEMO_TOUR_SECTIONS);
  const log = hooks.log ?? (() => {});
  const command = o.command ?? "runDemoTour";
  const steps = [...wanted].length;
  let step = 0;

  async function section<T>(name: DemoTourSection, run: () => Promise<T>): Promise<T | NotRunSection> {
    if (!wanted.has(name))
      return { status: "not-run", reason: `left out of this run (sections: ${[...wanted].join(", ")})` };
    if (o.signal?.aborted) throw new DemoTourAborted(String(o.signal.reason ?? "aborted"));
    const started = performance.now();
    hooks.progress?.("tour", step, steps);
    log(`${name}: start`);
    try {
      const r = await run();
      log(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return r;
    } catch (e) {
      if (o.signal?.aborted) throw new DemoTourAborted(String(o.signal.reason ?? "aborted"));
      const reason = `failed: ${e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e)}`;
      log(`${name}: ${reason}`);
      return { status: "not-run", reason };
    } finally {
      hooks.progress?.("tour", ++step, steps);
    }
  }
  const sub = (name: string) => (m: string) => log(`${name}: ${m}`);

  const zooCache = o.zooCache ?? process.env.X_ZOO_CACHE ?? join(o.workDir, "zoo");
  const merging = await section("merging", async () => {
    const result = await tourMerging(
      { seeds, tasks: c.mergeTasks, cacheRoot: zooCache, workers: o.workers ?? 2, command },
      { log: sub("merging") },
    );
    // The live panel merges the same zoo in the browser (cached by the section above: nothing is trained again).
    if (o.liveMergeDir !== undefined) {
      const live = await writeLiveMergeBundle({
        outDir: o.liveMergeDir,
        config: zooConfigFor(seeds[0]!, { quick: true, tasks: c.mergeTasks }),
        cacheRoot: zooCache,
        workers: o.workers ?? 2,
      });
      sub("merging")(`live merge bundle: ${(live.bytes / 1e6).toFixed(2)} MB in ${live.dir}`);
    }
    return result;
  });
  const grid = await section("grid", () =>
    tourGrid({
      samples: c.gridSamples,
      seed: seeds[0]!,
      sweepSeeds: seeds,
      noiseLevels: c.gridNoise,
      sampleSizes: c.gridSampleSizes,
      log: sub("grid"),
    }),
  );
  // The CADE run feeds both the SNN section and the evolution panel's F / CR schedule.
  const snnRun = await section("snn", () =>
    tourSnn({ seeds, scale: c.snnScale, workDir: join(o.workDir, "snn"), log: sub("snn") }),
  );
  const evolution = await section("evolution", async () => {
    const runs: TourEvolutionRun[] = [];
    for (const seed of seeds) {
      if (o.signal?.aborted) throw new DemoTourAborted(String(o.signal.reason ?? "aborted"));
      runs.push(
        ...(await tourEvolverSeed(seed, {
          sizes: c.evolverSizes,
          generations: c.evolverGenerations,
          log: sub("evolution"),
        })),
      );
    }
    return {
      status: "ok" as const,
      fitness: { label: "dev accuracy", unit: "fraction" },
      runs,
      ...("schedule" in snnRun ? { schedule: snnRun.schedule } : {}),
    };
  });
  const machine = os.cpus();
  return {
    format: "x-demo-tour",
    version: 1,
    createdAt,
    command,
    machine: {
      cpu: machine[0]?.model ?? "unknown",
      cores: machine.length,
      node: process.version,
      loadAverageAtStart: [load[0]!, load[1]!, load[2]!],
    },
    seconds: (performance.now() - t0) / 1000,
    merging,
    evolution,
    snn: "section" in snnRun ? snnRun.section : snnRun,
    grid,
  };
}

export { demoTourSummary, formatTourSummary, type TourSummaryRow } from "./summary.js";
export type { DemoTour } from "./types.js";
