/**
 * The Redis options shared by `x worker`, `x evolve --redis` and `x snn cade --redis`: the URL (or $X_REDIS_URL),
 * the password from $REDIS_PASSWORD or a file (never from argv: it would show in `ps`), a TLS CA for rediss://.
 * Only the redacted URL (`redis://:***@host:6379`) is ever printed. And the coordinator of such a run (connectRun).
 */
import { readFileSync } from "node:fs";
import type {
  DistributedEvaluator,
  DistributedEvaluatorOptions,
  RedisConfig,
} from "@x/evolution/distributed";
import { type OptionsOf, options, UsageError } from "./kit.js";

export type RedisOpts = OptionsOf<ReturnType<typeof redisOptions>>;

/** --redis (described by `urlHelp`), --redis-password-file and --redis-ca. */
export const redisOptions = (urlHelp: string) =>
  options([
    ["--redis <url>", urlHelp],
    ["--redis-password-file <file>", "read the Redis password from this file (not from the command line)"],
    ["--redis-ca <file>", "PEM file of the CA that signed the Redis server's TLS certificate (rediss://)"],
  ]);

/**
 * The connection settings (the URL from --redis, else $X_REDIS_URL when `fromEnv`); bad values (URL, unreadable
 * files) are usage errors naming the option.
 */
export async function redisConfigOf(
  o: RedisOpts,
  fromEnv = false,
): Promise<{ config: RedisConfig; redacted: string }> {
  const url = o.redis ?? (fromEnv ? process.env.X_REDIS_URL || undefined : undefined);
  if (!url) throw new UsageError(`--redis URL${fromEnv ? " (or $X_REDIS_URL)" : ""} is required`);
  const { RedisConfigError, redactRedisUrl, resolveRedis } = await import("@x/evolution/distributed");
  let password: string | undefined;
  if (o.redisPasswordFile !== undefined) {
    try {
      password = readFileSync(o.redisPasswordFile, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new UsageError(
        `--redis-password-file: cannot read ${o.redisPasswordFile} (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  } else if (process.env.REDIS_PASSWORD) password = process.env.REDIS_PASSWORD;
  if (o.redisCa !== undefined) {
    try {
      readFileSync(o.redisCa, "utf8");
    } catch (e) {
      throw new UsageError(`--redis-ca: cannot read ${o.redisCa} (${(e as NodeJS.ErrnoException).code})`);
    }
  }
  const config: RedisConfig = {
    url,
    ...(password !== undefined ? { password } : {}),
    ...(o.redisCa !== undefined ? { ca: o.redisCa } : {}),
  };
  try {
    resolveRedis(config);
  } catch (e) {
    if (e instanceof RedisConfigError) throw new UsageError(`--redis: ${e.message}`);
    throw e;
  }
  return { config, redacted: redactRedisUrl(url) };
}

/**
 * Connects the coordinator of a run (x evolve --redis, x snn cade --redis) and says on which Redis and with what
 * lookahead: the given one, a whole generation (`generation`), else one evaluation per connected worker. The
 * run's events (a failed or re-enqueued candidate, the connection lost or restored) are said in the same words
 * by every command.
 */
export async function connectRun(
  redis: { config: RedisConfig; redacted: string },
  o: Omit<DistributedEvaluatorOptions, "redis" | "onEvent"> & {
    lookahead?: number;
    generation?: boolean;
    say: (line: string) => void;
  },
): Promise<{ evaluator: DistributedEvaluator; lookahead: number }> {
  const { createDistributedEvaluator, describeCoordinatorEvent, lookaheadForWorkers } = await import(
    "@x/evolution/distributed"
  );
  const { lookahead: given, generation, say, ...options } = o;
  const evaluator = await createDistributedEvaluator({
    ...options,
    redis: redis.config,
    onEvent: (e) => {
      const line = describeCoordinatorEvent(e);
      if (line) say(line);
    },
  });
  let lookahead = given;
  let why = "--lookahead";
  if (lookahead === undefined && generation) {
    lookahead = Number.MAX_SAFE_INTEGER;
    why = "a whole generation at once";
  } else if (lookahead === undefined) {
    const auto = await lookaheadForWorkers(redis.config);
    lookahead = auto.lookahead;
    why = auto.workers === null ? `${auto.why}; set --lookahead` : auto.why;
  }
  const shown = lookahead === Number.MAX_SAFE_INTEGER ? "generation" : String(lookahead);
  say(
    `run ${o.runId} on ${redis.redacted}, lookahead ${shown} (${why}); start workers with x worker --redis URL`,
  );
  return { evaluator, lookahead };
}
