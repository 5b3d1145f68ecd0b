import { Redis } from "ioredis";
import { RedisConfigError } from "./errors.js";
import { WORKER_CONNECTION_PREFIX } from "./names.js";
import { type RedisConfig, type ResolvedRedis, resolveRedis } from "./redis.js";

/**
 * Open an ioredis client and wait until it is ready. Authentication errors fail at once; an unreachable
 * server fails after `timeoutMs` with an error naming the redacted URL (later outages are retried forever).
 */
export async function connectRedis(r: ResolvedRedis, timeoutMs: number, name: string): Promise<Redis> {
  const client = new Redis({ ...r.options, connectionName: name, lazyConnect: true });
  let lastError = "";
  const onError = (e: Error): void => {
    lastError = r.scrub(e.message);
  };
  client.on("error", onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new RedisConfigError(
              `cannot reach Redis at ${r.redacted} within ${timeoutMs} ms: ${lastError || "no answer"}`,
            ),
          ),
        timeoutMs,
      );
      const fatal = (e: Error): void => {
        if (/WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username/i.test(e.message)) {
          clearTimeout(timer);
          reject(
            new RedisConfigError(`Redis at ${r.redacted} refused the credentials: ${r.scrub(e.message)}`),
          );
        }
      };
      client.on("error", fatal);
      client.once("ready", () => {
        clearTimeout(timer);
        client.off("error", fatal);
        resolve();
      });
      client.connect().catch(() => {}); // errors arrive as 'error' events
    });
  } catch (e) {
    client.disconnect();
    throw e;
  }
  return client;
}

/**
 * How many workers (`runWorker`, e.g. `x worker`) are connected to this Redis now, counted by their connection
 * names in the server's client list; null when the server cannot be reached or does not allow CLIENT LIST.
 */
export async function countConnectedWorkers(config: RedisConfig): Promise<number | null> {
  const client = new Redis({
    ...resolveRedis(config).options,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  client.on("error", () => {});
  const named = new RegExp(`(?:^| )name=${WORKER_CONNECTION_PREFIX}(\\S+)`);
  try {
    await client.connect();
    const list = String(await client.client("LIST"));
    const names = new Set(
      list
        .split("\n")
        .map((l) => named.exec(l)?.[1])
        .filter((n): n is string => n !== undefined),
    );
    return names.size;
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/**
 * How many evaluations a coordinator should keep in flight on this Redis's workers: one per connected worker,
 * at least 2; `why` says where the number comes from (the workers counted, or that the server hides its client
 * list).
 */
export async function lookaheadForWorkers(
  config: RedisConfig,
): Promise<{ lookahead: number; workers: number | null; why: string }> {
  const workers = await countConnectedWorkers(config);
  const why =
    workers === null
      ? "the server hides its client list"
      : `${workers} worker${workers === 1 ? "" : "s"} connected`;
  return { lookahead: Math.max(2, workers ?? 0), workers, why };
}
