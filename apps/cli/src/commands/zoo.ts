/** `x zoo build` and `x zoo eval`: the seeded MNIST / Fashion-MNIST model zoo. */
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";
import { ProgressBar } from "../progress.js";

export function intOption(
  v: string | undefined,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got '${v}'`);
  return n;
}

export function progressReporter(label: string) {
  let bar: ProgressBar | undefined;
  let phase = "";
  return {
    update(p: string, done: number, total: number) {
      if (!bar || p.split(" ")[0] !== phase.split(" ")[0]) {
        bar?.finish();
        bar = new ProgressBar({ label: `${label} ${p.split(" ")[0]}`, total });
      }
      phase = p;
      bar.update(done);
    },
    finish() {
      bar?.finish();
      bar = undefined;
    },
  };
}

export const zooBuild: Command = {
  name: "zoo build",
  summary:
    "Trains (or loads from the cache) the seeded model zoo: a briefly pretrained MLP backbone on MNIST + Fashion-MNIST, one fine-tuned expert per task with its own head, Fisher diagonals, Gram matrices and a joint multi-task model. Cache: $X_ZOO_CACHE or ./.zoo-cache.",
  usage: "x zoo build [--tasks 8] [--seed 1] [--workers 2] [--force] [--cache DIR]",
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        tasks: { type: "string" },
        seed: { type: "string" },
        workers: { type: "string" },
        force: { type: "boolean" },
        cache: { type: "string" },
      },
      strict: true,
    });
    const { buildZoo } = await import("../zoo/build.js");
    const { defaultZooConfig } = await import("../zoo/config.js");
    const cfg = defaultZooConfig({
      ...(values.tasks !== undefined ? { tasks: intOption(values.tasks, "tasks", 1, 8)! } : {}),
      ...(values.seed !== undefined ? { seed: intOption(values.seed, "seed", 0)! } : {}),
    });
    const progress = progressReporter("zoo");
    const zoo = await buildZoo(cfg, {
      root: values.cache,
      workers: intOption(values.workers, "workers", 0, 16) ?? 2,
      force: Boolean(values.force),
      progress: progress.update,
    });
    progress.finish();
    console.log(
      `zoo ${zoo.cached ? "loaded from cache" : `built in ${zoo.summary.buildSeconds.toFixed(1)} s`}: ${zoo.dir}`,
    );
    console.log("task                 classes  expert val  expert test  joint test");
    for (const t of zoo.summary.tasks) {
      console.log(
        `${t.name.padEnd(20)} ${String(t.numClasses).padStart(7)}  ${pct(t.expertVal).padStart(10)}  ${pct(t.expertTest).padStart(11)}  ${pct(t.jointTest).padStart(10)}`,
      );
    }
    return 0;
  },
};

export const zooEval: Command = {
  name: "zoo eval",
  summary:
    "Evaluates the backbone of MODEL_DIR (config.json + model.safetensors, e.g. a merged model) with every task head of the zoo it belongs to (--zoo DIR, else the zoo recorded in MODEL_DIR/config.json).",
  usage: "x zoo eval MODEL_DIR [--zoo ZOO_DIR] [--split test|val]",
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { zoo: { type: "string" }, split: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError("expected exactly one MODEL_DIR");
    const split = (values.split ?? "test") as string;
    if (split !== "test" && split !== "val")
      throw new UsageError(`--split must be test or val, got '${split}'`);
    const { evaluateModelDir } = await import("../zoo/store.js");
    const res = await evaluateModelDir(positionals[0]!, { zooDir: values.zoo, split });
    console.log(
      `model ${res.modelDir} with the heads of zoo ${res.zooDir} (${split} split, ${res.headSource} heads)`,
    );
    console.log("task                 accuracy");
    for (const t of res.tasks) console.log(`${t.name.padEnd(20)} ${pct(t.accuracy).padStart(8)}`);
    console.log(`${"average".padEnd(20)} ${pct(res.average).padStart(8)}`);
    return 0;
  },
};

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
