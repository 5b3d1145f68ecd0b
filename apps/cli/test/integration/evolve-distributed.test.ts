// `x evolve ... --redis URL` with `x worker` processes, from the built binary against a real redis-server: the
// result (model bytes, scores, evaluations, CMA-ES weights) is identical to the local run with the same seed,
// for Evolver mode B, Evolver mode A and CMA-ES, with two runs sharing one Redis at the same time (their queues
// are named after their run ids), and for the zoo evaluator (which the workers load through x's registry).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildZoo, quickZooConfig, type Zoo } from "@x/zoo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, redisAvailable } from "../../../../packages/evolution/test/integration/redis-server.js";
import { built, evolvePlayground, tempDir, XProcess, xAsync } from "./helpers.js";

const haveRedis = built && redisAvailable();
const root = tempDir("x-cli-evolve-dist-");

/** What must be equal between a local and a distributed run: the model bytes and the result file's numbers. */
function outcome(out: string) {
  const r = JSON.parse(readFileSync(join(out, "evolve-result.json"), "utf8"));
  return {
    model: readFileSync(join(out, "model", "model.safetensors")).toString("base64"),
    outputScore: r.outputScore,
    scores: r.scores,
    evaluations: r.evaluations,
    accepted: r.accepted,
    history: r.history,
    weights: r.weights,
    runs: r.runs,
  };
}

describe.skipIf(!haveRedis)("x evolve --redis with x worker (real redis-server)", () => {
  let redis: RedisServer;
  let play: Awaited<ReturnType<typeof evolvePlayground>>;
  const workers: XProcess[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    play = await evolvePlayground(root);
    for (let i = 0; i < 2; i++)
      workers.push(new XProcess(["worker", "--redis", redis.url(), "--concurrency", "2"]));
    await Promise.all(workers.map((w) => w.waitFor(/waiting for runs/)));
  });
  afterAll(async () => {
    for (const w of workers) w.signal("SIGINT");
    const codes = await Promise.all(workers.map((w) => w.exited));
    await redis?.dispose();
    expect(codes.map((c) => c.code)).toEqual([0, 0]);
  });

  it("Evolver mode B and CMA-ES, running at the same time on one Redis, equal their local runs bit for bit", async () => {
    const evolver = play.config(
      "b.yml",
      "mode: merge\npopulation: [e0, e1, e2]\nbase: base\nmerge: { method: ties, lambda: 0.5, topK: 0.5 }\ngenerations: 3\nseed: 11",
    );
    const cmaes = play.config(
      "c.yml",
      "algorithm: cmaes\npopulation: [e0, e1, e2]\nbase: base\nmerge: { method: ta, lambda: 0.4 }\ncmaes: { max_fevals: 30, popsize: 6 }\nseed: 7",
    );
    const [lb, lc, db, dc] = await Promise.all([
      xAsync(["evolve", evolver, join(root, "b-local"), "-q"]),
      xAsync(["evolve", cmaes, join(root, "c-local"), "-q"]),
      xAsync(["evolve", evolver, join(root, "b-redis"), "--redis", redis.url(), "--json"]),
      xAsync(["evolve", cmaes, join(root, "c-redis"), "--redis", redis.url(), "--json"]),
    ]);
    for (const r of [lb, lc, db, dc]) expect(r.code, r.err).toBe(0);
    const [jb, jc] = [JSON.parse(db.out), JSON.parse(dc.out)];
    expect(jb.runId).not.toBe(jc.runId);
    expect(jb.queue.completed).toBeGreaterThan(0);
    expect(jc.queue.completed).toBe(30);
    expect(outcome(join(root, "b-redis"))).toEqual(outcome(join(root, "b-local")));
    expect(outcome(join(root, "c-redis"))).toEqual(outcome(join(root, "c-local")));
    expect(outcome(join(root, "c-redis")).weights.values[0]).toHaveLength(3);
    // both runs were served by the workers (their queues named after the run ids)
    const served = workers.map((w) => w.output).join("\n");
    for (const id of [jb.runId, jc.runId]) expect(served).toMatch(new RegExp(`^joined run ${id}$`, "m"));
  });

  it("Evolver mode A with an explicit --lookahead, and a resumed distributed run, equal the local run", async () => {
    const cfg = play.config("a.yml", "mode: standalone\npopulation: [e0, e1, e2]\ngenerations: 2\nseed: 4");
    const local = await xAsync(["evolve", cfg, join(root, "a-local"), "-q"]);
    expect(local.code, local.err).toBe(0);
    const dist = await xAsync([
      "evolve",
      cfg,
      join(root, "a-redis"),
      "--redis",
      redis.url(),
      "--lookahead",
      "3",
    ]);
    expect(dist.code, dist.err).toBe(0);
    expect(dist.err).toMatch(
      /^x evolve: run \S+ on redis:\/\/127\.0\.0\.1:\d+\/?, lookahead 3 \(--lookahead\)/m,
    );
    expect(outcome(join(root, "a-redis"))).toEqual(outcome(join(root, "a-local")));
    // a finished run resumed through the queue: the same model, its results found in Redis
    const again = await xAsync([
      "evolve",
      cfg,
      join(root, "a-redis"),
      "--redis",
      redis.url(),
      "--resume",
      "-q",
    ]);
    expect(again.code, again.err).toBe(0);
    expect(outcome(join(root, "a-redis"))).toEqual(outcome(join(root, "a-local")));
  });

  describe("the zoo evaluator on workers", () => {
    let zoo: Zoo;
    beforeAll(async () => {
      const cfg = {
        ...quickZooConfig(2, 3),
        sizes: { train: 120, val: 40, test: 60, pretrainPerSource: 100 },
      };
      zoo = await buildZoo(cfg, { root: join(root, "zoo-cache"), workers: 0 });
    }, 600_000);

    it("scores candidates on the zoo's validation split exactly as a local run", async () => {
      const e = (t: string) => join(zoo.dir, "experts", t);
      const cfg = join(root, "zoo.yml");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(
        cfg,
        `algorithm: cmaes\npopulation: ["${e("mnist-digits")}", "${e("fashion-classes")}"]\nbase: "${join(zoo.dir, "pretrained")}"\nmerge: { method: ta, lambda: 0.5 }\ninclude: "^backbone\\\\."\ncmaes: { max_fevals: 8, popsize: 4 }\nevaluator: { zoo: "${zoo.dir}" }\n`,
      );
      const local = await xAsync(["evolve", cfg, join(root, "zoo-local"), "-q"]);
      expect(local.code, local.err).toBe(0);
      const dist = await xAsync(["evolve", cfg, join(root, "zoo-redis"), "--redis", redis.url(), "-q"]);
      expect(dist.code, dist.err).toBe(0);
      expect(outcome(join(root, "zoo-redis"))).toEqual(outcome(join(root, "zoo-local")));
      expect(outcome(join(root, "zoo-local")).outputScore).toBeGreaterThan(0.1);
    });
  });
});
