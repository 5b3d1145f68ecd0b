// `x quickstart`: the main job on built-in defaults, a short tour of the whole toolkit in three steps that each
// check their own results:
//   1. tensors  - sharded safetensors write / lazy read / streaming BF16 conversion (tensor-core);
//   2. merging  - a small model zoo trained on real MNIST / Fashion-MNIST images, merged with every method
//                 (each tuned on validation), test accuracy per method (the merging experiment, quick setting);
//   3. grid     - smart-meter data simulated on the IEEE 13-bus feeder, topology and impedances identified from
//                 it and scored against the truth (the `x grid` commands).
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  integer,
  type OptionsOf,
  options,
  overwriteOption,
} from "../kit.js";
import { createProgress } from "../progress.js";

const STEPS = ["tensors", "merging", "grid"] as const;
export const QUICKSTART_SEED = 42;

/** The merging step: the quick merging experiment; prints only its main accuracy table. */
async function mergingStep(work: string, seed: number): Promise<void> {
  const { runMerging8Task, merging8TaskTable } = await import("@x/experiments");
  const progress = createProgress(false);
  try {
    const report = await runMerging8Task(
      {
        seeds: [seed],
        quick: true,
        curve: false,
        cacheRoot: join(work, "zoo"),
        workers: 2,
        command: "x quickstart",
      },
      { progress: (phase, done, total) => progress.update(`zoo ${phase}`, done, total) },
    );
    progress.finish();
    console.log(merging8TaskTable(report));
    console.log("(3 small tasks, 1 seed; the full 8-task, 3-seed table: x bench merging)");
  } finally {
    progress.stop();
  }
}

/** The grid step runs the `x grid` commands themselves, as a user would. */
async function gridStep(work: string, seed: number): Promise<void> {
  const csv = join(work, "ieee13.csv");
  const model = join(work, "ieee13-model.json");
  const steps = [
    ["grid", "simulate", "--feeder", "ieee13", "--samples", "2880", "--noise", "0.1%", "--meters", "all"],
    ["grid", "identify", csv, "--out", model, "--method", "lad"],
    ["grid", "evaluate", model, "--truth", "ieee13"],
  ];
  steps[0]!.push("--junction-load", "2%", "--seed", String(seed), "--out", csv);
  const { build } = await import("./grid.js");
  for (const argv of steps) await build().exitOverride().parseAsync(argv.slice(1), { from: "user" });
}

const quickstartOptions = () =>
  options([
    ["--only <step>", "run one step", STEPS],
    ["--dir <dir>", "work directory (kept; default: a temporary one, removed)"],
    ["--seed <n>", "seed of every step", integer(0), QUICKSTART_SEED],
    ["--keep", "keep the temporary work directory"],
    overwriteOption(),
  ]);
type QuickstartOpts = OptionsOf<ReturnType<typeof quickstartOptions>>;

async function quickstart(o: QuickstartOpts): Promise<void> {
  if (o.dir) checkOutput(o.dir, { overwrite: o.overwrite });
  const steps = o.only ? [o.only] : [...STEPS];
  const work = o.dir ?? (await mkdtemp(join(tmpdir(), "x-quickstart-")));
  const started = Date.now();
  try {
    for (const [i, step] of steps.entries()) {
      const dir = join(work, step);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      console.log(`\n== ${i + 1}/${steps.length} ${step}`);
      if (step === "tensors")
        await (await import("@x/experiments")).safetensorsTour(dir, o.seed, console.log);
      else if (step === "merging") await mergingStep(dir, o.seed);
      else await gridStep(dir, o.seed);
    }
    const kept = o.keep || o.dir ? ` (files kept in ${work})` : "";
    console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)}s${kept}`);
  } finally {
    if (!o.keep && o.dir === undefined) await rm(work, { recursive: true, force: true });
  }
}

export function build(): Command {
  const cmd = defineCommand(
    "quickstart",
    "the main job on built-in defaults: tensors, merging on a small zoo, grid identification, each checked",
    ["x quickstart", "x quickstart --only grid", "x quickstart --dir /tmp/qs --keep --seed 7"],
  ).description(
    "The main job on built-in defaults: (1) safetensors write / read / BF16 conversion, checked byte by byte; " +
      "(2) a small model zoo on real MNIST / Fashion-MNIST merged with every method, tuned on validation, scored on " +
      "test; (3) IEEE 13-bus smart-meter data simulated, topology and impedances identified and scored.",
  );
  return addOptions(cmd, quickstartOptions()).action(quickstart);
}
