// `x quickstart`: the main job on built-in defaults, a short tour of the whole toolkit in three steps that
// each check their own results:
//   1. tensors  - sharded safetensors write / lazy read / streaming BF16 conversion (tensor-core);
//   2. merging  - a small model zoo trained on real MNIST / Fashion-MNIST images, merged with every method
//                 (each tuned on validation), test accuracy per method (merging + evolution + tfjs);
//   3. grid     - smart-meter data simulated on the IEEE 13-bus feeder, topology and impedances identified
//                 from it and scored against the truth (grid-model).
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";
import { safetensorsTour } from "../quickstart/safetensors-tour.js";
import { commands } from "./index.js";

const STEPS = ["tensors", "merging", "grid"] as const;
type Step = (typeof STEPS)[number];

async function runCommand(words: string, argv: string[]): Promise<void> {
  const cmd = await commands[words]!();
  const code = await cmd.run(argv);
  if (code !== 0) throw new Error(`x ${words} exited with code ${code}`);
}

/** The merging step: the reduced zoo benchmark; prints only its main accuracy table. */
async function mergingStep(work: string, seed: number): Promise<void> {
  const { runBenchmark, quickZooConfig } = await import("../bench/merging/driver.js");
  const { markdown } = await import("../bench/merging/report.js");
  const { progressReporter } = await import("./zoo.js");
  const progress = progressReporter("zoo");
  const report = await runBenchmark({
    command: "x quickstart",
    seeds: [seed],
    zooConfig: (s) => quickZooConfig(s, 3),
    build: { root: join(work, "zoo"), workers: 2 },
    es: { budget: 12 },
    curveKs: [],
    log: () => {},
    progress: progress.update,
  });
  progress.finish();
  const md = markdown(report).split("\n");
  const start = md.findIndex((l) => l.startsWith("| method"));
  const end = md.findIndex((l, i) => i > start && !l.startsWith("|"));
  console.log(md.slice(start, end).join("\n"));
  const ordering = md.find((l) => l.startsWith("Ordering"));
  if (ordering) console.log(`\n${ordering}`);
  console.log("(3 small tasks, 1 seed; the full 8-task, 3-seed table: x bench merging)");
}

async function gridStep(work: string, seed: number): Promise<void> {
  const csv = join(work, "ieee13.csv");
  const model = join(work, "ieee13-model.json");
  await runCommand("grid simulate", [
    "--feeder",
    "ieee13",
    "--samples",
    "2880",
    "--noise",
    "0.1%",
    "--meters",
    "all",
    "--junction-load",
    "2%",
    "--seed",
    String(seed),
    "--out",
    csv,
  ]);
  await runCommand("grid identify", [csv, "--out", model, "--method", "lad"]);
  await runCommand("grid evaluate", [model, "--truth", "ieee13"]);
}

export const command: Command = {
  name: "quickstart",
  summary:
    "The main job on built-in defaults: (1) safetensors write/read/BF16 conversion, checked byte by byte; (2) a small model zoo on real MNIST/Fashion-MNIST merged with every method, tuned on validation, scored on test; (3) IEEE 13-bus smart-meter data simulated, topology and impedances identified and scored. --only runs one step.",
  usage: "x quickstart [--only tensors|merging|grid] [--dir DIR] [--seed N] [--keep]",
  async run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        only: { type: "string" },
        dir: { type: "string" },
        seed: { type: "string" },
        keep: { type: "boolean" },
      },
      strict: true,
    });
    const seed = values.seed === undefined ? 42 : Number(values.seed);
    if (!Number.isInteger(seed)) throw new UsageError("--seed needs an integer");
    if (values.only !== undefined && !STEPS.includes(values.only as Step))
      throw new UsageError(`--only must be one of ${STEPS.join(", ")}, got '${values.only}'`);
    const steps = values.only ? [values.only as Step] : [...STEPS];
    const work = values.dir ?? (await mkdtemp(join(tmpdir(), "x-quickstart-")));
    const started = Date.now();
    try {
      for (const [i, step] of steps.entries()) {
        const dir = join(work, step);
        await mkdir(dir, { recursive: true });
        console.log(`\n== ${i + 1}/${steps.length} ${step}`);
        if (step === "tensors") await safetensorsTour(dir, seed);
        else if (step === "merging") await mergingStep(dir, seed);
        else await gridStep(dir, seed);
      }
      console.log(
        `\ndone in ${((Date.now() - started) / 1000).toFixed(1)}s${values.keep || values.dir ? ` (files kept in ${work})` : ""}`,
      );
      return 0;
    } finally {
      if (!values.keep && values.dir === undefined) await rm(work, { recursive: true, force: true });
    }
  },
};
