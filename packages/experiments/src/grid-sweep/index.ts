/**
 * The grid identification sweep: noise, sample count and resolution on the IEEE 13 / 37 / 69-bus feeders with
 * several seeds; topology read-outs, LAD vs LS, the conductor library, samples to the exact tree, and glpk.js vs
 * HiGHS on the LAD LPs. `runGridSweep` returns the result document; `writeGridSweepResults` writes
 * `<name>.json` and `<name>.md`. A partial run (`only`) keeps the other cells of an earlier document.
 */
import { readFileSync } from "node:fs";
import type { Feeder, SmartMeterData } from "@x/grid-model";
import { type ExperimentHooks, machineInfo, writeResultFiles } from "../results.js";
import { createSweepContext, FEEDER_IDS, runCell, type SweepContext, simulate } from "./cells.js";
import { runExactEntry, runTopologyCell } from "./exact.js";
import { runLpComparison } from "./lp.js";
import { FULL_PLAN, QUICK_PLAN, type SweepPlan } from "./plan.js";
import { renderMarkdown } from "./report.js";
import type { Cell, Doc, LpCell } from "./types.js";

export interface GridSweepOptions {
  /** The seconds-long smoke configuration. */
  readonly quick?: boolean;
  /** Seeds of the sweep cells (default 1, 2; 1 with `quick`). */
  readonly seeds?: readonly number[];
  /** Seeds of the samples-to-exact plan and the topology sweep (default 1, 2, 3; 1, 2 with `quick`). */
  readonly exactSeeds?: readonly number[];
  /**
   * Rerun one part only, keeping the other records of `previous`: "lp" (LP solvers), "exact" (samples to exact and
   * the topology sweep), "topology" (the topology sweep).
   */
  readonly only?: "lp" | "exact" | "topology";
  /** With only "exact": keep the topology sweep's records. */
  readonly skipTopology?: boolean;
  /** Restrict the samples-to-exact plan and the topology sweep to these feeders. */
  readonly feeders?: readonly string[];
  /** The earlier document a partial run completes. */
  readonly previous?: Pick<Doc, "cells" | "lp">;
  readonly name?: string;
  /** The command line recorded in the document. */
  readonly command?: string;
}

export const GRID_SWEEP_DEFAULTS = {
  seeds: [1, 2] as readonly number[],
  quickSeeds: [1] as readonly number[],
  exactSeeds: [1, 2, 3] as readonly number[],
  quickExactSeeds: [1, 2] as readonly number[],
  feeders: FEEDER_IDS,
  name: "grid",
  quickName: "grid-quick",
};

export class GridSweepOptionError extends Error {
  override readonly name = "GridSweepOptionError";
}

/** The cells of an earlier run that a partial rerun keeps. */
function keptCells(o: GridSweepOptions, selected: (fid: string) => boolean): Cell[] {
  return (o.previous?.cells ?? []).filter(
    (c) =>
      !(o.only === "exact" && c.group === "exact" && selected(c.feeder)) &&
      !(o.only === "exact" && !o.skipTopology && c.group === "topology" && selected(c.feeder)) &&
      !(o.only === "topology" && c.group === "topology" && selected(c.feeder)),
  );
}

/** The noise, samples, resolution and library cells; returns the data set the LP comparison uses. */
function runSweepCells(ctx: SweepContext, plan: SweepPlan, seeds: readonly number[]) {
  const last = plan.feeders[plan.feeders.length - 1]!;
  const lastT = plan.sampleSizes[plan.sampleSizes.length - 1]!;
  let lpData: { d: SmartMeterData; f: Feeder } | undefined;
  const at = { resolutionMin: 15, vClass: 0.1, pqClass: 0.5 };
  for (const feeder of plan.feeders)
    for (const [vClass, pqClass] of plan.noiseLevels)
      for (const seed of seeds) {
        const s = { baselines: true, trueTree: true, resolutionMin: 15 };
        runCell(ctx, { group: "noise", feeder, vClass, pqClass, samples: plan.baseSamples, seed, ...s });
      }
  for (const feeder of plan.feeders)
    for (const samples of plan.sampleSizes)
      for (const seed of seeds) {
        const d = runCell(ctx, { ...at, group: "samples", feeder, samples, seed, trueTree: true });
        if (feeder === last && samples === lastT && seed === seeds[0])
          lpData = { d, f: ctx.feeders[feeder]! };
      }
  for (const feeder of plan.feeders)
    for (const resolutionMin of plan.resolutions)
      runCell(ctx, {
        ...at,
        group: "resolution",
        feeder,
        samples: plan.baseSamples,
        resolutionMin,
        seed: seeds[0]!,
      });
  for (const feeder of plan.libraryFeeders)
    runCell(ctx, {
      ...at,
      group: "library",
      feeder,
      samples: plan.baseSamples,
      seed: seeds[0]!,
      library: true,
    });
  return lpData;
}

