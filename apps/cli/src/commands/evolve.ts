import { hostname } from "node:os";
import { resolve } from "node:path";
import { catchInterrupts, signalExitCode } from "@x/evolution";
import type { DistributedEvaluator } from "@x/evolution/distributed";
import {
  ALGORITHMS,
  EVOLVE_DEFAULTS,
  type EvolveFitness,
  EvolveResumeError,
  EXAMPLE_CONFIG,
  evolveEvaluatorSpec,
  evolveResumeState,
  formatEvolveResult,
  loadEvolveConfig,
  MERGE_NAMES,
  removeStaleEvolveTemporaries,
  runEvolve,
} from "@x/merging/evolve";
import type { Command } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  ExitError,
  integer,
  number,
  type OptionsOf,
  options,
  outputOptions,
  printResult,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";
import { connectRun, redisConfigOf, redisOptions } from "../redis.js";
import { installZooScorer } from "../zoo-scorer.js";

type EvolveOpts = OptionsOf<ReturnType<typeof evolveOptions>>;

/** `--resume` needs a checkpoint, or an OUT_DIR that only a killed earlier run of x evolve can have left. */
function checkResumable(out: string): void {
  const state = evolveResumeState(out);
  if (state === "missing")
    throw new UsageError(`--resume: ${out} has no checkpoint to resume from (it does not exist)`);
  if (state === "foreign") throw new UsageError(`--resume: ${out} has no checkpoint to resume from`);
}

async function evolveAction(
  config: string | undefined,
  outArg: string | undefined,
  o: EvolveOpts,
): Promise<void> {
  if (o.example) {
    console.log(EXAMPLE_CONFIG);
    return;
  }
  if (config === undefined || outArg === undefined) throw new UsageError("expected CONFIG.yml and OUT_DIR");
  const out = resolve(outArg);
  const cfg = loadEvolveConfig(config);
  const inputs = [...cfg.population, ...(cfg.base ? [cfg.base] : []), ...(cfg.merge?.stats ?? [])];
  if (o.resume) {
    checkResumable(out);
    checkOutput(out, { overwrite: true, inputs });
  } else checkOutput(out, { overwrite: o.overwrite, inputs });
  const distributed = o.redis !== undefined;
  if (o.sharedDir !== undefined && !distributed) throw new UsageError("--shared-dir needs --redis");
  // Bad Redis options are usage errors before any work starts.
  const redis = distributed ? await redisConfigOf(o) : null;
  if (cfg.zoo) installZooScorer();
  const say = (line: string) => {
    if (!o.quiet && !o.json) process.stderr.write(`${line}\n`);
  };

  // Ctrl-C / SIGTERM: stop the evaluations (their child processes, the queue's jobs), keep the checkpoint; a
  // second Ctrl-C leaves at once, removing this process's temporaries.
  const interrupts = catchInterrupts(() => {
    removeStaleEvolveTemporaries(out, true);
    process.stderr.write(`x evolve: forced stop; resume with x evolve ${config} ${outArg} --resume\n`);
    process.exit(130);
  });
  const progress = createProgress(o.quiet === true || o.json === true);
  let remote: DistributedEvaluator | null = null;
  try {
    let fitness: EvolveFitness | undefined;
    let lookahead = o.lookahead;
    if (distributed) {
      const { runIdFrom } = await import("@x/evolution/distributed");
      const run = await connectRun(redis!, {
        runId: runIdFrom(out, hostname()),
        evaluator: evolveEvaluatorSpec(cfg),
        timeoutMs: o.evalTimeout === undefined ? undefined : o.evalTimeout * 1000,
        sharedDir: o.sharedDir === undefined ? undefined : resolve(o.sharedDir),
        signal: interrupts.signal,
        lookahead,
        generation: cfg.algorithm === "cmaes",
        say: (line) => say(`x evolve: ${line}`),
      });
      remote = run.evaluator;
      fitness = remote.fitness;
      lookahead = run.lookahead;
    }
    const r = await runEvolve(cfg, out, {
      resume: o.resume === true,
      fitness,
      lookahead,
      timeoutMs: distributed || o.evalTimeout === undefined ? undefined : o.evalTimeout * 1000,
      signal: interrupts.signal,
      onProgress: (done, total, message) => progress.update("evolve", done, total, message),
      onNotice: (m) => say(`x evolve: ${m}`),
    });
    progress.finish();
    const doc = { ...r, ...(remote ? { runId: remote.runId, queue: remote.stats() } : {}) };
    printResult(o.json, doc, () => formatEvolveResult(r));
  } catch (e) {
    const caught = interrupts.caught;
    if (caught !== null) {
      progress.stop();
      const kept =
        evolveResumeState(out) === "checkpoint" ? "the last checkpoint is kept" : "no checkpoint yet";
      throw new ExitError(
        `interrupted (${caught}); ${kept}: resume with x evolve ${config} ${outArg} --resume`,
        signalExitCode(caught),
      );
    }
    if (e instanceof EvolveResumeError) throw new UsageError(e.message);
    if (e instanceof Error && e.name === "EvaluationTimeoutError")
      e.message = `${e.message} (--eval-timeout); the run stopped at its last checkpoint: --resume retries it`;
    throw e;
  } finally {
    progress.stop();
    await remote?.close({ cancel: interrupts.caught !== null });
    interrupts.detach();
  }
}

