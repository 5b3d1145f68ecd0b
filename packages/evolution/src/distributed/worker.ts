import { hostname } from "node:os";
import { type Job, UnrecoverableError, WaitingError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { EvolutionConfigError } from "../errors.js";
import { type Evaluator, evaluatorSpecHash, type ImportModule, loadEvaluator } from "../evaluator.js";
import { guardFitness } from "../fitness.js";
import { connectRedis } from "./connect.js";
import type { WorkerEvent } from "./events.js";
import { cancelPattern, KEY_PREFIX, registryKey, validateRunId, WORKER_CONNECTION_PREFIX } from "./names.js";
import { encodeFitness, type JobData, type JobResult, PayloadMissingError, readPayload } from "./payload.js";
import { type RedisConfig, resolveRedis } from "./redis.js";

export interface WorkerOptions {
  readonly redis: RedisConfig;
  /** Evaluations at once in this process (default 1), shared by every run it serves. */
  readonly concurrency?: number;
  /** Serve only these runs (default: every run that registers in this Redis). */
  readonly runs?: readonly string[];
  readonly onEvent?: (event: WorkerEvent) => void;
  /**
   * Loads an evaluator module named by a job. Default: `import()` from this package, which finds absolute
   * paths, file: URLs and packages installed next to @x/evolution. Pass `(s) => import(s)` from your own code
   * to resolve package names from your package.
   */
  readonly importModule?: ImportModule;
  /** Evaluator modules this worker agrees to load (default: any module a job names). */
  readonly allowModules?: readonly string[];
  /** This machine's mount point of the coordinator's `sharedDir`, when it differs. */
  readonly sharedDir?: string;
  /**
   * A job's lock lasts this long and is renewed every half of it (default 30 s). A worker that dies loses its
   * jobs to other workers within lockDuration + stalledInterval. An evaluator that blocks the event loop
   * longer than this (synchronous CPU work) lets its lock lapse: the job is then evaluated twice (counted once).
   */
  readonly lockDurationMs?: number;
  /** How often this worker looks for jobs of dead workers (default 10 s). */
  readonly stalledIntervalMs?: number;
  /** A job whose worker died more often than this fails (default 2). */
  readonly maxStalledCount?: number;
  /** How often the registry of runs is read (default 1 s). */
  readonly discoverIntervalMs?: number;
  /** A run whose coordinator has not been heard of for this long is left (default 60 s). */
  readonly staleRunMs?: number;
  /** Stop cleanly on SIGINT / SIGTERM (default true): running jobs go back to the queue at once. */
  readonly handleSignals?: boolean;
  /** Worker name in events, results and error messages (default host:pid). */
  readonly name?: string;
  readonly connectTimeoutMs?: number;
}

export interface WorkerStats {
  readonly runs: readonly string[];
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
}

export interface WorkerHandle {
  readonly id: string;
  /** Settles when the worker has stopped (after `close`, or a signal). */
  readonly done: Promise<void>;
  /** Stop taking jobs, hand running ones back to the queue, close connections. */
  close(reason?: string): Promise<void>;
  stats(): WorkerStats;
}

/** A counting semaphore: at most `n` evaluations at once across all runs. */
class Slots {
  private free: number;
  private readonly waiters: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.free++;
  }
}

/**
 * A queue worker: discovers the runs registered in Redis (or serves the given ones), takes their jobs, loads
 * the evaluator each job names (once per run), evaluates the genome and returns its fitness. Reports what it
 * does through `onEvent`; stops cleanly on SIGINT / SIGTERM, giving running jobs back to the queue.
 */
