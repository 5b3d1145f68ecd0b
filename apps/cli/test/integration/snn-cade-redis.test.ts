// x snn cade --redis against a real redis-server (started here on a free port in a temporary directory): the
// fitness evaluations run in `x worker` processes that load @x/snn's evaluator by { module, export, options },
// and the result is identical to the local run; the password never shows; the coordinator killed with SIGKILL
// and started again with --resume ends identical too.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, redisAvailable } from "../../../../packages/evolution/test/integration/redis-server.js";
import { built, tempDir, XProcess, x } from "./helpers.js";
import { runX, writeFashionFile } from "./snn-helpers.js";

const haveRedis = built && redisAvailable();
const root = tempDir("x-cli-snn-redis-");
const PASSWORD = "s3cret-snn-Pa55";
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** The CADE result without what differs by design between runs (path, timing, queue statistics). */
function result(out: string): unknown {
  const { out: _o, elapsedMs: _e, queue: _q, ...rest } = JSON.parse(out) as Record<string, unknown>;
  return rest;
}

describe.skipIf(!haveRedis)("x snn cade --redis (built binary, real redis-server, worker processes)", () => {
  let redis: RedisServer;
  const workers: XProcess[] = [];
  let members: string[] = [];
  let common: string[] = [];
  const cade = (...extra: string[]) => ["snn", "cade", "--population", ...members, ...common, ...extra];

  beforeAll(async () => {
    redis = await RedisServer.start({ password: PASSWORD });
    const source = join(root, "source.safetensors");
    const target = join(root, "target.safetensors");
    await writeFashionFile(source, [5, 7, 8, 9], 60, 1);
    await writeFashionFile(target, [0, 1, 2], 80, 2);
    const src = join(root, "src.safetensors");
    const tiny = ["--hidden", "32", "--blocks", "1", "--batch-size", "16"];
    expect(x(["snn", "train", "--data", source, ...tiny, "--out", src, "-q"]).code).toBe(0);
    common = [
      "--data",
      target,
      "--val-per-class",
      "20",
      "--fitness-size",
      "120",
      "--generations",
      "10",
      "--f0",
      "0.05",
    ];
    const built = x([
      "snn",
      "cade",
      "--source",
      src,
      "--size",
      "5",
      "--member-epochs",
      "1",
      "--batch-size",
      "16",
      ...common,
      "--generations",
      "0",
      "--checkpoint-dir",
      join(root, "pop"),
      "--out",
      join(root, "pop.safetensors"),
      "-q",
    ]);
    expect(built.code, built.err).toBe(0);
    members = [0, 1, 2, 3, 4].map((i) => join(root, "pop", "population", `member-${i}.safetensors`));
    // two x worker processes with their defaults (the password from the environment, never in argv)
    for (let i = 0; i < 2; i++) {
      const w = new XProcess(["worker", "--redis", redis.url(""), "--concurrency", "2", "--json"], {
        env: { REDIS_PASSWORD: PASSWORD },
      });
      workers.push(w);
      await w.waitFor(/"type":"started"/);
    }
  }, 300_000);

  afterAll(async () => {
    for (const w of workers) w.signal("SIGTERM");
    for (const w of workers) expect((await w.exited).code).toBe(0);
    await redis?.dispose();
  });

  it("evaluates on the workers and ends with the local run's model and result; the password never shows", async () => {
    const local = await runX(cade("--out", join(root, "local.safetensors"), "--json"));
    expect(local.code, local.err).toBe(0);
    // the password reaches x through the environment, not the command line
    const url = redis.url("");
    const remote = await runX(
      cade("--redis", url, "--lookahead", "3", "--out", join(root, "remote.safetensors"), "--json"),
      { env: { REDIS_PASSWORD: PASSWORD } },
    );
    expect(remote.code, remote.err).toBe(0);
    const doc = JSON.parse(remote.out);
    expect(doc.queue.completed).toBeGreaterThanOrEqual(doc.evaluations);
    expect(doc.queue.failed).toBe(0);
    expect(result(remote.out)).toEqual(result(local.out));
    expect(sha(join(root, "remote.safetensors"))).toBe(sha(join(root, "local.safetensors")));
    const finished = workers
      .map((w) => w.output)
      .join("")
      .split("\n")
      .filter((l) => l.includes('"job-finished"'));
    expect(finished.length).toBeGreaterThanOrEqual(doc.evaluations);
    expect(new Set(finished.map((l) => JSON.parse(l).runId)).size).toBeGreaterThanOrEqual(1);
    for (const text of [remote.out, remote.err, workers.map((w) => w.output + w.errors).join("")])
      expect(text).not.toContain(PASSWORD);
    // piped: the coordinator says where its queue is (redacted URL) and shows plain progress lines
    const piped = await runX(cade("--redis", url, "--out", join(root, "piped.safetensors")), {
      env: { REDIS_PASSWORD: PASSWORD },
    });
    expect(piped.code, piped.err).toBe(0);
    expect(piped.err).toMatch(
      /^run \S+ on redis:\/\/127\.0\.0\.1:\d+\/?, lookahead 2 \(2 workers connected\); start workers with x worker --redis URL$/m,
    );
    expect(piped.err).toMatch(/^cade: 10\/10 100% /m);
    expect(piped.out).toMatch(/, \d+ on workers; /);
    expect(sha(join(root, "piped.safetensors"))).toBe(sha(join(root, "local.safetensors")));
  }, 300_000);

  it("a coordinator killed with SIGKILL and run again with --resume ends identical to the local run", async () => {
    const local = await runX(cade("--out", join(root, "ref.safetensors"), "--json"));
    const args = cade(
      "--redis",
      redis.url(""),
      "--checkpoint-dir",
      join(root, "ck"),
      "--resume",
      "--out",
      join(root, "resumed.safetensors"),
      "--json",
    );
    const env = { REDIS_PASSWORD: PASSWORD };
    // killed once the DE state of generation 3 is on disk: mid-run, with jobs on the queue
    const latest = join(root, "ck", "de", "latest.json");
    const killed = await runX(args, {
      env,
      killWhen: () => {
        try {
          return JSON.parse(readFileSync(latest, "utf8")).generation >= 3;
        } catch {
          return false;
        }
      },
    });
    expect(killed.signal).toBe("SIGKILL");
    const again = await runX(args, { env });
    expect(again.code, again.err).toBe(0);
    expect(result(again.out)).toEqual(result(local.out));
    expect(sha(join(root, "resumed.safetensors"))).toBe(sha(join(root, "ref.safetensors")));
  }, 300_000);

  it("Ctrl-C (SIGINT) on the coordinator: the workers drop its jobs, exit 130 with the resume hint; --resume ends identical", async () => {
    const long = ["--generations", "200"];
    const local = await runX(cade(...long, "--out", join(root, "long-ref.safetensors"), "--json"));
    expect(local.code, local.err).toBe(0);
    const args = cade(
      ...long,
      "--redis",
      redis.url(""),
      "--checkpoint-dir",
      join(root, "ck-int"),
      "--resume",
      "--out",
      join(root, "long.safetensors"),
      "--json",
    );
    const env = { REDIS_PASSWORD: PASSWORD };
    const latest = join(root, "ck-int", "de", "latest.json");
    const stopped = await runX(args, {
      env,
      signal: "SIGINT",
      killWhen: () => {
        try {
          return JSON.parse(readFileSync(latest, "utf8")).generation >= 5;
        } catch {
          return false;
        }
      },
    });
    expect(stopped.code, `${stopped.signal} ${stopped.err} ${stopped.out}`).toBe(130);
    expect(stopped.err).toMatch(
      /^x snn cade: interrupted \(SIGINT\); the last checkpoint is kept: run the same command with --resume$/m,
    );
    expect(stopped.out).toBe("");
    const again = await runX(args, { env });
    expect(again.code, again.err).toBe(0);
    expect(result(again.out)).toEqual(result(local.out));
    expect(sha(join(root, "long.safetensors"))).toBe(sha(join(root, "long-ref.safetensors")));
  }, 300_000);

  it("a wrong password is one line, exit 1, without the password; a bad URL is a usage error (exit 2)", async () => {
    const wrong = await runX(cade("--redis", redis.url(""), "--out", join(root, "wrong.safetensors")), {
      env: { REDIS_PASSWORD: "not-the-password" },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.err.trim().split("\n")).toEqual([
      expect.stringMatching(/^x snn cade: RedisConfigError: .*refused the credentials/),
    ]);
    expect(wrong.err).not.toContain("not-the-password");
    const bad = x([
      "snn",
      "cade",
      "--population",
      ...members,
      "--redis",
      "localhost:6379",
      "--out",
      join(root, "b.safetensors"),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--redis: unsupported Redis URL scheme localhost:/);
  }, 120_000);
});
