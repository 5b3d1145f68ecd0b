/**
 * `x snn cade`: CADE (cosine-annealing differential evolution) over a population of SNN checkpoints, given as
 * files or built by transfer learning from a source model; fitness locally or on `x worker` processes through
 * Redis (--redis); resumable from a checkpoint directory after a kill.
 */
import {
  CADE_ARMS,
  CADE_DEFAULTS,
  type CadeDocument,
  CadeSettingsError,
  cadeArmOf,
  cadeCheckpoint,
  formatCadeReport,
  isBuiltinDataset,
  TRAIN_DEFAULTS,
} from "@x/snn";
import type { Command } from "commander";
import {
  addOptions,
  defineCommand,
  given,
  integer,
  number,
  type OptionsOf,
  options,
  printResult,
  UsageError,
} from "../../kit.js";
import { note, resumableBar } from "../../progress.js";
import {
  backendOption,
  checkRunOutputs,
  dataOptions,
  engineOption,
  flag,
  kebab,
  modelFrom,
  modelOptions,
  runOutputOptions,
  snnAction,
} from "./common.js";
import { distributedFitness, distributedOptions, type RemoteFitness, redisSettings } from "./distributed.js";

const D = CADE_DEFAULTS;

type CadeOpts = OptionsOf<ReturnType<typeof cadeOptions>>;

async function cadeAction(o: CadeOpts, cmd: Command): Promise<void> {
  for (const k of ["lookahead", "sharedDir"] as const)
    if (o[k] !== undefined && !o.redis) throw new UsageError(`--${kebab(k)} goes with --redis`);
  const redis = await redisSettings(o);
  if (o.valData && given(cmd, "valPerClass")) throw new UsageError("--val-data replaces --val-per-class");
  if (o.testData && !o.test) throw new UsageError("--test-data and --no-test contradict each other");
  const quiet = o.quiet === true || o.json === true;
  const arm = cadeArmOf(o, flag);
  const inputs = [
    ...(o.population ?? []),
    ...(o.source ? [o.source] : []),
    ...(isBuiltinDataset(o.data) ? [] : [o.data]),
    ...(o.valData ? [o.valData] : []),
    ...(o.testData ? [o.testData] : []),
  ];
  const out = checkRunOutputs(o, "where the selected model goes", inputs);

  // the population bar ends when the population is ready: before the Redis notes and the DE bar
  const popBar = resumableBar(quiet, "population");
  const bar = resumableBar(quiet, "cade");
  let remote: RemoteFitness | null = null;
  let doc: CadeDocument;
  try {
    doc = await cadeCheckpoint(
      {
        ...o,
        out,
        model: modelFrom(o, cmd),
        given: (k) => given(cmd, k),
        arm,
        resume: o.resume === true,
      },
      {
        onMemberProgress: (member, e) =>
          popBar.update(
            member * e.totalSteps + e.globalStep,
            o.size * e.totalSteps,
            `member ${member + 1}/${o.size} epoch ${e.epoch + 1}/${e.epochs} loss ${e.loss.toFixed(3)}`,
          ),
        connectFitness: redis
          ? async (evaluator) => {
              popBar.stop();
              remote = await distributedFitness(o, redis, evaluator, o.checkpointDir ?? out, (line) =>
                note(quiet, line),
              );
              return remote;
            }
          : undefined,
        onProgress: (e) => {
          popBar.stop();
          bar.update(
            e.generation + 1,
            e.generations,
            `gen ${e.generation + 1}/${e.generations} evals ${e.evaluations} best fitness ${e.bestFitness.toFixed(2)}% val ${e.bestVal.toFixed(2)}% F ${e.f.toPrecision(2)}`,
          );
        },
      },
      flag,
    );
  } catch (e) {
    if (e instanceof CadeSettingsError)
      throw new UsageError(`--resume: ${e.message}; use the flags of that run`);
    // an interrupt of a run on workers exits 130 (SIGINT) or 143 (SIGTERM)
    throw remote ? (remote as RemoteFitness).explain(e, o.checkpointDir !== undefined) : e;
  } finally {
    popBar.stop();
    bar.stop();
  }
  printResult(o.json, doc, () => formatCadeReport(doc));
}

