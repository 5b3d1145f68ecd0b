/**
 * `x evolve CONFIG.yml OUT_DIR [--resume]`: Evolver over a population of checkpoints (@x/merging/evolve). The dev
 * score comes from the config's evaluator: an external command, or a zoo built by `x zoo build` (mean validation
 * accuracy over its tasks, never the test split).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { EVOLVE_DEFAULTS, EXAMPLE_CONFIG, loadEvolveConfig, MERGE_NAMES, runEvolve } from "@x/merging/evolve";
import type { Command } from "commander";
import {
  checkOutput,
  defineCommand,
  jsonOption,
  overwriteOption,
  printResult,
  quietOption,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";

interface EvolveOpts {
  resume?: boolean;
  example?: boolean;
  overwrite?: boolean;
  quiet?: boolean;
  json?: boolean;
}

async function evolveAction(
  config: string | undefined,
  out: string | undefined,
  o: EvolveOpts,
): Promise<void> {
  if (o.example) {
    console.log(EXAMPLE_CONFIG);
    return;
  }
  if (config === undefined || out === undefined) throw new UsageError("expected CONFIG.yml and OUT_DIR");
  const cfg = loadEvolveConfig(config);
  const inputs = [...cfg.population, ...(cfg.base ? [cfg.base] : []), ...(cfg.merge?.stats ?? [])];
  if (o.resume) {
    if (!existsSync(join(out, "checkpoint")))
      throw new UsageError(`--resume: ${out} has no checkpoint to resume from`);
    checkOutput(out, { overwrite: true, inputs });
  } else checkOutput(out, { overwrite: o.overwrite, inputs });
  const zooDir = cfg.zoo;
  const score = zooDir
    ? async (dir: string) => {
        const { evaluateModelDir } = await import("@x/zoo");
        return (await evaluateModelDir(dir, { zooDir, split: "val" })).average;
      }
    : undefined;
  const progress = createProgress(o.quiet === true || o.json === true);
  try {
    const r = await runEvolve(cfg, out, {
      resume: o.resume === true,
      score,
      onProgress: (done, total, message) => progress.update("evolve", done, total, message),
    });
    progress.finish();
    printResult(
      o.json,
      r,
      () =>
        `dev score ${r.outputScore} (${r.mode === "merge" ? "merged population" : `individual ${r.outputIndex}`}), ${r.evaluations} evaluations, ${r.accepted} accepted; wrote ${r.modelDir}`,
    );
  } finally {
    progress.stop();
  }
}

export function build(): Command {
  const d = EVOLVE_DEFAULTS;
  return defineCommand(
    "evolve",
    "Evolver over a population of model checkpoints (standalone, or through a merge method), resumable",
    [
      "x evolve --example > evolve.yml",
      "x evolve evolve.yml out/",
      "x evolve evolve.yml out/ --resume --json",
    ],
  )
    .description(
      `Evolver over a population of checkpoints (directories or safetensors files of one architecture). Mode A (standalone) outputs the best individual by dev score; mode B (merge) keeps a child only if the merged population's dev score strictly improves and outputs that merge. Merge methods: ${MERGE_NAMES.join(", ")}. Config defaults: mode ${d.mode}, merge.method ${d.mergeMethod}, lambda ${d.lambda}, topK ${d.topK}, drop ${d.drop}, ratio ${d.ratio}, alpha ${d.alpha}, f ${d.f}, cr ${d.cr}, generations ${d.generations}, seed ${d.seed}. The dev score comes from evaluator.command (prints a number; {model} is the candidate directory) or evaluator.zoo (mean validation accuracy of a zoo's tasks). Checkpoints go to OUT_DIR/checkpoint every generation; --resume continues a killed run to exactly the result of an uninterrupted one. Writes OUT_DIR/model/ and OUT_DIR/evolve-result.json.`,
    )
    .argument("[config]", "the YAML config (x evolve --example prints one)")
    .argument("[out]", "output directory")
    .option("--resume", "continue the run in OUT_DIR from its last checkpoint")
    .option("--example", "print an example config and exit")
    .addOption(overwriteOption())
    .addOption(quietOption())
    .addOption(jsonOption())
    .action(evolveAction);
}
