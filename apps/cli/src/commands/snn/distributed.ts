/**
 * `x snn cade --redis URL`: the fitness evaluations go to `x worker` processes through @x/evolution/distributed.
 * The workers load @x/snn's `cadeFitnessEvaluator` with the run's options (model spec, where the fitness images
 * are, their checksum, the engine), so a worker needs only x and the data. The password comes from
 * --redis-password-file or $REDIS_PASSWORD, never from the printed URL.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { EvaluatorSpec } from "@x/evolution";
import type { Command } from "commander";
import { UsageError } from "../../kit.js";

export interface RedisOpts {
  redis?: string;
  redisPasswordFile?: string;
  redisCa?: string;
  sharedDir?: string;
}

export function addRedisOptions(cmd: Command): Command {
  return cmd
    .option(
      "--redis <url>",
      "evaluate fitness on x worker processes through this Redis (redis:// or rediss://)",
    )
    .option("--redis-password-file <file>", "read the Redis password from this file (else $REDIS_PASSWORD)")
    .option("--redis-ca <file>", "PEM of the CA that signed the Redis server's TLS certificate (rediss://)")
    .option(
      "--shared-dir <dir>",
      "a directory every worker mounts, for genomes above 1 MiB (the queue's limit)",
    );
}

/** Refuses a --redis value that is not a redis:// or rediss:// URL before any work starts. */
export function checkRedisUrl(url: string | undefined): void {
  if (url === undefined) return;
  let protocol = "";
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new UsageError("--redis: not a URL (expected redis://host:port or rediss://host:port)");
  }
  if (protocol !== "redis:" && protocol !== "rediss:")
    throw new UsageError(`--redis: unsupported scheme ${protocol} (use redis:// or rediss://)`);
}

export interface RemoteFitness {
  readonly fitness: (genome: Float32Array) => Promise<number>;
  stats(): Record<string, number>;
  close(cancel: boolean): Promise<void>;
  /** The error to report when the run failed (an interrupt becomes a hint to resume). */
  explain(e: unknown): unknown;
}

/** Connects a coordinator for the run anchored at `anchor` (its checkpoint directory or output file). */
export async function distributedFitness(
  o: RedisOpts,
  evaluator: EvaluatorSpec,
  anchor: string,
  log: (line: string) => void,
): Promise<RemoteFitness> {
  const d = await import("@x/evolution/distributed");
  let password: string | undefined = process.env.REDIS_PASSWORD || undefined;
  if (o.redisPasswordFile !== undefined) {
    try {
      password = readFileSync(o.redisPasswordFile, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new UsageError(
        `--redis-password-file: cannot read ${o.redisPasswordFile} (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  }
  const config = {
    url: o.redis!,
    ...(password !== undefined ? { password } : {}),
    ...(o.redisCa !== undefined ? { ca: resolve(o.redisCa) } : {}),
  };
  const runId = d.runIdFrom(resolve(anchor), "x-snn-cade");
  const ac = new AbortController();
  let interrupted: string | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = sig;
    ac.abort(new Error(`${sig}`));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let ev: Awaited<ReturnType<typeof d.createDistributedEvaluator>>;
  try {
    ev = await d.createDistributedEvaluator({
      redis: config,
      runId,
      evaluator,
      sharedDir: o.sharedDir ? resolve(o.sharedDir) : undefined,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === "ready") log(`queue ${e.runId} on ${e.redis}: waiting for x worker processes`);
        if (e.type === "connection") log(`connection to Redis ${e.state}${e.detail ? ` (${e.detail})` : ""}`);
      },
    });
  } catch (e) {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (e instanceof d.RedisConfigError) throw new UsageError(`--redis: ${e.message}`);
    throw e;
  }
  return {
    fitness: (genome) => ev.fitness(genome),
    stats: () => ({ ...ev.stats() }),
    async close(cancel) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await ev.close({ cancel });
    },
    explain: (e) =>
      interrupted
        ? new Error(
            `interrupted (${interrupted}); the workers dropped the run's jobs; --resume continues from the last checkpoint`,
          )
        : e,
  };
}
