import { readFileSync } from "node:fs";
import { RedisConfigError } from "./errors.js";

/**
 * Where the queue lives: a URL (`redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS), or the
 * URL with settings that do not fit in it.
 */
export type RedisConfig =
  | string
  | {
      readonly url: string;
      /** Password kept out of the URL (e.g. read from a file or the environment, so it is not in `ps`). */
      readonly password?: string;
      /** PEM text or a path to a PEM file of the CA that signed the server's certificate (rediss://). */
      readonly ca?: string;
      /** Accept a TLS certificate that does not verify (default false; only for testing). */
      readonly rejectUnauthorized?: boolean;
    };

/** ioredis connection options plus what the rest of the package needs to know about them. */
export interface ResolvedRedis {
  readonly options: Record<string, unknown>;
  /** The URL with the password replaced by `***`: safe for logs and events. */
  readonly redacted: string;
  /** Replaces every secret (password, full URL) in a text by its redacted form. */
  readonly scrub: (text: string) => string;
}

/** `redis://user:***@host:6379/0`: the URL with its password hidden. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable Redis URL)";
  }
}

/** Parse a Redis URL into ioredis options (retrying forever, so a Redis restart is survived). */
export function resolveRedis(config: RedisConfig): ResolvedRedis {
  const c = typeof config === "string" ? { url: config } : config;
  let u: URL;
  try {
    u = new URL(c.url);
  } catch {
    throw new RedisConfigError(
      "the Redis URL is not a URL (expected redis://host:port or rediss://host:port)",
    );
  }
  const secrets = [c.url, u.password, safeDecode(u.password), c.password ?? ""].filter((s) => s.length >= 3);
  const redacted = redactRedisUrl(c.url);
  const scrub = (text: string): string => {
    let t = text;
    for (const s of secrets.sort((a, b) => b.length - a.length))
      t = t.split(s).join(s === c.url ? redacted : "***");
    return t;
  };
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new RedisConfigError(
      `unsupported Redis URL scheme ${u.protocol} in ${redacted} (use redis:// or rediss://)`,
    );
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = u.port ? Number(u.port) : 6379;
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new RedisConfigError(`bad port in ${redacted}`);
  }
  const dbText = u.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!(Number.isInteger(db) && db >= 0)) throw new RedisConfigError(`bad database number in ${redacted}`);
  const options: Record<string, unknown> = {
    host,
    port,
    db,
    // Never give up on a command or a connection: the queue survives a Redis restart.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
  if (u.username) options.username = safeDecode(u.username);
  const password = c.password ?? (u.password ? safeDecode(u.password) : undefined);
  if (password) options.password = password;
  if (u.protocol === "rediss:") {
    let ca: string | undefined;
    if (c.ca !== undefined) ca = c.ca.includes("-----BEGIN") ? c.ca : readCa(c.ca);
    options.tls = {
      servername: host,
      ...(ca ? { ca } : {}),
      ...(c.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    };
  }
  return { options, redacted, scrub };
}

function readCa(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new RedisConfigError(`cannot read the TLS CA file ${path}: ${(e as NodeJS.ErrnoException).code}`);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
