/**
 * `x snn cade --redis URL`: the fitness evaluations go to `x worker` processes through @x/evolution/distributed.
 * The workers load @x/snn's `cadeFitnessEvaluator` with the run's options (model spec, where the fitness images
 * are, their checksum, the engine), so a worker needs only x and the data. Redis options and credentials are the
 * ones `x worker` and `x evolve` take (src/redis.ts).
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { EvaluatorSpec } from "@x/evolution";
import type { RedisConfig } from "@x/evolution/distributed";
import type { Command } from "commander";
import { ExitError, integer } from "../../kit.js";
import { addRedisOptions, type RedisOpts, redisConfigOf } from "../../redis.js";

export interface DistributedOpts extends RedisOpts {
  sharedDir?: string;
  lookahead?: number;
}

export function addDistributedOptions(cmd: Command): Command {
  return addRedisOptions(
    cmd,
    "evaluate fitness on x worker processes through this Redis, redis://host:6379 or rediss:// for TLS (results identical to a local run); the password comes from $REDIS_PASSWORD or --redis-password-file",
  )
    .option("--shared-dir <dir>", "with --redis: a directory every worker mounts, for genomes above 1 MiB")
    .option(
      "--lookahead <k>",
      "with --redis: children evaluated at once (default: the number of connected workers, at least 2; the result does not depend on it)",
      integer(1, 1024),
    );
}

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
  const { createDistributedEvaluator, lookaheadForWorkers, runIdFrom } = await import(
    "@x/evolution/distributed"
  );
  const runId = runIdFrom(resolve(anchor), hostname(), "snn-cade");
  // Ctrl-C / SIGTERM: the queue drops the run's jobs (the workers abort them); the checkpoint stays.
  const ac = new AbortController();
  let caught: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (caught !== null) process.exit(sig === "SIGINT" ? 130 : 143);
    caught = sig;
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  const onInt = () => onSignal("SIGINT");
  const onTerm = () => onSignal("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  const detach = () => {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  };
  let ev: Awaited<ReturnType<typeof createDistributedEvaluator>>;
  try {
    ev = await createDistributedEvaluator({
      redis: redis.config,
      runId,
      evaluator,
      sharedDir: o.sharedDir === undefined ? undefined : resolve(o.sharedDir),
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === "connection") log(`connection to Redis ${e.state}${e.detail ? ` (${e.detail})` : ""}`);
      },
    });
  } catch (e) {
    detach();
    throw e;
  }
  let lookahead = o.lookahead;
  let why = "--lookahead";
  if (lookahead === undefined) {
    const auto = await lookaheadForWorkers(redis.config);
    lookahead = auto.lookahead;
    why = auto.workers === null ? `${auto.why}; set --lookahead` : auto.why;
  }
  log(
    `run ${runId} on ${redis.redacted}, lookahead ${lookahead} (${why}); start workers with x worker --redis URL`,
  );
  return {
    fitness: (genome) => ev.fitness(genome),
    lookahead,
    stats: () => ({ ...ev.stats() }),
    async close() {
      try {
        await ev.close({ cancel: caught !== null });
      } finally {
        detach();
      }
    },
    explain: (e, resumable) =>
      caught === null
        ? e
        : new ExitError(
            `interrupted (${caught}); ${resumable ? "the last checkpoint is kept: run the same command with --resume" : "no checkpoint (--checkpoint-dir)"}`,
            caught === "SIGINT" ? 130 : 143,
          ),
  };
}
