// One coordinator and three worker processes on a real, password-protected redis-server: a worker killed
// with SIGKILL mid-job, the coordinator killed and resumed, Redis restarted mid-run. Every run must end
// bit-identical to the local (in-process evaluator) run, and no output may contain the password.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Proc } from "./processes.js";
import { RedisServer, redisAvailable } from "./redis-server.js";

const PASSWORD = "integration-Secret-9f2";
const pkgDir = fileURLToPath(new URL("../..", import.meta.url));
const coordinatorScript = fileURLToPath(new URL("../fixtures/dist-coordinator.mjs", import.meta.url));
const workerScript = fileURLToPath(new URL("../fixtures/dist-worker.mjs", import.meta.url));
const run = redisAvailable();

describe.skipIf(!run)("distributed DE: one coordinator, three worker processes, faults", () => {
  let redis: RedisServer;
  let tmp: string;
  let reference: ReturnType<Proc["result"]>;
  const procs: Proc[] = [];
  const env = (): Record<string, string> => ({ X_REDIS_URL: redis.url() });
  const spawnWorkers = (tag: string): Proc[] =>
    [0, 1, 2].map((i) => {
      const p = new Proc(workerScript, [], { ...env(), X_WORKER_NAME: `${tag}-w${i}` });
      procs.push(p);
      return p;
    });
  const coordinator = (dir: string, resume: boolean, runId: string): Proc => {
    const p = new Proc(coordinatorScript, ["queue", dir, resume ? "resume" : "fresh", runId], env());
    procs.push(p);
    return p;
  };
  const stopWorkers = async (workers: Proc[]): Promise<void> => {
    for (const w of workers) w.kill("SIGINT");
    for (const w of workers) {
      const { code, signal } = await w.exited;
      if (signal !== "SIGKILL") {
        expect(code).toBe(0); // Ctrl-C: a clean exit
        await w.waitFor((l) => l.includes('"type":"stopped"'), 1000, "the stopped event");
      }
    }
  };
  const expectSameAsLocal = (r: ReturnType<Proc["result"]>): void => {
    expect(r.digest).toBe(reference.digest);
    expect(r.fitness).toEqual(reference.fitness);
    expect(r.evaluations).toBe(reference.evaluations);
    expect(r.history).toEqual(reference.history);
  };

  beforeAll(async () => {
    // The processes run the built JavaScript; make sure it matches the sources under test.
    execFileSync("npx", ["tsc", "-b", pkgDir], { cwd: pkgDir, stdio: "inherit" });
    redis = await RedisServer.start({ password: PASSWORD });
    tmp = mkdtempSync(join(tmpdir(), "x-evo-faults-"));
    const local = new Proc(coordinatorScript, ["local", join(tmp, "local"), "fresh", "-"], {});
    await local.exited;
    reference = local.result();
  });
  afterEach(() => {
    for (const p of procs) p.kill("SIGKILL");
  });
  afterAll(async () => {
    for (const p of procs) p.kill("SIGKILL");
    await redis?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    // no process printed the password (events, errors, results)
    const all = procs.map((p) => p.lines.join("\n") + p.stderr).join("\n");
    expect(all.length).toBeGreaterThan(10_000);
    expect(all).not.toContain(PASSWORD);
  });

  it("a worker killed with SIGKILL mid-job: its job is evaluated by another worker, the result equals the local run", async () => {
    const workers = spawnWorkers("kill");
    const c = coordinator(join(tmp, "worker-kill"), false, "fault-worker-kill");
    const victim = workers[0];
    await victim.waitForCount((l) => l.includes('"type":"job-started"'), 3);
    victim.kill("SIGKILL"); // mid-job: its third job has started and not finished
    const started = victim.events().filter((e) => e.type === "job-started");
    const finished = new Set(
      victim
        .events()
        .filter((e) => e.type === "job-finished")
        .map((e) => e.jobId),
    );
    const orphaned = started.map((e) => e.jobId).filter((id) => !finished.has(id));
    expect(orphaned.length).toBeGreaterThan(0);
    const { code } = await c.exited;
    expect(code).toBe(0);
    expectSameAsLocal(c.result());
    // the orphaned job went back to the queue (stalled-job detection) and another worker finished it
    const others = workers.slice(1).flatMap((w) => w.events());
    for (const id of orphaned) {
      expect(others.some((e) => e.type === "job-finished" && e.jobId === id)).toBe(true);
    }
    // nothing counted twice: one result per job
    const completedEvents = c.events().filter((e) => e.type === "completed");
    expect(new Set(completedEvents.map((e) => e.jobId)).size).toBe(completedEvents.length);
    expect(c.result().stats!.completed).toBe(reference.evaluations);
    await stopWorkers(workers.slice(1));
  });

  it("the coordinator killed mid-generation and resumed: unfinished jobs are picked up, the result equals the local run", async () => {
    const workers = spawnWorkers("resume");
    const dir = join(tmp, "coordinator-kill");
    const first = coordinator(dir, false, "fault-coordinator-kill");
    await first.waitFor((l) => l === "progress 2", 60_000, "progress 2");
    await first.waitFor(
      (l) =>
        l.startsWith("EVENT") &&
        l.includes('"type":"submitted"') &&
        first.lines.indexOf(l) > first.lines.indexOf("progress 2"),
    );
    first.kill("SIGKILL");
    const killed = await first.exited;
    expect(killed.signal).toBe("SIGKILL");
    const second = coordinator(dir, true, "fault-coordinator-kill");
    const { code } = await second.exited;
    expect(code).toBe(0);
    expect(second.lines.some((l) => /^resuming-at [1-9]/.test(l))).toBe(true);
    expectSameAsLocal(second.result());
    // jobs enqueued by the killed coordinator were finished by the workers and their results reused
    expect(second.result().stats!.reused).toBeGreaterThan(0);
    await stopWorkers(workers);
  });

  it("Redis restarted mid-run (all its data lost): coordinator and workers reconnect, the result equals the local run", async () => {
    const workers = spawnWorkers("restart");
    const c = coordinator(join(tmp, "redis-restart"), false, "fault-redis-restart");
    await c.waitFor((l) => l === "progress 1", 60_000, "progress 1");
    await redis.restart(800);
    const { code } = await c.exited;
    expect(code, `${c.lines.slice(-20).join("\n")}\n${c.stderr}`).toBe(0);
    expectSameAsLocal(c.result());
    const ev = c.events();
    expect(ev.some((e) => e.type === "connection" && e.state === "lost")).toBe(true);
    expect(ev.some((e) => e.type === "connection" && e.state === "restored")).toBe(true);
    // the workers kept working after the restart
    const after = workers.flatMap((w) => {
      const lines = w.lines;
      const lostAt = lines.findIndex((l) => l.includes('"state":"lost"'));
      return lostAt < 0 ? [] : lines.slice(lostAt).filter((l) => l.includes('"type":"job-finished"'));
    });
    expect(after.length).toBeGreaterThan(0);
    await stopWorkers(workers);
  });
});
