/**
 * The Evolver experiment on Fashion-MNIST domain experts (docs/evolver.md): `runEvolver` runs the seeds (in
 * worker processes when built) and returns the report; `writeEvolverResults` writes `<name>.json`, `<name>.md`
 * and `<name>-curves.svg`; `renderEvolverResults` re-renders the markdown and plot of an existing JSON.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ExperimentHooks, machineInfo, writeResultFiles } from "../results.js";
import { curvesSvg } from "./curves-svg.js";
import { defaultOptions, type ExperimentOptions, runSeed, type SeedResult } from "./experiment.js";
import { buildReport, type EvolverReport, markdown } from "./report.js";
import { FULL_SIZES, QUICK_SIZES } from "./setup.js";

export interface EvolverOptions {
  /** Seeds (default 1..10; 1 with `quick`). */
  readonly seeds?: readonly number[];
  /** The tiny configuration for tests and smoke runs. */
  readonly quick?: boolean;
  /** Evolver generations (default 15; 3 with `quick`). */
  readonly generations?: number;
  /** λ grid the task-vector merges are tuned on (default 0.3, 0.6, 1, 1.5). */
  readonly lambdas?: readonly number[];
  /** The optional arms (mode A at F 0.2 / CR 0.3 / G 50, mode B at F 0.1); default on. */
  readonly extras?: boolean;
  /** Worker processes, one per group of seeds (default 2; 0 or 1 = in this process). */
  readonly workers?: number;
  /** Where finished seeds are kept as JSON lines (default: a fresh temporary folder, removed afterwards). */
  readonly partsDir?: string;
  /** The command line recorded in the report. */
  readonly command?: string;
}

export const EVOLVER_DEFAULTS = {
  seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as readonly number[],
  quickSeeds: [1] as readonly number[],
  workers: 2,
  lambdas: defaultOptions(false).lambdaGrid,
  generations: defaultOptions(false).generations,
  quickGenerations: defaultOptions(true).generations,
  name: "evolver",
  quickName: "evolver-quick",
};

/** The experiment's full options (what the report records) from the user's. */
export function evolverExperimentOptions(o: EvolverOptions): Omit<ExperimentOptions, "log"> {
  const quick = o.quick ?? false;
  const base = defaultOptions(quick);
  return {
    ...base,
    ...(o.extras === false ? { modeAVariant: null, secondF: null } : {}),
    lambdaGrid: o.lambdas ?? base.lambdaGrid,
    generations: o.generations ?? base.generations,
    sizes: quick ? QUICK_SIZES : FULL_SIZES,
    seeds: o.seeds ?? (quick ? EVOLVER_DEFAULTS.quickSeeds : EVOLVER_DEFAULTS.seeds),
  };
}

function workerScript(): string | undefined {
  const file = fileURLToPath(new URL("./seed-worker.js", import.meta.url));
  return existsSync(file) ? file : undefined;
}

/** Runs each group of seeds in its own Node process (each with its own tfjs wasm instance). */
async function runInWorkers(
  options: Omit<ExperimentOptions, "log">,
  script: string,
  workers: number,
  partsDir: string,
): Promise<void> {
  const seeds = options.seeds;
  const groups = Array.from({ length: Math.min(workers, seeds.length) }, (_, w) =>
    seeds.filter((_, i) => i % workers === w),
  );
  await Promise.all(
    groups.map(
      (g, w) =>
        new Promise<void>((res, rej) => {
          const args = [script, join(partsDir, `${w}.jsonl`), JSON.stringify({ ...options, seeds: g })];
          const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
          child.on("error", rej);
          child.on("close", (code) =>
            code === 0 ? res() : rej(new Error(`worker ${w} (seeds ${g.join(",")}) exited with ${code}`)),
          );
        }),
    ),
  );
}

/** Every finished seed in a parts folder (JSON lines), sorted by seed. */
export function readEvolverParts(partsDir: string): SeedResult[] {
  const results: SeedResult[] = [];
  for (const f of readdirSync(partsDir).filter((f) => f.endsWith(".jsonl"))) {
    for (const line of readFileSync(join(partsDir, f), "utf8").split("\n"))
      if (line.trim()) results.push(JSON.parse(line) as SeedResult);
  }
  if (results.length === 0) throw new Error(`no finished seeds in ${partsDir}`);
  return results.sort((a, b) => a.seed - b.seed);
}

/** Runs the experiment; with `fromParts`, only aggregates the seeds an earlier (interrupted) run finished. */
export async function runEvolver(
  o: EvolverOptions = {},
  hooks: ExperimentHooks & { readonly fromParts?: string } = {},
): Promise<EvolverReport> {
  const options = evolverExperimentOptions(o);
  const machine = machineInfo();
  const startedAt = new Date();
  let results: SeedResult[];
  if (hooks.fromParts) {
    results = readEvolverParts(resolve(hooks.fromParts));
  } else {
    const workers = o.workers ?? EVOLVER_DEFAULTS.workers;
    const script = workerScript();
    if (workers > 1 && script && options.seeds.length > 1) {
      const partsDir = o.partsDir
        ? resolve(o.partsDir)
        : join(process.cwd(), `.evolver-parts-${process.pid}`);
      rmSync(partsDir, { recursive: true, force: true });
      mkdirSync(partsDir, { recursive: true });
      try {
        await runInWorkers(options, script, workers, partsDir);
        results = readEvolverParts(partsDir);
      } finally {
        if (!o.partsDir) rmSync(partsDir, { recursive: true, force: true });
      }
    } else {
      results = [];
      for (const seed of options.seeds) results.push(await runSeed(seed, { ...options, log: hooks.log }));
    }
  }
  return buildReport(
    o.command ?? "runEvolver",
    startedAt,
    machine,
    { ...options, seeds: results.map((r) => r.seed) },
    results,
  );
}

/** Writes `<dir>/<name>.json`, `.md` and `-curves.svg`; returns the paths. */
export function writeEvolverResults(report: EvolverReport, dir: string, name: string): string[] {
  return writeResultFiles(dir, name, [
    [".json", `${JSON.stringify(report, null, 1)}\n`],
    [".md", markdown(report)],
    ["-curves.svg", curvesSvg(report)],
  ]);
}

/** Re-renders the markdown and the plot of a report JSON (e.g. after editing its findings). */
export function renderEvolverResults(jsonFile: string): string[] {
  const file = resolve(jsonFile);
  const report = JSON.parse(readFileSync(file, "utf8")) as EvolverReport;
  const dir = resolve(file, "..");
  const name = file.replace(/^.*\//, "").replace(/\.json$/, "");
  return writeResultFiles(dir, name, [
    [".md", markdown(report)],
    ["-curves.svg", curvesSvg(report)],
  ]);
}

export type {
  ArmResult,
  Comparison,
  ExperimentOptions,
  GenerationCurve,
  PairedStat,
  SeedResult,
} from "./experiment.js";
export type { EvolverReport } from "./report.js";
export { markdown as evolverMarkdown } from "./report.js";
export type { ExperimentSizes } from "./setup.js";
