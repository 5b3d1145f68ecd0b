/**
 * `x bench merging | evolver | grid | cade`: the reproduction experiments of @x/experiments. Each subcommand parses,
 * calls the experiment, writes `<out>/<name>.json` and `.md` (refusing existing ones unless --overwrite) and
 * prints the report.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type CadeScale,
  DEFAULT_CADE_SCALE,
  EVOLVER_DEFAULTS,
  type ExperimentHooks,
  ExperimentOptionError,
  formatCadeScale,
  GRID_SWEEP_DEFAULTS,
  MERGING_8TASK_DEFAULTS,
  MERGING_8TASK_METHODS,
  setCadeScale,
} from "@x/experiments";
import { ZOO_CACHE_DIR } from "@x/zoo";
import { type Command, InvalidArgumentError } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  defineGroup,
  integer,
  list,
  number,
  numberGrid,
  type OptionsOf,
  options,
  outputOptions,
  parsedBy,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";

const OUT_DEFAULT = "bench/results";
const seedList = list(integer(0));

/** --out and --name (`d`: the experiment's default result names), then the output flags. */
const resultOptions = (d: { name: string; quickName?: string }) =>
  options([
    ["--out <dir>", "results directory", undefined, OUT_DEFAULT],
    ...(d.quickName
      ? [["--name <name>", `result file name (default: ${d.name}, or ${d.quickName} with --quick)`] as const]
      : []),
    ...outputOptions(),
  ]);

function methodList(v: string): string[] {
  const ms = v.split(",").map((m) => m.trim());
  for (const m of ms)
    if (!MERGING_8TASK_METHODS.includes(m))
      throw new InvalidArgumentError(`unknown method '${m}' (known: ${MERGING_8TASK_METHODS.join(", ")})`);
  return ms;
}

type Common = OptionsOf<ReturnType<typeof resultOptions>>;

/** Refuses existing result files unless --overwrite; returns the files' base path. */
function resultTarget(
  o: Common,
  defaultName: string,
  suffixes: readonly string[],
): { dir: string; name: string } {
  const dir = resolve(o.out);
  const name = o.name ?? defaultName;
  for (const s of suffixes) checkOutput(join(dir, `${name}${s}`), { overwrite: o.overwrite });
  return { dir, name };
}

/** Runs an experiment with log lines and progress on stderr (nothing with --quiet); the report goes to stdout. */
async function withHooks<T>(o: Common, run: (hooks: ExperimentHooks) => Promise<T>): Promise<T> {
  const progress = createProgress(o.quiet === true);
  try {
    const log = (m: string) => {
      progress.finish();
      console.error(m);
    };
    const result = await run({
      log: o.quiet ? undefined : log,
      progress: (phase, done, total) => progress.update(phase, done, total),
    });
    progress.finish();
    return result;
  } finally {
    progress.stop();
  }
}

/** The report on stdout (markdown, or JSON with --json) and the files written on stderr. */
function printReport(
  o: Common,
  files: readonly string[],
  doc: unknown,
  markdown: string,
  seconds?: number,
): void {
  console.log(o.json ? JSON.stringify(doc, null, 1) : markdown);
  if (!o.json)
    console.error(
      `wrote ${files.join(", ")}${seconds === undefined ? "" : ` (${(seconds / 60).toFixed(1)} min)`}`,
    );
}

/** The command line as the user typed it, recorded in the report. */
function command(): string {
  return `x ${process.argv.slice(2).join(" ")}`.trim();
}

// ---------------------------------------------------------------- merging

type MergingOpts = OptionsOf<ReturnType<typeof mergingOptions>>;

async function benchMerging(o: MergingOpts): Promise<void> {
  const { runMerging8Task, writeMerging8TaskResults, merging8TaskMarkdown } = await import("@x/experiments");
  const d = MERGING_8TASK_DEFAULTS;
  const target = resultTarget(o, o.quick ? d.quickName : d.name, [".json", ".md"]);
  const report = await withHooks(o, (h) =>
    runMerging8Task(
      {
        seeds: o.seeds,
        tasks: o.tasks,
        quick: o.quick,
        optimizer: o.optimizer,
        lr: o.lr,
        methods: o.methods,
        es: o.es,
        curve: o.curve,
        lambdas: o.lambdas,
        cacheRoot: o.cache,
        workers: o.workers,
        command: command(),
      },
      h,
    ),
  );
  const files = writeMerging8TaskResults(report, target.dir, target.name);
  printReport(o, files, report, merging8TaskMarkdown(report), report.runSeconds);
}

