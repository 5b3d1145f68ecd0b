/**
 * `x snn cade --redis URL`: the fitness evaluations go to `x worker` processes through @x/evolution/distributed.
 * The workers load @x/snn's `cadeFitnessEvaluator` with the run's options (model spec, where the fitness images
 * are, their checksum, the engine), so a worker needs only x and the data. Redis options and credentials are the
 * ones `x worker` and `x evolve` take (src/redis.ts).
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import { catchInterrupts, type EvaluatorSpec, signalExitCode } from "@x/evolution";
import type { DistributedEvaluator, RedisConfig } from "@x/evolution/distributed";
import { ExitError, integer, type OptionsOf, options } from "../../kit.js";
import { connectRun, redisConfigOf, redisOptions } from "../../redis.js";

export type DistributedOpts = OptionsOf<ReturnType<typeof distributedOptions>>;

export const distributedOptions = () =>
  options([
    ...redisOptions(
      "evaluate fitness on x worker processes through this Redis, redis://host:6379 or rediss:// for TLS (results identical to a local run); the password comes from $REDIS_PASSWORD or --redis-password-file",
    ),
    ["--shared-dir <dir>", "with --redis: a directory every worker mounts, for genomes above 1 MiB"],
    [
      "--lookahead <k>",
      "with --redis: children evaluated at once (default: the number of connected workers, at least 2; the result does not depend on it)",
      integer(1, 1024),
    ],
  ]);

/** Checks the Redis options before any work starts (bad values are usage errors). */
export async function redisSettings(o: DistributedOpts) {
  return o.redis === undefined ? null : redisConfigOf(o);
}

export interface RemoteFitness {
  readonly fitness: (genome: Float32Array) => Promise<number>;
  readonly lookahead: number;
  stats(): Record<string, number>;
  close(): Promise<void>;
  /** The error to report when the run failed: an interrupt exits 130 (SIGINT) or 143 (SIGTERM). */
  explain(e: unknown, resumable: boolean): unknown;
}

/** Connects the coordinator of the run anchored at `anchor` (its checkpoint directory, else its output file). */
export async function distributedFitness(
  o: DistributedOpts,
  redis: { config: RedisConfig; redacted: string },
  evaluator: EvaluatorSpec,
  anchor: string,
  log: (line: string) => void,
): Promise<RemoteFitness> {
  const { runIdFrom } = await import("@x/evolution/distributed");
  // Ctrl-C / SIGTERM: the queue drops the run's jobs (the workers abort them); the checkpoint stays.
  const interrupts = catchInterrupts();
  let ev: DistributedEvaluator;
  let lookahead: number;
  try {
    ({ evaluator: ev, lookahead } = await connectRun(redis, {
      runId: runIdFrom(resolve(anchor), hostname(), "snn-cade"),
      evaluator,
      sharedDir: o.sharedDir === undefined ? undefined : resolve(o.sharedDir),
      signal: interrupts.signal,
      lookahead: o.lookahead,
      say: log,
    }));
  } catch (e) {
    interrupts.detach();
    throw e;
  }
  return {
    fitness: (genome) => ev.fitness(genome),
    lookahead,
    stats: () => ({ ...ev.stats() }),
    async close() {
      try {
        await ev.close({ cancel: interrupts.caught !== null });
      } finally {
        interrupts.detach();
      }
    },
    explain: (e, resumable) =>
      interrupts.caught === null
        ? e
        : new ExitError(
            `interrupted (${interrupts.caught}); ${resumable ? "the last checkpoint is kept: run the same command with --resume" : "no checkpoint (--checkpoint-dir)"}`,
            signalExitCode(interrupts.caught),
          ),
  };
}