export async function runWorker(o: WorkerOptions): Promise<WorkerHandle> {
  const concurrency = o.concurrency ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new EvolutionConfigError(`concurrency must be an integer >= 1, got ${concurrency}`);
  }
  for (const id of o.runs ?? []) validateRunId(id);
  const r = resolveRedis(o.redis);
  const id = o.name ?? `${hostname()}:${process.pid}`;
  const emit = (e: WorkerEvent): void => {
    try {
      o.onEvent?.(e);
    } catch {
      // a listener's failure must not stop the worker
    }
  };
  const client: Redis = await connectRedis(
    r,
    o.connectTimeoutMs ?? 30_000,
    `${WORKER_CONNECTION_PREFIX}${id}`,
  );
  const subscriber = client.duplicate();
  subscriber.on("error", () => {});

  const slots = new Slots(concurrency);
  const workers = new Map<string, Worker<JobData, JobResult>>();
  const lastSeen = new Map<string, number>();
  const evaluators = new Map<string, Promise<Evaluator>>();
  const stopController = new AbortController();
  let stopping = false;
  let active = 0;
  let completed = 0;
  let failedCount = 0;
  let connectionLost = false;

  const lost = (e: Error): void => {
    if (!connectionLost && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|closed|Connection/i.test(e.message)) {
      connectionLost = true;
      emit({ type: "connection", state: "lost", detail: r.scrub(e.message) });
    } else if (!connectionLost) emit({ type: "error", error: r.scrub(e.message) });
  };
  client.on("error", lost);
  client.on("ready", () => {
    if (connectionLost) {
      connectionLost = false;
      emit({ type: "connection", state: "restored" });
    }
  });

  const evaluatorFor = (data: JobData): Promise<Evaluator> => {
    const k = `${data.runId}/${evaluatorSpecHash(data.evaluator)}`;
    let ev = evaluators.get(k);
    if (!ev) {
      ev = loadEvaluator(data.evaluator, {
        importModule: o.importModule,
        context: { runId: data.runId, workerId: id },
      });
      evaluators.set(k, ev);
      ev.catch(() => evaluators.delete(k)); // a failed load is retried by the next job
    }
    return ev;
  };

  const processor = async (
    job: Job<JobData, JobResult>,
    token?: string,
    signal?: AbortSignal,
  ): Promise<JobResult> => {
    const data = job.data;
    if (data?.v !== 1)
      throw new UnrecoverableError(`[worker ${id}] job ${job.id} is not an @x/evolution job`);
    const base = { runId: data.runId, jobId: String(job.id), candidate: data.candidate };
    emit({ type: "job-started", ...base, attempt: job.attemptsMade + 1 });
    active++;
    const t0 = performance.now();
    try {
      if (o.allowModules && !o.allowModules.includes(data.evaluator.module)) {
        throw new UnrecoverableError(
          `evaluator module ${data.evaluator.module} is not allowed on this worker`,
        );
      }
      const evaluator = await evaluatorFor(data);
      const genome = await readPayload(client, data, o.sharedDir);
      await slots.acquire();
      let value: number;
      try {
        const guarded = guardFitness(evaluator.fitness, {
          timeoutMs: data.timeoutMs,
          signal: stopController.signal,
        });
        value = await guarded(genome, { ...data.info, signal });
      } finally {
        slots.release();
      }
      if (typeof value !== "number")
        throw new UnrecoverableError(`fitness is not a number: ${String(value)}`);
      const ms = performance.now() - t0;
      completed++;
      emit({ type: "job-finished", ...base, fitness: value, ms });
      return { fitness: encodeFitness(value), worker: id, ms };
    } catch (e) {
      if (stopping && token && !signal?.aborted) {
        // this worker is stopping: give the job back at once, without using up an attempt
        await job.moveToWait(token).catch(() => {});
        emit({ type: "job-returned", ...base });
        throw new WaitingError();
      }
      const why = signal?.aborted ? "cancelled by the coordinator" : r.scrub((e as Error).message);
      const msg = `[worker ${id}] ${why}`;
      failedCount++;
      emit({ type: "job-failed", ...base, error: msg });
      const final = e instanceof UnrecoverableError || e instanceof PayloadMissingError || signal?.aborted;
      throw final ? new UnrecoverableError(msg) : new Error(msg);
    } finally {
      active--;
    }
  };

  const rebalance = (): void => {
    const per = Math.max(1, Math.ceil(concurrency / Math.max(1, workers.size)));
    for (const w of workers.values()) w.concurrency = per;
  };

  const join = (runId: string): void => {
    const w = new Worker<JobData, JobResult>(runId, processor, {
      connection: r.options,
      prefix: KEY_PREFIX,
      name: id,
      concurrency: 1,
      lockDuration: o.lockDurationMs ?? 30_000,
      stalledInterval: o.stalledIntervalMs ?? 10_000,
      maxStalledCount: o.maxStalledCount ?? 2,
      autorun: true,
    });
    w.on("error", lost);
    workers.set(runId, w);
    rebalance();
    emit({ type: "run-joined", runId });
  };
  const leave = async (runId: string): Promise<void> => {
    const w = workers.get(runId);
    if (!w) return;
    workers.delete(runId);
    lastSeen.delete(runId);
    rebalance();
    await w.close().catch(() => {});
    for (const [k, ev] of evaluators) {
      if (k.startsWith(`${runId}/`)) {
        evaluators.delete(k);
        await ev.then((e) => e.close?.()).catch(() => {});
      }
    }
    emit({ type: "run-left", runId });
  };

  const staleRunMs = o.staleRunMs ?? 60_000;
  const graceMs = 10_000;
  let discovering = false;
  const discover = async (): Promise<void> => {
    if (stopping || discovering) return;
    discovering = true;
    try {
      const now = Date.now();
      const fresh = o.runs ?? (await client.zrangebyscore(registryKey, now - staleRunMs, "+inf"));
      for (const runId of fresh) {
        lastSeen.set(runId, now);
        if (!workers.has(runId) && !stopping) join(runId);
      }
      for (const runId of [...workers.keys()]) {
        if (now - (lastSeen.get(runId) ?? now) > graceMs) await leave(runId);
      }
    } catch {
      // Redis unreachable: try at the next tick
    } finally {
      discovering = false;
    }
  };

  subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
    const runId = channel.slice(`${KEY_PREFIX}:cancel:`.length);
    const w = workers.get(runId);
    if (!w) return;
    try {
      const { jobIds } = JSON.parse(message) as { jobIds: string[] };
      for (const jobId of jobIds) w.cancelJob(jobId, "cancelled by the coordinator");
    } catch {
      // not ours
    }
  });
  await subscriber.psubscribe(cancelPattern);

  emit({ type: "started", worker: id, redis: r.redacted, concurrency });
  await discover();
  const ticker = setInterval(() => void discover(), o.discoverIntervalMs ?? 1000);

  let resolveDone!: () => void;
  const done = new Promise<void>((res) => {
    resolveDone = res;
  });
  let closing: Promise<void> | null = null;
  const close = (reason = "closed"): Promise<void> => {
    if (closing) return closing;
    stopping = true;
    closing = (async () => {
      emit({ type: "stopping", reason, active });
      clearInterval(ticker);
      stopController.abort(new Error(`worker stopping (${reason})`));
      await Promise.all([...workers.keys()].map((runId) => leave(runId)));
      for (const ev of evaluators.values()) await ev.then((e) => e.close?.()).catch(() => {});
      evaluators.clear();
      subscriber.disconnect();
      await client.quit().catch(() => client.disconnect());
      if (o.handleSignals ?? true) {
        process.off("SIGINT", onSigint);
        process.off("SIGTERM", onSigterm);
      }
      emit({ type: "stopped", completed, failed: failedCount });
      resolveDone();
    })();
    return closing;
  };
  const onSigint = (): void => {
    if (stopping) for (const w of workers.values()) void w.close(true);
    else void close("SIGINT");
  };
  const onSigterm = (): void => void close("SIGTERM");
  if (o.handleSignals ?? true) {
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigterm);
  }

  return {
    id,
    done,
    close,
    stats: () => ({ runs: [...workers.keys()], active, completed, failed: failedCount }),
  };
}