function mergingCommand(): Command {
  const cmd = defineCommand(
    "merging",
    "the 8-task merging benchmark: every method on the zoo, tuned on validation, scored on test, over zoo seeds",
    [
      "x bench merging --quick --out /tmp/results",
      "x bench merging --seeds 2 --methods averaging,task_arithmetic,pcb --no-curve",
      "x bench merging --optimizer sgd --no-curve --lambdas 0.01..0.09:0.01,0.1..2.2:0.1 --name merging-8task-sgd --overwrite",
    ],
  );
  return addOptions(cmd, mergingOptions()).action(benchMerging);
}

function mergingOptions() {
  const d = MERGING_8TASK_DEFAULTS;
  return options([
    [
      "--seeds <list>",
      `zoo seeds (default ${d.seeds.join(",")}; ${d.quickSeeds.join(",")} with --quick)`,
      seedList,
    ],
    ["--tasks <n>", `tasks merged (default ${d.tasks}; ${d.quickTasks} with --quick)`, integer(2, d.tasks)],
    ["--methods <list>", `methods (default all: ${MERGING_8TASK_METHODS.join(", ")})`, methodList],
    ["--no-es", "skip PCB with per-task λ from CMA-ES"],
    ["--no-curve", "skip the accuracy-vs-number-of-tasks curve"],
    ["--quick", "the reduced CI configuration (small MLP, few samples, short training)"],
    ["--optimizer <opt>", "fine-tuning optimizer of the experts", ["adam", "sgd"], d.optimizer],
    [
      "--lr <x>",
      `fine-tuning learning rate (default: the zoo's for adam, ${d.sgdLr} for sgd)`,
      number(0, 10, true),
    ],
    [
      "--lambdas <grid>",
      `λ grid of every λ-method, values or a..b:step ranges (default ${d.lambdas[0]}..${d.lambdas.at(-1)}:0.1)`,
      numberGrid,
    ],
    ["--workers <n>", "zoo training threads (0 = in this thread)", integer(0, 16), d.workers],
    ["--cache <dir>", `zoo cache root (default: $X_ZOO_CACHE or ./${ZOO_CACHE_DIR})`],
    ...resultOptions(d),
  ]);
}

// ---------------------------------------------------------------- evolver

type EvolverOpts = OptionsOf<ReturnType<typeof evolverOptions>>;

async function benchEvolver(o: EvolverOpts): Promise<void> {
  const x = await import("@x/experiments");
  if (o.render) {
    for (const f of x.renderEvolverResults(o.render)) console.error(`wrote ${f}`);
    return;
  }
  const d = EVOLVER_DEFAULTS;
  const target = resultTarget(o, o.quick ? d.quickName : d.name, [".json", ".md", "-curves.svg"]);
  const report = await withHooks(o, (h) =>
    x.runEvolver(
      {
        seeds: o.seeds,
        quick: o.quick,
        generations: o.generations,
        lambdas: o.lambdas,
        extras: o.extras,
        workers: o.workers,
        partsDir: o.parts,
        command: command(),
      },
      { ...h, fromParts: o.fromParts },
    ),
  );
  const files = x.writeEvolverResults(report, target.dir, target.name);
  printReport(o, files, report, x.evolverMarkdown(report), report.runSeconds);
}

function evolverCommand(): Command {
  const cmd = defineCommand(
    "evolver",
    "the Evolver experiment on Fashion-MNIST domain experts: mode A and mode B with seven merges vs baselines, paired CIs",
    [
      "x bench evolver --quick --workers 0 --out /tmp/results",
      "x bench evolver --seeds 3,4 --no-extras --name evolver-b",
      "x bench evolver --render bench/results/evolver.json",
    ],
  );
  return addOptions(cmd, evolverOptions()).action(benchEvolver);
}

