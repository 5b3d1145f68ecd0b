// `x worker` from the built binary against a real redis-server (started here on a free port in a temp dir):
// what it prints piped, on a terminal and with --json; Ctrl-C (hand running jobs back, exit 0; twice: force,
// 130); credentials from the environment or a file and TLS, never printed; bad input.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisServer, redisAvailable } from "../../../../packages/evolution/test/integration/redis-server.js";
import { built, evolvePlayground, lines, slowScorer, tempDir, XProcess, x, xAsync } from "./helpers.js";

const haveRedis = built && redisAvailable();
const root = tempDir("x-cli-worker-");
const PASSWORD = "s3cret-Pa55word";

describe.skipIf(!haveRedis)("x worker (built binary, real redis-server)", () => {
  let redis: RedisServer;
  let play: Awaited<ReturnType<typeof evolvePlayground>>;
  const workers: XProcess[] = [];
  const start = (args: string[], o: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}) => {
    const w = new XProcess(["worker", ...args], o);
    workers.push(w);
    return w;
  };
  beforeAll(async () => {
    redis = await RedisServer.start();
    play = await evolvePlayground(root);
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
    await redis?.dispose();
  });

  it("piped: one plain line per event while it evaluates a run; the first SIGINT stops it with exit 0", async () => {
    const w = start(["--redis", redis.url(), "--concurrency", "2"]);
    await w.waitFor(/waiting for runs/);
    expect(w.output).toMatch(
      /^worker \S+:\d+: connected to redis:\/\/127\.0\.0\.1:\d+\/?, 2 evaluations at a time/m,
    );
    const cfg = play.config(
      "piped.yml",
      "mode: merge\npopulation: [e0, e1, e2]\nbase: base\nmerge: { method: ta, lambda: 0.3 }\ngenerations: 1\nseed: 3",
    );
    const run = await xAsync(["evolve", cfg, join(root, "out-piped"), "--redis", redis.url(), "--json"]);
    expect(run.code, run.err).toBe(0);
    const doc = JSON.parse(run.out);
    expect(doc.queue.completed).toBeGreaterThan(0);
    await w.waitFor(new RegExp(`^${doc.runId}: a candidate: fitness -\\d`, "m"));
    expect(w.output).toMatch(new RegExp(`^joined run ${doc.runId}$`, "m"));
    expect(w.output.includes("\x1b[")).toBe(false); // no terminal control codes when piped
    w.signal("SIGINT");
    expect((await w.exited).code).toBe(0);
    expect(w.output).toMatch(/^stopping \(SIGINT\): 0 running evaluations handed back to the queue/m);
    expect(w.output).toMatch(/^stopped: \d+ evaluations, 0 failed$/m);
  });

  it("SIGINT during an evaluation hands the job back to the queue at once (exit 0); a second worker finishes the run", async () => {
    const w = start(["--redis", redis.url()]);
    await w.waitFor(/waiting for runs/);
    const cfg = play.config(
      "slow.yml",
      "mode: merge\npopulation: [e0, e1]\nbase: base\nmerge: { method: ta }\ngenerations: 0\nseed: 1",
      slowScorer(2),
    );
    const out = join(root, "out-slow");
    const run = xAsync(["evolve", cfg, out, "--redis", redis.url(), "-q"]);
    await w.waitFor(/joined run/);
    await new Promise((r) => setTimeout(r, 800)); // the evaluation is running (it sleeps 2 s)
    w.signal("SIGINT");
    expect((await w.exited).code).toBe(0);
    expect(w.output).toMatch(
      /^stopping \(SIGINT\): 1 running evaluation handed back to the queue; Ctrl-C again to force$/m,
    );
    expect(w.output).toMatch(/: a candidate handed back to the queue$/m);
    const second = start(["--redis", redis.url()]);
    const r = await run;
    expect(r.code, r.err).toBe(0);
    await second.waitFor(/: a candidate: fitness/);
    second.signal("SIGTERM");
    expect((await second.exited).code).toBe(0);
    expect(second.output).toMatch(/^stopping \(SIGTERM\)/m);
  });

  it("a second Ctrl-C forces the exit (130)", async () => {
    const w = start(["--redis", redis.url()]);
    await w.waitFor(/waiting for runs/);
    const cfg = play.config(
      "slower.yml",
      "mode: merge\npopulation: [e0, e1]\nbase: base\nmerge: { method: ta }\ngenerations: 0\nseed: 2",
      slowScorer(30),
    );
    const run = new XProcess(["evolve", cfg, join(root, "out-slower"), "--redis", redis.url(), "-q"]);
    await w.waitFor(/joined run/);
    await new Promise((r) => setTimeout(r, 500));
    w.signal("SIGINT");
    await w.waitFor(/Ctrl-C again to force/);
    w.signal("SIGINT");
    const { code, signal } = await w.exited;
    run.signal("SIGINT");
    expect((await run.exited).code).toBe(130);
    if (/^stopped: /m.test(w.output)) {
      // it had already stopped cleanly: the second signal met a process on its way out
      expect(code === 0 || code === 130 || signal === "SIGINT").toBe(true);
    } else {
      expect(code).toBe(130);
      expect(w.errors).toMatch(/forced stop/);
    }
  });

  it("on a terminal: a status line under the event lines; Ctrl-C typed on the terminal stops it (exit 0)", async () => {
    const w = start(["--redis", redis.url(), "--concurrency", "3"], { tty: true });
    await w.waitFor(/worker: 0 runs, 0\/3 busy, 0 done, 0 failed, up /);
    w.type("\x03");
    expect((await w.exited).code).toBe(0);
    expect(w.output.includes("\r\x1b[Kworker: 0 runs, 0/3 busy")).toBe(true);
    expect(w.output).toMatch(/stopping \(SIGINT\)/);
    expect(w.output).toMatch(/stopped: 0 evaluations, 0 failed/);
  });

  it("Ctrl-C while it is still connecting ends it at once (exit 0)", async () => {
    const w = start(["--redis", "redis://127.0.0.1:1", "--connect-timeout", "60"]);
    await w.waitFor(/^connecting to redis:\/\/127\.0\.0\.1:1\/? \.\.\.$/m);
    w.signal("SIGINT");
    expect((await w.exited).code).toBe(0);
    expect(w.errors).toMatch(/^x worker: stopped \(SIGINT\) before it connected$/m);
  });

  it("--json: one JSON object per event and line", async () => {
    const w = start(["--redis", redis.url(), "--json"]);
    await w.waitFor(/"type":"started"/);
    w.signal("SIGTERM");
    expect((await w.exited).code).toBe(0);
    const events = lines(w.output).map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual(["started", "stopping", "stopped"]);
    expect(events[0]).toMatchObject({
      concurrency: 1,
      redis: expect.stringMatching(/^redis:\/\/127\.0\.0\.1:/),
    });
  });

  it("the password comes from REDIS_PASSWORD or --redis-password-file and is never printed; a wrong one is one line, exit 1", async () => {
    const secured = await RedisServer.start({ password: PASSWORD });
    try {
      const url = secured.url(""); // no password in the URL
      const fromEnv = start(["--redis", url], { env: { REDIS_PASSWORD: PASSWORD } });
      await fromEnv.waitFor(/waiting for runs/);
      fromEnv.signal("SIGINT");
      expect((await fromEnv.exited).code).toBe(0);
      const file = join(root, "redis.pw");
      writeFileSync(file, `${PASSWORD}\n`);
      const fromFile = start(["--redis", url, "--redis-password-file", file, "--json"]);
      await fromFile.waitFor(/"type":"started"/);
      fromFile.signal("SIGINT");
      expect((await fromFile.exited).code).toBe(0);
      // a password in the URL works too, and is shown redacted
      const inUrl = start(["--redis", secured.url(PASSWORD)]);
      await inUrl.waitFor(/waiting for runs/);
      expect(inUrl.output).toMatch(/connected to redis:\/\/:\*\*\*@127\.0\.0\.1:/);
      inUrl.signal("SIGINT");
      await inUrl.exited;
      const wrong = await xAsync(["worker", "--redis", secured.url("not-the-password")]);
      expect(wrong.code).toBe(1);
      expect(lines(wrong.err)).toEqual([
        expect.stringMatching(/^x worker: RedisConfigError: .*refused the credentials/),
      ]);
      for (const text of [fromEnv, fromFile, inUrl]
        .flatMap((p) => [p.output, p.errors])
        .concat(wrong.err, wrong.out))
        expect(text).not.toContain(PASSWORD);
    } finally {
      await secured.dispose();
    }
  });

  it("rediss:// with a private CA (--redis-ca)", async () => {
    const { opensslAvailable } = await import(
      "../../../../packages/evolution/test/integration/redis-server.js"
    );
    if (!opensslAvailable()) return;
    const tls = await RedisServer.start({ tls: true });
    try {
      const w = start(["--redis", tls.url(), "--redis-ca", tls.caPath!]);
      await w.waitFor(/connected to rediss:\/\/localhost:\d+/);
      w.signal("SIGINT");
      expect((await w.exited).code).toBe(0);
      const noCa = await xAsync(["worker", "--redis", tls.url(), "--connect-timeout", "1"]);
      expect(noCa.code).toBe(1);
      expect(lines(noCa.err)).toHaveLength(1);
    } finally {
      await tls.dispose();
    }
  });

  it("bad input: one line each, exit 2 for usage errors and 1 for an unreachable server", () => {
    const usage: [string[], RegExp][] = [
      [["worker"], /--redis URL \(or \$X_REDIS_URL\) is required/],
      [["worker", "--redis", "http://127.0.0.1:6379"], /unsupported Redis URL scheme http:/],
      [["worker", "--redis", "not a url"], /is not a URL/],
      [["worker", "--redis", redis.url(), "--concurrency", "0"], /--concurrency <n>.*invalid/],
      [
        ["worker", "--redis", redis.url(), "--redis-password-file", "/nonexistent/pw"],
        /cannot read \/nonexistent\/pw \(ENOENT\)/,
      ],
      [["worker", "--redis", redis.url(), "--redis-ca", "/nonexistent/ca.pem"], /--redis-ca: cannot read/],
    ];
    for (const [args, msg] of usage) {
      const r = x(args, { env: { X_REDIS_URL: "" } });
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err), args.join(" ")).toEqual([expect.stringMatching(msg)]);
    }
    const down = x(["worker", "--redis", "redis://127.0.0.1:1", "--connect-timeout", "0.5"]);
    expect(down.code).toBe(1);
    expect(lines(down.err)).toEqual([
      expect.stringMatching(/^x worker: RedisConfigError: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/),
    ]);
  });
});
