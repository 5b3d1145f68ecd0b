import { isAbsolute } from "node:path";
import { type Job, Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { EvaluationCancelledError, EvolutionConfigError } from "../errors.js";
import { type EvaluatorSpec, evaluatorSpecHash, validateEvaluatorSpec } from "../evaluator.js";
import { describeCandidate, type EvalInfo } from "../fitness.js";
import { connectRedis } from "./connect.js";
import { DistributedEvaluationError } from "./errors.js";
import type { CoordinatorEvent } from "./events.js";
import { cancelChannel, KEY_PREFIX, registryKey, validateRunId } from "./names.js";
import {
  candidateKey,
  DEFAULT_INLINE_MAX_BYTES,
  decodeFitness,
  deletePayload,
  type GenomeDtype,
  genomeBytes,
  type JobData,
  type JobResult,
  PAYLOAD_MISSING,
  type PayloadRef,
  sha256,
  writePayload,
} from "./payload.js";
import { type RedisConfig, resolveRedis } from "./redis.js";

export interface DistributedEvaluatorOptions {
  /** Redis URL (`redis://`, `rediss://` for TLS) or the URL with a password / CA kept apart. */
  readonly redis: RedisConfig;
  /** Names the run's queue; several runs can share one Redis. Reuse it to resume a run. */
  readonly runId: string;
  /** The evaluator every worker loads (module, export, JSON options). */
  readonly evaluator: EvaluatorSpec;
  /** Genomes up to this many bytes travel in Redis; larger ones as files under `sharedDir` (default 1 MiB). */
  readonly inlineMaxBytes?: number;
  /** Absolute path of a directory every worker can read (needed for genomes above `inlineMaxBytes`). */
  readonly sharedDir?: string;
  /** Per-evaluation time limit, enforced by the worker; a candidate exceeding it fails (and is retried). */
  readonly timeoutMs?: number;
  /** Tries per candidate before the run fails (default 3); a worker that dies mid-job does not use one up. */
  readonly attempts?: number;
  /** Abort (e.g. on Ctrl-C) to cancel every pending evaluation, on the workers too. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: CoordinatorEvent) => void;
  /** How often in-flight jobs are checked against Redis (missed events, lost jobs); default 2000 ms. */
  readonly reconcileMs?: number;
  /** How often the run tells workers it is alive; default 2000 ms. */
  readonly heartbeatMs?: number;
  /** Time allowed for the first connection (default 30 s); later outages are waited out. */
  readonly connectTimeoutMs?: number;
}

export interface DistributedEvaluatorStats {
  /** Jobs enqueued by this coordinator. */
  readonly submitted: number;
  /** Results received. */
  readonly completed: number;
  /** Of those, results that were already in Redis (found after a restart of the coordinator). */
  readonly reused: number;
  /** Jobs re-enqueued because Redis had lost them. */
  readonly resubmitted: number;
  readonly failed: number;
  readonly inFlight: number;
}

export interface DistributedEvaluator {
  readonly runId: string;
  /**
   * Evaluate one genome on the workers. Use it as any fitness function (DE, Evolver, CMA-ES); run several at
   * once (the optimizer's `concurrency`) to keep several workers busy. Results are identical to a local run
   * with the same evaluator, whatever the number of workers and the order in which they finish.
   */
  readonly fitness: (genome: Float32Array | Float64Array, info?: EvalInfo) => Promise<number>;
  stats(): DistributedEvaluatorStats;
  /**
   * Stop: unregister the run and close the connections. With `cancel`, pending evaluations are rejected and
   * the workers drop them (waiting jobs removed, running ones aborted); without, close waits for nothing and
   * leaves unfinished jobs in the queue for a resumed run.
   */
  close(o?: { cancel?: boolean }): Promise<void>;
}

interface Pending {
  readonly key: string;
  readonly candidate: string;
  readonly data: JobData;
  readonly bytes: Buffer;
  readonly submittedAt: number;
  added: boolean;
  /** Times its genome was written again after Redis lost it. */
  heals: number;
  readonly promise: Promise<number>;
  resolve(v: number): void;
  reject(e: Error): void;
}

const JOB_NAME = "evaluate";
const KEEP_SECONDS = 7 * 24 * 3600;

/** Coordinator side of the queue: `fitness(genome)` enqueues, a worker evaluates, the fitness comes back. */
export async function createDistributedEvaluator(
  o: DistributedEvaluatorOptions,
): Promise<DistributedEvaluator> {
  validateRunId(o.runId);
  validateEvaluatorSpec(o.evaluator);
  if (o.sharedDir !== undefined && !isAbsolute(o.sharedDir)) {
    throw new EvolutionConfigError(`sharedDir must be an absolute path, got ${o.sharedDir}`);
  }
  const attempts = o.attempts ?? 3;
  if (!(Number.isInteger(attempts) && attempts >= 1)) {
    throw new EvolutionConfigError(`attempts must be an integer >= 1, got ${attempts}`);
  }
  const inlineMax = o.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
  const r = resolveRedis(o.redis);
  const runId = o.runId;
  const specHash = evaluatorSpecHash(o.evaluator);
  const emit = (e: CoordinatorEvent): void => {
    try {
      o.onEvent?.(e);
    } catch {
      // a listener's failure must not break the run
    }
  };

  const client: Redis = await connectRedis(r, o.connectTimeoutMs ?? 30_000, `x-evo-coordinator-${runId}`);
  const queue = new Queue<JobData, JobResult>(runId, { connection: r.options, prefix: KEY_PREFIX });
  // Start reading the event stream where it ends now, so no event after our first job is missed.
  const last = await client.xrevrange(`${KEY_PREFIX}:${runId}:events`, "+", "-", "COUNT", 1);
  const events = new QueueEvents(runId, {
    connection: r.options,
    prefix: KEY_PREFIX,
    lastEventId: last[0]?.[0] ?? "0-0",
  });
  let connectionLost = false;
  const onConnError = (e: Error): void => {
    if (!connectionLost) {
      connectionLost = true;
      emit({ type: "connection", state: "lost", detail: r.scrub(e.message) });
    }
  };
  client.on("error", onConnError);
  queue.on("error", onConnError);
  events.on("error", onConnError);
  client.on("ready", () => {
    if (connectionLost) {
      connectionLost = false;
      emit({ type: "connection", state: "restored" });
      void heartbeat();
      void reconcile(0);
    }
  });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  const pending = new Map<string, Pending>();
  const startedAt = Date.now();
  let submitted = 0;
  let completed = 0;
  let reused = 0;
  let resubmitted = 0;
  let failed = 0;
  let closed = false;

  const heartbeat = async (): Promise<void> => {
    try {
      await client.zadd(registryKey, Date.now(), runId);
    } catch {
      // retried at the next beat
    }
  };
  await heartbeat();
  const beat = setInterval(heartbeat, o.heartbeatMs ?? 2000);
  beat.unref();
  emit({ type: "ready", runId, redis: r.redacted });

  const finish = (p: Pending, result: JobResult | string | null | undefined, wasReused: boolean): void => {
    if (!pending.has(p.key)) return;
    pending.delete(p.key);
    const res = typeof result === "string" ? (JSON.parse(result) as JobResult) : result;
    if (!res || typeof res.fitness !== "string") {
      fail(p, `the worker returned no fitness (${JSON.stringify(result)})`);
      return;
    }
    const v = decodeFitness(res.fitness);
    completed++;
    if (wasReused) reused++;
    emit({
      type: "completed",
      jobId: p.key,
      candidate: p.candidate,
      fitness: v,
      worker: res.worker,
      reused: wasReused,
    });
    void deletePayload(client, runId, p.key, p.data.payload).catch(() => {});
    p.resolve(v);
  };
  const fail = (p: Pending, reason: string): void => {
    pending.delete(p.key);
    failed++;
    const msg = r.scrub(reason);
    emit({ type: "failed", jobId: p.key, candidate: p.candidate, error: msg });
    p.reject(new DistributedEvaluationError(p.candidate, p.key, msg));
  };

  events.on("completed", ({ jobId, returnvalue }) => {
    const p = pending.get(jobId);
    if (p) finish(p, returnvalue as unknown as JobResult, false);
  });
  /** A job failed for good: heal a lost genome, else the run fails naming the candidate. */
  const onFailed = async (p: Pending, reason: string, job?: Job<JobData, JobResult>): Promise<void> => {
    if (reason.includes(PAYLOAD_MISSING) && p.heals < 3) {
      p.heals++;
      try {
        await writePayload(client, runId, p.key, p.bytes, p.data.payload);
        const j = job ?? (await queue.getJob(p.key));
        if (j) await j.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
        else await submit(p, true);
        emit({ type: "resubmitted", jobId: p.key, candidate: p.candidate, why: "Redis had lost its genome" });
        return;
      } catch {
        // fall through: the reconcile loop looks again
        return;
      }
    }
    fail(p, reason);
  };
  events.on("failed", ({ jobId, failedReason }) => {
    const p = pending.get(jobId);
    // a job failed by an earlier coordinator is retried by `inspect`; this one failed now
    if (p?.added) void onFailed(p, failedReason);
  });
  events.on("duplicated", ({ jobId }) => {
    const p = pending.get(jobId);
    if (p) void inspect(p).catch(() => {});
  });

  /** Look at a job's state in Redis and act on it (used after a duplicate add, and by the reconcile loop). */
  const inspect = async (p: Pending): Promise<void> => {
    const job: Job<JobData, JobResult> | undefined = await queue.getJob(p.key);
    if (!pending.has(p.key)) return;
    if (!job) {
      // Redis lost the job (restart without persistence): send it again.
      await submit(p, true);
      return;
    }
    const state = await job.getState();
    if (!pending.has(p.key)) return;
    if (state === "completed") finish(p, job.returnvalue, (job.finishedOn ?? 0) < startedAt);
    else if (state === "failed") {
      if ((job.finishedOn ?? 0) < startedAt) {
        // failed before this coordinator started (a previous run stopped on it): try again
        await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
        emit({ type: "resubmitted", jobId: p.key, candidate: p.candidate, why: "failed in an earlier run" });
      } else await onFailed(p, job.failedReason || "failed", job);
    }
  };

  const submit = async (p: Pending, again: boolean): Promise<void> => {
    await writePayload(client, runId, p.key, p.bytes, p.data.payload);
    await queue.add(JOB_NAME, p.data, {
      jobId: p.key,
      attempts,
      backoff: { type: "exponential", delay: 500 },
      removeOnComplete: { age: KEEP_SECONDS },
      removeOnFail: { age: KEEP_SECONDS },
    });
    p.added = true;
    if (again) {
      resubmitted++;
      emit({ type: "resubmitted", jobId: p.key, candidate: p.candidate, why: "Redis had lost the job" });
    } else {
      submitted++;
      emit({ type: "submitted", jobId: p.key, candidate: p.candidate, via: p.data.payload.via });
    }
  };

  let reconciling = false;
  const reconcile = async (minAgeMs: number): Promise<void> => {
    if (reconciling || closed) return;
    reconciling = true;
    try {
      const now = Date.now();
      for (const p of [...pending.values()]) {
        if (p.added && now - p.submittedAt >= minAgeMs) await inspect(p);
      }
    } catch {
      // Redis unreachable: the next tick tries again
    } finally {
      reconciling = false;
    }
  };
  const reconcileMs = o.reconcileMs ?? 2000;
  const ticker = setInterval(() => void reconcile(reconcileMs), reconcileMs);
  ticker.unref();

  const fitness = async (genome: Float32Array | Float64Array, info?: EvalInfo): Promise<number> => {
    const candidate = describeCandidate(info);
    if (closed) throw new EvaluationCancelledError(candidate, "the distributed evaluator is closed");
    if (o.signal?.aborted) throw new EvaluationCancelledError(candidate);
    const dtype: GenomeDtype = genome instanceof Float64Array ? "f64" : "f32";
    const bytes = genomeBytes(genome);
    const digest = sha256(bytes);
    const where = { target: info?.target ?? -1, generation: info?.generation ?? -1 };
    const key = candidateKey(specHash, dtype, digest, where);
    const existing = pending.get(key);
    if (existing) return existing.promise;
    let payload: PayloadRef;
    if (bytes.length <= inlineMax) payload = { via: "redis" };
    else if (o.sharedDir) payload = { via: "file", root: o.sharedDir, file: `${runId}/${key}.bin` };
    else {
      throw new EvolutionConfigError(
        `a genome of ${bytes.length} bytes is above inlineMaxBytes (${inlineMax}); give sharedDir (a directory every worker mounts) or raise inlineMaxBytes`,
      );
    }
    const data: JobData = {
      v: 1,
      runId,
      key,
      candidate,
      info: where,
      dtype,
      length: genome.length,
      sha256: digest,
      evaluator: o.evaluator,
      payload,
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    };
    let resolve!: (v: number) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // close() may reject it while the job is still being enqueued, before the caller holds it: not unhandled
    promise.catch(() => {});
    const p: Pending = {
      key,
      candidate,
      data,
      bytes,
      submittedAt: Date.now(),
      added: false,
      heals: 0,
      promise,
      resolve,
      reject,
    };
    pending.set(key, p);
    try {
      await submit(p, false);
    } catch (e) {
      if (closed) return promise; // closed meanwhile: the promise carries the cancellation, not this error
      pending.delete(key);
      throw new DistributedEvaluationError(
        candidate,
        key,
        `could not enqueue: ${r.scrub((e as Error).message)}`,
      );
    }
    return promise;
  };

  const close = async (c: { cancel?: boolean } = {}): Promise<void> => {
    if (closed) return;
    closed = true;
    clearInterval(beat);
    clearInterval(ticker);
    const left = [...pending.values()];
    for (const p of left) {
      pending.delete(p.key);
      p.reject(
        new EvaluationCancelledError(
          p.candidate,
          c.cancel ? "the run was cancelled" : "the evaluator was closed",
        ),
      );
    }
    if (c.cancel && left.length > 0) {
      emit({ type: "cancelled", pending: left.length });
      try {
        await client.publish(cancelChannel(runId), JSON.stringify({ jobIds: left.map((p) => p.key) }));
        for (const p of left) {
          const job = await queue.getJob(p.key);
          if (job && (await job.getState()) !== "active") await job.remove().catch(() => {});
          await deletePayload(client, runId, p.key, p.data.payload).catch(() => {});
        }
      } catch {
        // Redis gone: the workers' stalled-job checks and the payload TTL clean up
      }
    }
    await client.zrem(registryKey, runId).catch(() => {});
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
    client.disconnect();
  };

  o.signal?.addEventListener("abort", () => void close({ cancel: true }), { once: true });

  return {
    runId,
    fitness,
    stats: () => ({ submitted, completed, reused, resubmitted, failed, inFlight: pending.size }),
    close,
  };
}
