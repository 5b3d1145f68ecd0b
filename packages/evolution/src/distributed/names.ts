import { createHash } from "node:crypto";
import { RedisConfigError } from "./errors.js";

/** Redis key prefix of everything this package stores (BullMQ's queues included). */
export const KEY_PREFIX = "x-evo";

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A run id names the run's queue: letters, digits, `.`, `_`, `-`, at most 100 characters. */
export function validateRunId(runId: string): void {
  if (typeof runId !== "string" || !RUN_ID.test(runId)) {
    throw new RedisConfigError(
      `run id ${JSON.stringify(runId)} must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * A run id from any strings (an output directory, a config hash, ...): readable head plus a hash, so two runs
 * that write to different directories never share a queue and a resumed run finds its own.
 */
export function runIdFrom(...parts: string[]): string {
  const head = (parts[0] ?? "run")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .slice(-40)
    .replace(/^[^A-Za-z0-9]+/, "");
  const hash = createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 12);
  return `${head || "run"}-${hash}`;
}

/** Connection name of a worker's Redis client: this prefix and the worker's id (see countConnectedWorkers). */
export const WORKER_CONNECTION_PREFIX = `${KEY_PREFIX}-worker-`;
/** The zset of registered runs (member: run id, score: last heartbeat in ms). Workers discover runs here. */
export const registryKey = `${KEY_PREFIX}:runs`;
/** Raw genome bytes of a candidate waiting to be evaluated. */
export const payloadKey = (runId: string, key: string): string => `${KEY_PREFIX}:payload:${runId}:${key}`;
/** Coordinators publish job ids to cancel here; workers abort those evaluations. */
export const cancelChannel = (runId: string): string => `${KEY_PREFIX}:cancel:${runId}`;
export const cancelPattern = `${KEY_PREFIX}:cancel:*`;