function evolverOptions() {
  const d = EVOLVER_DEFAULTS;
  return options([
    [
      "--seeds <list>",
      `seeds (default ${d.seeds[0]}..${d.seeds.at(-1)}; ${d.quickSeeds.join(",")} with --quick)`,
      seedList,
    ],
    [
      "--workers <n>",
      "worker processes, one per group of seeds (0 or 1 = this process)",
      integer(0, 16),
      d.workers,
    ],
    [
      "--generations <n>",
      `Evolver generations (default ${d.generations}; ${d.quickGenerations} with --quick)`,
      integer(1, 1000),
    ],
    ["--quick", "the tiny configuration for tests and smoke runs"],
    ["--lambdas <grid>", `λ grid of the task-vector merges (default ${d.lambdas.join(",")})`, numberGrid],
    ["--no-extras", "skip mode A at F 0.2 / CR 0.3 / G 50 and mode B at F 0.1"],
    ["--parts <dir>", "keep finished seeds in this folder as JSON lines (default: a temporary one)"],
    ["--from-parts <dir>", "aggregate the seeds an earlier run finished instead of running"],
    ["--render <report.json>", "re-render the markdown and plot of a report and exit"],
    ...resultOptions(d),
  ]);
}

// ---------------------------------------------------------------- grid

type GridOpts = OptionsOf<ReturnType<typeof gridOptions>>;

async function benchGrid(o: GridOpts): Promise<void> {
  const x = await import("@x/experiments");
  if (o.skipTopology && o.only !== "exact") throw new UsageError("--skip-topology goes with --only exact");
  const d = GRID_SWEEP_DEFAULTS;
  const name = o.name ?? (o.quick ? d.quickName : d.name);
  const dir = resolve(o.out);
  // A partial rerun completes the earlier document of the same name; a full run refuses to replace one.
  const previous = o.only ? x.readGridSweepResults(join(dir, `${name}.json`)) : undefined;
  if (o.only && !previous)
    throw new UsageError(`--only ${o.only} needs an earlier ${join(dir, `${name}.json`)}`);
  if (!o.only) resultTarget(o, name, [".json", ".md"]);
  const doc = await withHooks(o, (h) =>
    x.runGridSweep(
      { ...o, name, previous, command: command() },
      { ...h, checkpoint: (partial) => x.writeGridSweepResults(partial, dir, name) },
    ),
  );
  printReport(o, x.writeGridSweepResults(doc, dir, name), doc, x.gridSweepMarkdown(doc));
}

function gridCommand(): Command {
  const cmd = defineCommand(
    "grid",
    "the grid identification sweep: noise, samples, resolution on IEEE 13/37/69, samples to exact topology, LP solvers",
    [
      "x bench grid --quick --out /tmp/results",
      "x bench grid --overwrite",
      "x bench grid --only exact --feeders ieee69,ieee69-merged",
    ],
  );
  return addOptions(cmd, gridOptions()).action(benchGrid);
}

function gridOptions() {
  const d = GRID_SWEEP_DEFAULTS;
  return options([
    ["--quick", "a seconds-long smoke configuration"],
    [
      "--seeds <list>",
      `seeds of the sweep cells (default ${d.seeds.join(",")}; ${d.quickSeeds.join(",")} with --quick)`,
      seedList,
    ],
    [
      "--exact-seeds <list>",
      `seeds of samples-to-exact and the topology sweep (default ${d.exactSeeds.join(",")}; ${d.quickExactSeeds.join(",")} with --quick)`,
      seedList,
    ],
    [
      "--only <part>",
      "rerun one part, keeping the other records of the earlier result file",
      ["lp", "exact", "topology"],
    ],
    ["--skip-topology", "with --only exact: keep the topology sweep's records"],
    ["--feeders <list>", "restrict samples-to-exact and the topology sweep", list((f) => f)],
    ...resultOptions(d),
  ]);
}

// ---------------------------------------------------------------- cade

type CadeOpts = OptionsOf<ReturnType<typeof cadeOptions>>;

