/**
 * The Redis options shared by `x worker` and `x evolve --redis`: the URL (or $X_REDIS_URL), the password from
 * $REDIS_PASSWORD or a file (never from argv: it would show in `ps`), a TLS CA for rediss://. Only the
 * redacted URL (`redis://:***@host:6379`) is ever printed.
 */
import { readFileSync } from "node:fs";
import type { RedisConfig } from "@x/evolution/distributed";
import { type Command, Option } from "commander";
import { UsageError } from "./kit.js";

export interface RedisOpts {
  redis?: string;
  redisPasswordFile?: string;
  redisCa?: string;
}

/** Adds --redis (described by `urlHelp`), --redis-password-file and --redis-ca to a command. */
export function addRedisOptions(cmd: Command, urlHelp: string): Command {
  return cmd
    .addOption(new Option("--redis <url>", urlHelp))
    .option(
      "--redis-password-file <file>",
      "read the Redis password from this file (not from the command line)",
    )
    .option(
      "--redis-ca <file>",
      "PEM file of the CA that signed the Redis server's TLS certificate (rediss://)",
    );
}

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
