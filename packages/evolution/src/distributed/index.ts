/**
 * `@x/evolution/distributed`: fitness evaluation fanned out over machines with BullMQ on Redis.
 * Needs the optional peer dependencies `bullmq` and `ioredis`.
 */

export { countConnectedWorkers, lookaheadForWorkers } from "./connect.js";
export {
  createDistributedEvaluator,
  type DistributedEvaluator,
  type DistributedEvaluatorOptions,
  type DistributedEvaluatorStats,
} from "./coordinator.js";
export { DistributedEvaluationError, RedisConfigError } from "./errors.js";
export {
  type CoordinatorEvent,
  describeCoordinatorEvent,
  describeWorkerEvent,
  formatFitness,
  type WorkerEvent,
} from "./events.js";
export { KEY_PREFIX, runIdFrom, validateRunId, WORKER_CONNECTION_PREFIX } from "./names.js";
export { DEFAULT_INLINE_MAX_BYTES } from "./payload.js";
export { type RedisConfig, type ResolvedRedis, redactRedisUrl, resolveRedis } from "./redis.js";
export { runWorker, type WorkerHandle, type WorkerOptions, type WorkerStats } from "./worker.js";
