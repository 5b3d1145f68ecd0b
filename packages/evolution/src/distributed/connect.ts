import { Redis } from "ioredis";
import { RedisConfigError } from "./errors.js";
import type { ResolvedRedis } from "./redis.js";

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