export function cadeCommand(): Command {
  const cmd = defineCommand(
    "cade",
    "CADE (cosine-annealing DE) over a population of SNN checkpoints, given or transfer-learned; resumable, optionally on x worker processes",
    [
      "x snn cade --source source.safetensors --classes 0,1,2,3,4,6 --out cade.safetensors",
      "x snn cade --population m0.safetensors m1.safetensors m2.safetensors m3.safetensors --out cade.safetensors --json",
      "x snn cade --source source.safetensors --classes 0,1,2,3,4,6 --checkpoint-dir run/ --out cade.safetensors --resume",
      "x snn cade --population pop/*.safetensors --arm constant --f0 0.5 --cr0 0.9 --j-rand --out de.safetensors",
      "x snn cade --population pop/*.safetensors --redis redis://queue:6379 --out cade.safetensors   # x worker elsewhere",
    ],
  ).description(
    `DE/rand/1/bin as CADE runs it (no j_rand unless --j-rand, strict greedy in-place selection) with the F / CR schedule of --arm: cade = F0 at generation 0, then Fmin + (F0 − Fmin)(1 + cos(πg/P))/2 + U(Fmin, F0) (same for CR); constant; cade-mean = constant at S3's expected average; jitter = S3 without the cosine's shape; linear = F0 → Fmin. Fitness = top-1 accuracy (%) on a fixed sample of --fitness-size training images; each child costs one evaluation; the written model is the best individual by validation accuracy (test is only reported). The population comes from --population files, or is built: each of --size members starts from --source with a fresh head (transfer learning; without --source from random weights of the model flags) and is fine-tuned for --member-epochs under its own recipe (label smoothing, mixup, erasing, lr). --checkpoint-dir keeps the population and the DE state; --resume continues a killed run to exactly the result of an uninterrupted one. --redis sends the fitness evaluations to x worker processes (any machine with x and the data); the result is identical to a local run. Defaults are those of the experiment behind bench/results/cade.md.`,
  );
  return addOptions(cmd, cadeOptions()).action(snnAction(cadeAction));
}

const cadeOptions = () =>
  options([
    ["--population <files...>", "the initial population: at least 4 checkpoints of one model"],
    ["--source <file>", "pretrained source model: the population is fine-tuned from it with new heads"],
    ["--size <n>", "members to build", integer(4, 10000), D.populationSize],
    ["--member-epochs <n>", "fine-tuning epochs per built member", integer(0, 100000), D.memberEpochs],
    ["--batch-size <n>", "fine-tuning batch size", integer(1, 65536), TRAIN_DEFAULTS.batchSize],
    backendOption(),
    ...modelOptions(),
    ...dataOptions({ min: 1, default: D.valPerClass }),
    ["--val-data <file>", "a validation set (safetensors images + labels) instead of holding one out"],
    [
      "--fitness-size <n>",
      "images of the fitness set (a seeded sample of the training images)",
      integer(1),
      D.fitnessSetSize,
    ],
    ["--no-test", "do not score the test split (mnist / fashion-mnist)"],
    ["--test-data <file>", "a test set to report on (safetensors images + labels)"],
    ["--generations <n>", "generations", integer(0, 1000000), D.generations],
    ["--arm <arm>", "F / CR schedule", CADE_ARMS, "cade"],
    ["--f0 <F>", "F at the start (the constant F of --arm constant)", number(0), D.f0],
    ["--cr0 <CR>", "CR at the start (default: F0)", number(0, 1)],
    ["--f-min <x>", "floor of the schedule (default: F0/10)", number(0)],
    ["--half-period <g>", "half period P of the cosine in generations (default: round(0.4·G))", integer(1)],
    ["--j-rand", "force one crossed coordinate per child (textbook DE; CADE's runs do not)"],
    engineOption(),
    ["--seed <n>", "seed of data split, fitness sample, population recipes and DE", integer(0), 1],
    ...runOutputOptions("the selected model", "the population and the DE state"),
    ...distributedOptions(),
  ]);