export async function runGridSweep(
  o: GridSweepOptions = {},
  hooks: ExperimentHooks & { readonly checkpoint?: (doc: Doc) => void } = {},
): Promise<Doc> {
  const quick = o.quick ?? false;
  const plan = quick ? QUICK_PLAN : FULL_PLAN;
  const seeds = o.seeds ?? (quick ? GRID_SWEEP_DEFAULTS.quickSeeds : GRID_SWEEP_DEFAULTS.seeds);
  const exactSeeds =
    o.exactSeeds ?? (quick ? GRID_SWEEP_DEFAULTS.quickExactSeeds : GRID_SWEEP_DEFAULTS.exactSeeds);
  for (const fid of o.feeders ?? [])
    if (!(FEEDER_IDS as readonly string[]).includes(fid))
      throw new GridSweepOptionError(`unknown feeder '${fid}' (known: ${FEEDER_IDS.join(", ")})`);
  const only = o.feeders ? new Set(o.feeders) : undefined;
  const selected = (fid: string) => !only || only.has(fid);
  const lp: LpCell[] = o.only === "exact" || o.only === "topology" ? [...(o.previous?.lp ?? [])] : [];
  const doc: Doc = {
    name: o.name ?? (quick ? GRID_SWEEP_DEFAULTS.quickName : GRID_SWEEP_DEFAULTS.name),
    command: o.command ?? "runGridSweep",
    started: new Date().toISOString(),
    machine: { ...machineInfo(), note: "2 cores shared with other jobs; timings are indicative" },
    seeds: [...seeds],
    cells: keptCells(o, selected),
    lp,
  };
  const ctx = await createSweepContext(hooks.log ?? (() => {}), () => hooks.checkpoint?.(doc), doc.cells);
  let lpData = o.only === undefined ? runSweepCells(ctx, plan, seeds) : undefined;
  if (o.only === "lp") {
    const fid = plan.feeders[plan.feeders.length - 1]!;
    const T = plan.sampleSizes[plan.sampleSizes.length - 1]!;
    const f = ctx.feeders[fid]!;
    lpData = { d: simulate(ctx, f, 0.1, 0.5, T, 15, seeds[0]!), f };
  }
  if (o.only !== "lp") {
    for (const entry of o.only === "topology" ? [] : plan.exact.filter((e) => selected(e[0])))
      for (const seed of exactSeeds) runExactEntry(ctx, entry, seed);
    for (const fid of o.skipTopology ? [] : plan.feeders.filter(selected))
      for (const level of plan.noiseLevels)
        for (const seed of exactSeeds) runTopologyCell(ctx, fid, level, plan.baseSamples, seed);
  }
  if (lpData) runLpComparison(ctx, lpData.d, lpData.f, plan, lp);
  return doc;
}

/** An earlier result document (for a partial rerun), or undefined when there is none. */
export function readGridSweepResults(file: string): Pick<Doc, "cells" | "lp"> | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Doc;
  } catch {
    return undefined;
  }
}

/** Writes `<dir>/<name>.json` and `.md`; returns the paths. */
export function writeGridSweepResults(doc: Doc, dir: string, name = doc.name): string[] {
  return writeResultFiles(dir, name, [
    [".json", `${JSON.stringify(doc, null, 1)}\n`],
    [".md", renderMarkdown(doc)],
  ]);
}

export { renderExact, renderMarkdown as gridSweepMarkdown, SIMULATION_ASSUMPTIONS } from "./report.js";
export type { Cell as GridSweepCell, Doc as GridSweepDoc, LpCell as GridSweepLpCell } from "./types.js";