export function build(): Command {
  const d = EVOLVE_DEFAULTS;
  const cmd = defineCommand(
    "evolve",
    "Evolver or CMA-ES over a population of model checkpoints, resumable, locally or on x worker processes",
    [
      "x evolve --example > evolve.yml",
      "x evolve evolve.yml out/",
      "x evolve evolve.yml out/ --resume --json",
      "x evolve evolve.yml out/ --redis redis://10.0.0.1:6379   # with x worker on any machine",
    ],
  )
    .description(
      `Evolutionary search over a population of checkpoints (directories or safetensors files of one architecture). algorithm (${ALGORITHMS.join(", ")}; default ${d.algorithm}): evolver is differential evolution over the weights — mode A (standalone) outputs the best individual by dev score; mode B (merge) keeps a child only if the merged population's dev score strictly improves and outputs that merge. cmaes (as mergekit-evolve) searches one weight per model (per group of layers with cmaes.layer_granularity) of the merge block's method, from the merge as configured (all weights 1), within [0, max_weight], and outputs the merge with the best weights. Merge methods: ${MERGE_NAMES.join(", ")}. Config defaults: mode ${d.mode}, merge.method ${d.mergeMethod}, lambda ${d.lambda}, topK ${d.topK}, drop ${d.drop}, ratio ${d.ratio}, alpha ${d.alpha}, f ${d.f}, cr ${d.cr}, generations ${d.generations}, seed ${d.seed}; cmaes: max_fevals ${d.maxFevals}, sigma0 1/6, popsize 4 + 3 ln(dims), layer_granularity ${d.layerGranularity}, max_weight ${d.maxWeight}, restarts ${d.restarts}. Every key is checked: an unknown key is an error naming the nearest valid one. The dev score comes from evaluator.command (prints a number; {model} is the candidate directory) or evaluator.zoo (mean validation accuracy of a zoo's tasks). Checkpoints go to OUT_DIR/checkpoint every generation with a fingerprint of every setting that changes the result (merge block, evaluator, data by SHA-256, seed, budget, algorithm); --resume continues a killed run to exactly the result of an uninterrupted one and refuses changed settings, naming them. Ctrl-C (or SIGTERM) stops the evaluations and their processes, removes temporaries and exits 130 (143) with the resume command. Writes OUT_DIR/model/ and OUT_DIR/evolve-result.json.`,
    )
    .argument("[config]", "the YAML config (x evolve --example prints one)")
    .argument("[out]", "output directory");
  return addOptions(cmd, evolveOptions()).action(evolveAction);
}

const evolveOptions = () =>
  options([
    ["--resume", "continue the run in OUT_DIR from its last checkpoint (same settings)"],
    ["--example", "print an example config and exit"],
    [
      "--lookahead <n>",
      "evaluations in flight at once (evolver: the next children, speculatively, results identical; cmaes: candidates of a generation); default 1, with --redis the number of connected workers (at least 2) or a whole cmaes generation",
      integer(1, 1_000_000),
    ],
    [
      "--eval-timeout <s>",
      "time limit of one evaluation in seconds: a candidate exceeding it fails with an error naming it and the run stops at its last checkpoint (exit 1; --resume retries it); with --redis the worker enforces it and retries the candidate up to 3 times first",
      number(0.001, 1e7),
    ],
    [
      "--shared-dir <dir>",
      "with --redis: a directory every worker mounts, for genomes above 1 MiB (whole models of Evolver runs)",
    ],
    ...outputOptions(),
    ...redisOptions(
      "evaluate on x worker processes through this Redis, redis://host:6379 or rediss:// for TLS (queue named after OUT_DIR and this host; results identical to a local run); the password comes from $REDIS_PASSWORD or --redis-password-file",
    ),
  ]);