async function benchCade(o: CadeOpts): Promise<void> {
  const x = await import("@x/experiments");
  const dir = resolve(o.out);
  if (!o.runOnly) resultTarget(o, "cade", [".json", ".md"]);
  const report = await withHooks(o, (h) =>
    x.runCadeExperiment(
      {
        scale: { ...(o.quick ? x.QUICK_CADE_SCALE : {}), ...o.set },
        workDir: o.work,
        outDir: o.runOnly ? null : dir,
        shard: o.shard,
        only: o.only,
        reverse: o.reverse,
        runOnly: o.runOnly,
        wallSeconds: o.wallSeconds,
      },
      h,
    ),
  );
  if (o.runOnly) {
    const seeds = report.perSeed.map((r) => `${r.task} ${r.seed}`).join(", ");
    if (o.json) console.log(JSON.stringify(report, null, 1));
    else
      console.log(
        `finished seeds in ${o.work ?? ".cade-work"}: ${seeds || "none"} (aggregate without --run-only)`,
      );
    return;
  }
  const files = [join(dir, "cade.json"), join(dir, "cade.md")];
  printReport(o, files, report, readFileSync(files[1]!, "utf8"), report.wallSeconds ?? undefined);
}

function shardOf(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) >= Number(m[2]))
    throw new InvalidArgumentError(`expected I/N with 0 <= I < N (e.g. 0/2), got '${v}'`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

function cadeCommand(): Command {
  const cmd = defineCommand(
    "cade",
    "experiment C: CADE vs F / CR ablations and baselines on a transfer-learned SEW-MLP population, paired CIs",
    [
      "x bench cade --quick --out /tmp/results",
      "x bench cade --run-only --shard 0/2 & x bench cade --run-only --shard 1/2; x bench cade --overwrite",
      "x bench cade --set seeds=1,2,3 --set variantSeeds=none --set generations=40 --out /tmp/results",
    ],
  ).description(
    `Runs experiment C (Fashion-MNIST source/target class split, and the MNIST → Fashion-MNIST variant): per seed a source model, a transfer-learned and a from-scratch population, every F / CR arm at equal fitness evaluations, and the baselines (best initial individual, continued fine-tuning, weight average, greedy soup, logit ensemble); selection on validation, test reported; writes <out>/cade.json and cade.md with paired differences, 95 % CIs and the convergence curves. Every finished seed is kept in --work, so a killed run resumes where it stopped and processes can split the seeds (--shard). Scale (--set KEY=VALUE): ${formatCadeScale(DEFAULT_CADE_SCALE)}.`,
  );
  return addOptions(cmd, cadeOptions()).action(benchCade);
}

const cadeOptions = () =>
  options([
    ["--quick", "the minutes-long smoke scale (one seed per task, 4 members, 3 generations, small data)"],
    [
      "--set <key=value>",
      "override a scale value (repeatable; lists comma-separated, empty = none)",
      parsedBy((v, prev: Partial<CadeScale>) => setCadeScale(prev, v), ExperimentOptionError),
      {},
    ],
    ["--work <dir>", "per-seed results and checkpoints, reused on the next run (default: .cade-work)"],
    ["--shard <i/n>", "run only the seeds j with j mod n = i (for parallel processes)", shardOf],
    ["--only <task>", "run one task's seeds", ["fashion-split", "mnist-to-fashion"]],
    ["--reverse", "work through the seeds last to first (a second process meets the first in the middle)"],
    ["--run-only", "only run seeds into --work; write no result files"],
    [
      "--wall-seconds <s>",
      "wall time to report when the seeds ran in other processes (default: this run's)",
      number(0),
    ],
    ...resultOptions({ name: "cade" }),
  ]);

export function build(): Command {
  return defineGroup(
    "bench",
    "the reproduction experiments behind bench/results (merging, evolver, grid, cade)",
    [
      "x bench merging --quick --out /tmp/results",
      "x bench evolver --quick --workers 0 --out /tmp/results",
      "x bench grid --quick --out /tmp/results",
      "x bench cade --quick --out /tmp/results",
    ],
    [mergingCommand(), evolverCommand(), gridCommand(), cadeCommand()],
  );
}
