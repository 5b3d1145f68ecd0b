// Counting the workers connected to a real redis-server (the default lookahead of a distributed run).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  countConnectedWorkers,
  lookaheadForWorkers,
  runWorker,
  type WorkerHandle,
} from "../../src/distributed/index.js";
import { RedisServer, redisAvailable } from "./redis-server.js";

describe.skipIf(!redisAvailable())("countConnectedWorkers / lookaheadForWorkers", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it("counts the workers connected now; the lookahead is one per worker, at least 2", async () => {
    const config = { url: redis.url() };
    expect(await countConnectedWorkers(config)).toBe(0);
    expect(await lookaheadForWorkers(config)).toEqual({
      lookahead: 2,
      workers: 0,
      why: "0 workers connected",
    });
    const workers: WorkerHandle[] = [];
    try {
      for (const name of ["a", "b", "c"])
        workers.push(await runWorker({ redis: config, name, concurrency: 1, handleSignals: false }));
      expect(await countConnectedWorkers(config)).toBe(3);
      expect(await lookaheadForWorkers(config)).toEqual({
        lookahead: 3,
        workers: 3,
        why: "3 workers connected",
      });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });

  it("is null when the server cannot be reached", async () => {
    expect(await countConnectedWorkers({ url: "redis://127.0.0.1:1" })).toBeNull();
    expect((await lookaheadForWorkers({ url: "redis://127.0.0.1:1" })).why).toBe(
      "the server hides its client list",
    );
  });
});
