// The distributed evaluator against a real redis-server, coordinator and workers in this process.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "@x/tensor-core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDistributedEvaluator,
  DistributedEvaluationError,
  type DistributedEvaluator,
  RedisConfigError,
  runWorker,
  type WorkerHandle,
  type WorkerOptions,
} from "../../src/distributed/index.js";
import {
  constant,
  DifferentialEvolution,
  EvaluationCancelledError,
  type EvaluatorSpec,
  evolve,
  loadEvaluator,
  minimizeCmaEs,
  ScheduledControl,
} from "../../src/index.js";
import { opensslAvailable, RedisServer, redisAvailable } from "./redis-server.js";

const PASSWORD = "s3cret-Pa55word-for-tests";
const evaluators = fileURLToPath(new URL("../fixtures/evaluators.mjs", import.meta.url));
const spec = (exportName: string, options: Record<string, unknown> = {}): EvaluatorSpec => ({
  module: evaluators,
  export: exportName,
  options,
});
let runCounter = 0;
const runId = (name: string): string => `${name}-${process.pid}-${runCounter++}`;

const fast: Partial<WorkerOptions> = {
  handleSignals: false,
  discoverIntervalMs: 100,
  lockDurationMs: 5000,
  stalledIntervalMs: 2000,
};

async function withWorkers<T>(
  n: number,
  redis: WorkerOptions["redis"],
  fn: (workers: WorkerHandle[]) => Promise<T>,
  events: unknown[] = [],
  extra: Partial<WorkerOptions> = {},
): Promise<T> {
  const workers: WorkerHandle[] = [];
  try {
    for (let i = 0; i < n; i++) {
      workers.push(
        await runWorker({
          redis,
          concurrency: 2,
          name: `w${i}`,
          onEvent: (e) => events.push(e),
          ...fast,
          ...extra,
        }),
      );
    }
    return await fn(workers);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

const population = (n: number, dim: number, seed: number): Float32Array[] => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.fillUniform(new Float32Array(dim), -2, 2) as Float32Array);
};
const de = (concurrency: number) =>
  new DifferentialEvolution({
    strategy: "current-to-best/1",
    crossover: { kind: "binomial", forceJRand: true },
    control: new ScheduledControl(constant(0.6), constant(0.7)),
    generations: 6,
    seed: 11,
    selection: "sync",
    concurrency,
  });

const run = redisAvailable();

