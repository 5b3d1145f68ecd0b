/**
 * `x evolve CONFIG.yml OUT_DIR [--resume]`: Evolver over a population of checkpoints. Mode A (standalone)
 * outputs the best individual by dev score; mode B (merge) outputs the merge of the evolved population. The
 * dev score comes from an external command that receives a candidate model directory and prints a number
 * (the last number on its stdout; higher is better), or from a zoo built by `x zoo build` (mean validation
 * accuracy over its tasks — never the test split). Checkpoints go to OUT_DIR/checkpoint every generation;
 * --resume continues a killed run exactly.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";
import { ProgressBar } from "../progress.js";

/** Runs the evaluator on a model directory and parses its score. */
export function runEvaluator(command: readonly string[], cwd: string, modelDir: string): Promise<number> {
  const argv = command.map((a) => a.replaceAll("{model}", modelDir));
  return new Promise((res, rej) => {
    execFile(argv[0], argv.slice(1), { cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        rej(
          new Error(
            `evaluator '${argv.join(" ")}' failed: ${err.message}${stderr ? `\n${stderr.slice(-2000)}` : ""}`,
          ),
        );
        return;
      }
      const nums = stdout.match(/[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?|nan/gi);
      const last = nums?.[nums.length - 1];
      const v = last === undefined ? Number.NaN : Number(last.replace(/^([-+]?)inf(inity)?$/i, "$1Infinity"));
      if (!Number.isFinite(v)) {
        rej(
          new Error(
            `evaluator '${argv.join(" ")}' printed no finite score (stdout: ${JSON.stringify(stdout.slice(-200))})`,
          ),
        );
        return;
      }
      res(v);
    });
  });
}

export const evolveCommand: Command = {
  name: "evolve",
  summary:
    "Evolver over a population of model checkpoints (mode A standalone, or mode B with a @x/merging method: mean, ta, ties, dare, pcb, fisher, regmean; Fisher/Gram statistics from files). Dev score from an external command; checkpoints every generation; --resume continues a killed run exactly.",
  usage: "x evolve CONFIG.yml OUT_DIR [--resume] [--example]",
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { resume: { type: "boolean" }, example: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
    const { EXAMPLE_CONFIG, loadEvolveConfig } = await import("./evolver/config.js");
    if (values.example) {
      console.log(EXAMPLE_CONFIG);
      return 0;
    }
    if (positionals.length !== 2) throw new UsageError("expected CONFIG.yml and OUT_DIR");
    const cfg = loadEvolveConfig(positionals[0]);
    const outDir = resolve(positionals[1]);
    const { evolve, DirectoryRunStore } = await import("@x/evolution");
    const { readGenome, readLayout, writeModel } = await import("./evolver/models.js");
    const { mergeFunction } = await import("./evolver/registry-merge.js");
    const { readSlotStats } = await import("./evolver/stats-files.js");

    const layout = await readLayout(cfg.population[0], cfg.include, cfg.exclude);
    const genomes = cfg.population.map(() => new Float32Array(layout.dim));
    for (let i = 0; i < genomes.length; i++) await readGenome(cfg.population[i], layout, genomes[i]);
    let base: Float32Array | null = null;
    if (cfg.base) {
      base = new Float32Array(layout.dim);
      await readGenome(cfg.base, layout, base);
    }
    mkdirSync(outDir, { recursive: true });
    const scratch = mkdtempSync(join(outDir, ".candidates-"));
    let candidate = 0;
    const score = async (w: Float32Array): Promise<number> => {
      const dir = join(scratch, `c${candidate++}`);
      await writeModel(dir, cfg.population[0], layout, w);
      try {
        if (cfg.zoo) {
          const { evaluateModelDir } = await import("../zoo/store.js");
          return (await evaluateModelDir(dir, { zooDir: cfg.zoo, split: "val" })).average;
        }
        return await runEvaluator(cfg.command!, cfg.cwd, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    // Statistics belong to the slot: an evolved child keeps its parent's (see registry-merge.ts).
    const stats = cfg.merge?.stats
      ? await Promise.all(
          cfg.merge.stats.map((file, i) =>
            readSlotStats(
              file,
              cfg.population[i],
              layout.evolved,
              cfg.merge!.method === "fisher" ? "fisher" : "gram",
            ),
          ),
        )
      : undefined;
    const merge =
      cfg.mode === "merge" && cfg.merge
        ? mergeFunction(cfg.merge.method, layout.evolved, base ?? new Float32Array(layout.dim), {
            lambda: cfg.merge.lambda,
            tiesTopK: cfg.merge.topK,
            dareDrop: cfg.merge.drop,
            pcbRatio: cfg.merge.ratio,
            regmeanAlpha: cfg.merge.alpha,
            maskSeed: `x-evolve-${cfg.seed}`,
            stats,
            slotNames: cfg.population,
          })
        : undefined;
    const bar = new ProgressBar({ label: "evolve", total: genomes.length * cfg.generations });
    let children = 0;
    try {
      const r = await evolve(genomes, {
        mode: cfg.mode,
        merge,
        f: cfg.f,
        cr: cfg.cr,
        generations: cfg.generations,
        seed: cfg.seed,
        score,
        store: new DirectoryRunStore(join(outDir, "checkpoint")),
        resume: values.resume ?? false,
        onEvaluation: (e) => {
          children++;
          bar.update(e.generation * genomes.length + children, `dev ${e.current.toFixed(4)}`);
        },
        onProgress: (e) => {
          children = 0;
          bar.update(
            (e.generation + 1) * genomes.length,
            `gen ${e.generation + 1}/${e.generations} best ${e.best.toFixed(4)} accepted ${e.accepted}`,
          );
        },
      });
      bar.finish();
      await writeModel(join(outDir, "model"), cfg.population[0], layout, r.output);
      const result = {
        config: { ...cfg, include: cfg.include?.source ?? null, exclude: cfg.exclude?.source ?? null },
        outputScore: r.outputScore,
        outputIndex: r.outputIndex,
        scores: Array.from(r.scores),
        evaluations: r.evaluations,
        skipped: r.skipped,
        accepted: r.accepted,
        history: r.history,
        evolvedTensors: layout.evolved.length,
        dim: layout.dim,
        note: "Selection used only the evaluator's (dev) score; no test data is consulted.",
      };
      const file = join(outDir, "evolve-result.json");
      writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 1)}\n`);
      renameSync(`${file}.tmp`, file);
      console.log(
        `dev score ${r.outputScore} (${cfg.mode === "merge" ? "merged population" : `individual ${r.outputIndex}`}), ${r.evaluations} evaluations, ${r.accepted} accepted; wrote ${join(outDir, "model")}`,
      );
      return 0;
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
};
