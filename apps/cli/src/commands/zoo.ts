/** `x zoo build` and `x zoo eval`: the seeded MNIST / Fashion-MNIST model zoo (@x/zoo). */
import {
  defaultZooConfig,
  formatExpertStats,
  formatModelEvaluation,
  formatZooSummary,
  TASKS,
  ZOO_BUILD_WORKERS,
  ZOO_CACHE_DIR,
} from "@x/zoo";
import type { Command } from "commander";
import {
  addOptions,
  defineCommand,
  defineGroup,
  integer,
  jsonOption,
  list,
  type OptionsOf,
  options,
  printResult,
  quietOption,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";

const DEFAULTS = defaultZooConfig();

type BuildOpts = OptionsOf<ReturnType<typeof buildOptions>>;

async function zooBuild(o: BuildOpts): Promise<void> {
  const { buildZoo } = await import("@x/zoo");
  const progress = createProgress(o.quiet === true || o.json === true);
  try {
    const zoo = await buildZoo(defaultZooConfig({ tasks: o.tasks, seed: o.seed }), {
      root: o.cache,
      workers: o.workers,
      force: o.force === true,
      progress: (phase, done, total) => progress.update(`zoo ${phase}`, done, total),
    });
    progress.finish();
    const doc = { dir: zoo.dir, cached: zoo.cached, ...zoo.summary };
    printResult(o.json, doc, () => formatZooSummary(zoo));
  } finally {
    progress.stop();
  }
}

async function zooEval(modelDir: string, o: OptionsOf<ReturnType<typeof evalOptions>>): Promise<void> {
  const { evaluateModelDir } = await import("@x/zoo");
  const res = await evaluateModelDir(modelDir, { zooDir: o.zoo, split: o.split });
  printResult(o.json, { ...res, split: o.split }, () => formatModelEvaluation(res, o.split));
}

async function zooStats(zooDir: string, o: OptionsOf<ReturnType<typeof statsOptions>>): Promise<void> {
  const [{ ExpertStatsOptionError, writeExpertStats }, { auxPathOf }] = await Promise.all([
    import("@x/zoo"),
    import("@x/merging"),
  ]);
  const progress = createProgress(o.quiet === true || o.json === true);
  try {
    const res = await writeExpertStats(zooDir, {
      pathOf: auxPathOf,
      samples: o.samples,
      tasks: o.tasks,
      overwrite: o.overwrite === true,
      progress: (done, total) => progress.update("zoo stats", done, total, "experts"),
    }).catch((err: unknown) => {
      // An unknown task, or files computed otherwise without --overwrite: the output policy's exit 2.
      throw err instanceof ExpertStatsOptionError ? new UsageError(err.message) : err;
    });
    progress.finish();
    printResult(o.json, res, () => formatExpertStats(res, zooDir));
  } finally {
    progress.stop();
  }
}

export function build(): Command {
  const buildCmd = defineCommand(
    "build",
    "train (or load from the cache) the zoo: pretrained MLP backbone, one expert per task, Fisher / Gram statistics, a joint model",
    [
      "x zoo build",
      "x zoo build --tasks 3 --seed 2 --workers 0",
      "x zoo build --cache /tmp/zoo --force --json",
    ],
  );
  addOptions(buildCmd, buildOptions()).action(zooBuild);
  const evalCmd = defineCommand(
    "eval",
    "accuracy of a model directory's backbone with every task head of its zoo (e.g. a merged model)",
    [
      "x zoo eval .zoo-cache/zoo-s1-t8-*/joint",
      "x zoo eval merged/ --zoo .zoo-cache/zoo-s1-t8-<hash> --split val --json",
    ],
  ).argument("<model-dir>", "config.json + model.safetensors with backbone.* tensors");
  addOptions(evalCmd, evalOptions()).action(zooEval);
  const statsCmd = defineCommand(
    "stats",
    "write each expert's Fisher weights and Gram matrices beside it (fisher.safetensors, gram.safetensors) for x merge --method fisher / regmean",
    [
      "x zoo stats .zoo-cache/zoo-s1-t8-<hash>",
      "x zoo stats <zoo dir> --samples 512 --tasks mnist-digits,fashion-classes --overwrite --json",
    ],
  )
    .description(
      "For each expert of the zoo (ZOO_DIR/experts/<task>/), on the first N images of its own task's training split, " +
        "writes beside the model: fisher.safetensors, the diagonal empirical Fisher (mean of squared per-sample gradients " +
        "of the true label's log-likelihood) of every tensor, same names and shapes (backbone.* and head.*); " +
        "gram.safetensors, for each linear weight [out, in] a tensor of the same name [in, in]: XᵀX/N of that layer's " +
        "inputs plus a 1e-6 × mean-diagonal ridge (pixels that are zero in every image would make RegMean's system " +
        "singular). This is the layout x merge reads (a single-file model P/name.safetensors uses " +
        "P/name.fisher.safetensors and P/name.gram.safetensors). Files with the same settings are kept; files computed " +
        "otherwise are refused unless --overwrite.",
    )
    .argument("<zoo-dir>", "a zoo directory (x zoo build prints it)");
  addOptions(statsCmd, statsOptions()).action(zooStats);
  return defineGroup(
    "zoo",
    "the MNIST / Fashion-MNIST model zoo: build (train or load from cache), evaluate a model, Fisher / Gram statistics",
    ["x zoo build --tasks 8 --seed 1", "x zoo eval merged/ --zoo <zoo dir>", "x zoo stats <zoo dir>"],
    [buildCmd, evalCmd, statsCmd],
  );
}

const buildOptions = () =>
  options([
    [
      "--tasks <n>",
      `number of tasks, the first n of ${TASKS.map((t) => t.name).join(", ")}`,
      integer(1, TASKS.length),
      DEFAULTS.tasks,
    ],
    ["--seed <n>", "zoo seed (data splits, initialisation, training order)", integer(0), DEFAULTS.seed],
    [
      "--workers <n>",
      "training threads (0 = in this thread; results are identical)",
      integer(0, 16),
      ZOO_BUILD_WORKERS,
    ],
    ["--force", "retrain even when the cache has this zoo"],
    ["--cache <dir>", `cache root (default: $X_ZOO_CACHE or ./${ZOO_CACHE_DIR})`],
    quietOption(),
    jsonOption(),
  ]);

const evalOptions = () =>
  options([
    ["--zoo <dir>", "zoo directory (default: the zoo_dir in MODEL_DIR/config.json)"],
    ["--split <split>", "data split", ["test", "val"], "test"],
    jsonOption(),
  ]);

const statsOptions = () =>
  options([
    [
      "--samples <n>",
      `training images per expert (default: the zoo's own, ${DEFAULTS.statsSamples} for the default zoo)`,
      integer(1),
    ],
    ["--tasks <names>", "only these tasks, comma-separated", list(String)],
    ["--overwrite", "replace statistics files computed with other settings"],
    quietOption(),
    jsonOption(),
  ]);
