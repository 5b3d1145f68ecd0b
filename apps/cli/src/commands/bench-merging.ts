/** `x bench merging`: the 8-task merging benchmark on the model zoo; writes bench/results/<name>.{json,md}. */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";
import { intOption, progressReporter } from "./zoo.js";

export const benchMerging: Command = {
  name: "bench merging",
  summary:
    "Runs every merging method on the zoo (each tuned on validation, scored on test) over several zoo seeds, plus the accuracy-vs-number-of-tasks curve, and writes <out>/<name>.json and .md. --quick is the reduced CI configuration (3 tasks, few samples, 1 seed).",
  usage:
    "x bench merging [--seeds 1,2,3] [--tasks 8] [--methods a,b] [--no-es] [--no-curve] [--quick] [--optimizer adam|sgd] [--lr X] [--workers 2] [--out bench/results] [--name merging-8task] [--cache DIR]",
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        seeds: { type: "string" },
        tasks: { type: "string" },
        methods: { type: "string" },
        "no-es": { type: "boolean" },
        "no-curve": { type: "boolean" },
        quick: { type: "boolean" },
        workers: { type: "string" },
        out: { type: "string" },
        name: { type: "string" },
        cache: { type: "string" },
        optimizer: { type: "string" },
        lr: { type: "string" },
      },
      strict: true,
    });
    const seeds = (values.seeds ?? (values.quick ? "1" : "1,2,3"))
      .split(",")
      .map((s) => intOption(s.trim(), "seeds", 0)!);
    const tasks = intOption(values.tasks, "tasks", 2, 8) ?? (values.quick ? 3 : 8);
    const { PLANS } = await import("../bench/merging/plan.js");
    const methods = values.methods?.split(",").map((m) => m.trim());
    for (const m of methods ?? []) {
      if (!PLANS.some((p) => p.id === m))
        throw new UsageError(`unknown method '${m}' (known: ${PLANS.map((p) => p.id).join(", ")})`);
    }
    const { runBenchmark, quickZooConfig } = await import("../bench/merging/driver.js");
    const { defaultZooConfig, withFinetuneOptimizer } = await import("../zoo/config.js");
    const optimizer = values.optimizer ?? "adam";
    if (optimizer !== "adam" && optimizer !== "sgd")
      throw new UsageError(`--optimizer must be adam or sgd, got '${optimizer}'`);
    const lr = values.lr === undefined ? undefined : Number(values.lr);
    if (lr !== undefined && !(lr > 0 && lr < 10))
      throw new UsageError(`--lr must be a positive number, got '${values.lr}'`);
    const tune = (c: ReturnType<typeof defaultZooConfig>) =>
      optimizer === "sgd" || lr !== undefined
        ? withFinetuneOptimizer(c, optimizer, lr ?? (optimizer === "sgd" ? 0.01 : c.finetune.lr))
        : c;
    const progress = progressReporter("zoo");
    const report = await runBenchmark({
      command: `x bench merging ${argv.join(" ")}`.trim(),
      seeds,
      zooConfig: (seed) =>
        tune(values.quick ? quickZooConfig(seed, tasks) : defaultZooConfig({ seed, tasks })),
      build: { root: values.cache, workers: intOption(values.workers, "workers", 0, 16) ?? 2 },
      methods,
      es: values["no-es"] ? false : values.quick ? { budget: 12 } : undefined,
      curveKs: values["no-curve"] ? [] : undefined,
      log: (m) => {
        progress.finish();
        console.log(m);
      },
      progress: progress.update,
    });
    const { markdown } = await import("../bench/merging/report.js");
    const out = resolve(values.out ?? "bench/results");
    const name = values.name ?? (values.quick ? "merging-quick" : "merging-8task");
    mkdirSync(out, { recursive: true });
    for (const [ext, text] of [
      ["json", `${JSON.stringify(report, null, 1)}\n`],
      ["md", markdown(report)],
    ] as const) {
      const file = `${out}/${name}.${ext}`;
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    }
    console.log(`\n${markdown(report)}`);
    console.log(`wrote ${out}/${name}.json and .md (${(report.runSeconds / 60).toFixed(1)} min)`);
    return 0;
  },
};