describe.skipIf(!run)("distributed evaluation with a real redis-server (password-protected)", () => {
  let redis: RedisServer;
  const seen: unknown[] = []; // every event, error and result: checked for the password at the end
  beforeAll(async () => {
    redis = await RedisServer.start({ password: PASSWORD });
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it("DE over two workers gives the local run's result, bit for bit", async () => {
    const init = population(8, 64, 1);
    const local = await loadEvaluator(spec("sphere", { delayMs: 3 }));
    const a = await de(1).run(init, local.fitness);
    const events: unknown[] = [];
    const b = await withWorkers(
      2,
      redis.url(),
      async () => {
        const ev = await createDistributedEvaluator({
          redis: redis.url(),
          runId: runId("de"),
          evaluator: spec("sphere", { delayMs: 3 }),
          onEvent: (e) => events.push(e),
        });
        try {
          const r = await de(8).run(init, ev.fitness);
          expect(ev.stats().completed).toBe(r.evaluations);
          expect(ev.stats().inFlight).toBe(0);
          return r;
        } finally {
          await ev.close();
        }
      },
      events,
    );
    expect(Array.from(b.fitness)).toEqual(Array.from(a.fitness));
    expect(b.population.genomes()).toEqual(a.population.genomes());
    expect(b.history).toEqual(a.history);
    const workersUsed = new Set(
      events
        .filter((e) => (e as { type: string }).type === "completed")
        .map((e) => (e as { worker: string }).worker),
    );
    expect(workersUsed.size).toBe(2); // both workers took jobs
    seen.push(events, Array.from(b.fitness));
  });

  it("Evolver mode B with lookahead 4 over the queue equals the one-at-a-time local run", async () => {
    const init = population(6, 32, 4);
    const mean = (genomes: readonly Float32Array[], out: Float32Array): void => {
      out.fill(0);
      for (const g of genomes) for (let i = 0; i < out.length; i++) out[i] += g[i] / genomes.length;
    };
    const local = await loadEvaluator(spec("sphere", { center: 0.2 }));
    const opts = { mode: "merge" as const, merge: mean, f: 0.5, cr: 0.5, generations: 4, seed: 8 };
    const a = await evolve(init, { ...opts, score: (w) => local.fitness(w, { target: 0, generation: 0 }) });
    const b = await withWorkers(2, redis.url(), async () => {
      const ev = await createDistributedEvaluator({
        redis: redis.url(),
        runId: runId("evolver"),
        evaluator: spec("sphere", { center: 0.2, delayMs: 2 }),
      });
      try {
        return await evolve(init, { ...opts, score: (w) => ev.fitness(w), lookahead: 4 });
      } finally {
        await ev.close();
      }
    });
    expect(b.population.genomes()).toEqual(a.population.genomes());
    expect(b.outputScore).toBe(a.outputScore);
    expect(b.history).toEqual(a.history);
  });

  it("CMA-ES (Float64 candidates) over the queue equals the local run", async () => {
    const local = await loadEvaluator(spec("sphere", { center: 0.3, minimize: true }));
    const opts = { x0: [1, -1, 0.5, 2], sigma0: 0.5, seed: 5, maxEvaluations: 160 };
    const a = await minimizeCmaEs((x, info) => local.fitness(x, info), opts);
    const b = await withWorkers(2, redis.url(), async () => {
      const ev = await createDistributedEvaluator({
        redis: redis.url(),
        runId: runId("cma"),
        evaluator: spec("sphere", { center: 0.3, minimize: true }),
      });
      try {
        return await minimizeCmaEs(ev.fitness, { ...opts, concurrency: 8 });
      } finally {
        await ev.close();
      }
    });
    expect(Array.from(b.x)).toEqual(Array.from(a.x));
    expect(b.f).toBe(a.f);
    expect(b.runs).toEqual(a.runs);
  });

  it("a candidate that keeps failing stops the run with an error naming it and the worker's message", async () => {
    const events: unknown[] = [];
    const err = await withWorkers(
      1,
      redis.url(),
      async () => {
        const ev = await createDistributedEvaluator({
          redis: redis.url(),
          runId: runId("fail"),
          evaluator: spec("failing", { generation: 2, target: 3 }),
          attempts: 2,
        });
        try {
          return await de(8)
            .run(population(8, 16, 2), ev.fitness)
            .then(
              () => null,
              (e: unknown) => e,
            );
        } finally {
          await ev.close();
        }
      },
      events,
    );
    expect(err).toBeInstanceOf(DistributedEvaluationError);
    const msg = (err as Error).message;
    expect(msg).toContain("target 3 in generation 2");
    expect(msg).toContain("[worker w0]");
    expect(msg).toContain("deliberate failure for target 3");
    // it was tried twice (attempts: 2)
    const starts = events.filter(
      (e) =>
        (e as { type: string; candidate?: string }).type === "job-started" &&
        (e as { candidate: string }).candidate === "target 3 in generation 2",
    );
    expect(starts.length).toBe(2);
    seen.push(msg, events);
  });

  it("an evaluation past its timeout fails naming the candidate", async () => {
    const err = await withWorkers(1, redis.url(), async () => {
      const ev = await createDistributedEvaluator({
        redis: redis.url(),
        runId: runId("timeout"),
        evaluator: spec("hang"),
        timeoutMs: 300,
        attempts: 1,
      });
      try {
        return await ev.fitness(new Float32Array([1, 2]), { target: 4, generation: 7 }).then(
          () => null,
          (e) => e,
        );
      } finally {
        await ev.close();
      }
    });
    expect(err).toBeInstanceOf(DistributedEvaluationError);
    expect((err as Error).message).toMatch(/target 4 in generation 7.*exceeded the 300 ms timeout/);
    seen.push((err as Error).message);
  });

  it("cancelling the run (Ctrl-C) rejects pending evaluations and aborts them on the workers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "x-evo-cancel-"));
    const abortLog = join(dir, "aborts.txt");
    try {
      await withWorkers(1, redis.url(), async (workers) => {
        const ac = new AbortController();
        const ev = await createDistributedEvaluator({
          redis: redis.url(),
          runId: runId("cancel"),
          evaluator: spec("hang", { abortLog }),
          signal: ac.signal,
        });
        const pending = [0, 1].map((t) => ev.fitness(new Float32Array([t]), { target: t, generation: 0 }));
        // wait until the worker is evaluating both
        for (let i = 0; i < 200 && workers[0].stats().active < 2; i++)
          await new Promise((r) => setTimeout(r, 25));
        expect(workers[0].stats().active).toBe(2);
        ac.abort();
        const settled = await Promise.allSettled(pending);
        for (const s of settled) {
          expect(s.status).toBe("rejected");
          expect((s as PromiseRejectedResult).reason).toBeInstanceOf(EvaluationCancelledError);
        }
        for (let i = 0; i < 200 && workers[0].stats().active > 0; i++)
          await new Promise((r) => setTimeout(r, 25));
        expect(workers[0].stats().active).toBe(0);
      });
      // the evaluator writes its abort line from its own abort listener, which may finish after the job ends
      const { existsSync, readFileSync } = await import("node:fs");
      const aborted = () =>
        existsSync(abortLog) ? readFileSync(abortLog, "utf8").trim().split("\n").sort() : [];
      for (let i = 0; i < 200 && aborted().length < 2; i++) await new Promise((r) => setTimeout(r, 25));
      expect(aborted()).toEqual(["aborted 0", "aborted 1"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("cancelling while a job is still being enqueued rejects it without an unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      const ac = new AbortController();
      const ev = await createDistributedEvaluator({
        redis: redis.url(),
        runId: runId("cancel-enqueue"),
        evaluator: spec("hang", {}),
        signal: ac.signal,
      });
      // fitness() runs synchronously up to its first await (the enqueue); the abort lands in that window
      const outcome = ev.fitness(new Float32Array([7]), { target: 0, generation: 0 }).then(
        () => null,
        (e: unknown) => e,
      );
      ac.abort();
      await new Promise((r) => setTimeout(r, 50));
      expect(await outcome).toBeInstanceOf(EvaluationCancelledError);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("a genome above inlineMaxBytes travels as a file under sharedDir, and is cleaned up", async () => {
    const shared = mkdtempSync(join(tmpdir(), "x-evo-shared-"));
    try {
      const g = new Rng(3).fillNormal(new Float32Array(50_000)) as Float32Array;
      const local = await (await loadEvaluator(spec("sphere"))).fitness(g, { target: 0, generation: 0 });
      const events: { type: string; via?: string }[] = [];
      const v = await withWorkers(1, redis.url(), async () => {
        const ev = await createDistributedEvaluator({
          redis: redis.url(),
          runId: runId("file"),
          evaluator: spec("sphere"),
          inlineMaxBytes: 1024,
          sharedDir: shared,
          onEvent: (e) => events.push(e),
        });
        try {
          await expect(
            createDistributedEvaluator({
              redis: redis.url(),
              runId: runId("nofile"),
              evaluator: spec("sphere"),
              inlineMaxBytes: 1024,
            }).then((e2) => e2.fitness(g, { target: 0, generation: 0 }).finally(() => e2.close())),
          ).rejects.toThrow(/above inlineMaxBytes.*sharedDir/);
          return await ev.fitness(g, { target: 0, generation: 0 });
        } finally {
          await ev.close();
        }
      });
      expect(v).toBe(local);
      expect(events.find((e) => e.type === "submitted")?.via).toBe("file");
      // the payload file was deleted once its result came back
      for (
        let i = 0;
        i < 50 && readdirSync(shared, { recursive: true }).some((f) => String(f).endsWith(".bin"));
        i++
      )
        await new Promise((r) => setTimeout(r, 20));
      expect(readdirSync(shared, { recursive: true }).filter((f) => String(f).endsWith(".bin"))).toEqual([]);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  it("a genome Redis lost before a worker read it is written again and its job retried", async () => {
    const rid = runId("heal");
    const events: { type: string; jobId?: string; why?: string }[] = [];
    const ev = await createDistributedEvaluator({
      redis: redis.url(),
      runId: rid,
      evaluator: spec("sphere"),
      onEvent: (e) => events.push(e),
    });
    try {
      const pending = ev.fitness(new Float32Array([1, 2, 3]), { target: 0, generation: 0 });
      for (let i = 0; i < 200 && !events.some((e) => e.type === "submitted"); i++)
        await new Promise((r) => setTimeout(r, 10));
      const jobId = events.find((e) => e.type === "submitted")!.jobId!;
      // no worker yet: the job waits; drop its genome as a Redis restart without persistence can
      const c = new Redis(redis.url());
      expect(await c.del(`x-evo:payload:${rid}:${jobId}`)).toBe(1);
      c.disconnect();
      const v = await withWorkers(1, redis.url(), () => pending);
      expect(v).toBe(-14);
      expect(events.some((e) => e.type === "resubmitted" && e.why === "Redis had lost its genome")).toBe(
        true,
      );
      seen.push(events);
    } finally {
      await ev.close();
    }
  });

  it("a wrong password fails at once with an error that does not contain it", async () => {
    const wrong = "not-the-Right-password";
    const err = await createDistributedEvaluator({
      redis: redis.url(wrong),
      runId: runId("auth"),
      evaluator: spec("sphere"),
      connectTimeoutMs: 5000,
    }).then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(RedisConfigError);
    expect((err as Error).message).toMatch(/refused the credentials/);
    expect((err as Error).message).not.toContain(wrong);
    expect((err as Error).message).toContain("***");
    const werr = await runWorker({
      redis: redis.url(wrong),
      handleSignals: false,
      connectTimeoutMs: 5000,
    }).then(
      () => null,
      (e) => e,
    );
    expect((werr as Error).message).not.toContain(wrong);
    seen.push((err as Error).message, (werr as Error).message);
  });

  it("no event, error or result of these tests contains the password", () => {
    const text = JSON.stringify(seen);
    expect(text.length).toBeGreaterThan(1000);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(encodeURIComponent(PASSWORD));
  });
});

describe.skipIf(!run || !opensslAvailable())("distributed evaluation over TLS (rediss://)", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start({ password: PASSWORD, tls: true });
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it("coordinator and worker talk TLS with a private CA; the result equals the local one", async () => {
    const config = { url: redis.url(), ca: redis.caPath! };
    const g = new Float32Array([0.5, -1, 2]);
    const local = await (await loadEvaluator(spec("sphere"))).fitness(g, { target: 0, generation: 0 });
    const events: unknown[] = [];
    const v = await withWorkers(
      1,
      config,
      async () => {
        const ev: DistributedEvaluator = await createDistributedEvaluator({
          redis: config,
          runId: runId("tls"),
          evaluator: spec("sphere"),
          onEvent: (e) => events.push(e),
        });
        try {
          return await ev.fitness(g, { target: 0, generation: 0 });
        } finally {
          await ev.close();
        }
      },
      events,
    );
    expect(v).toBe(local);
    expect(JSON.stringify(events)).toContain("rediss://:***@localhost");
    expect(JSON.stringify(events)).not.toContain(PASSWORD);
  });

  it("without the CA the TLS connection is refused (the certificate is really checked)", async () => {
    const err = await createDistributedEvaluator({
      redis: redis.url(),
      runId: runId("tls-noca"),
      evaluator: spec("sphere"),
      connectTimeoutMs: 3000,
    }).then(
      () => null,
      (e) => e,
    );
    expect(err).toBeInstanceOf(RedisConfigError);
    expect((err as Error).message).not.toContain(PASSWORD);
  });
});
