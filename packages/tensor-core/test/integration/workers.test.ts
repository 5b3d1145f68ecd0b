import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  startModulePool,
  terminateAllWorkerPools,
  WorkerError,
  WorkerPool,
  WorkerTaskError,
  workerScript,
} from "@x/tensor-core/workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import wabtInit from "wabt";

// The harness on real threads. The fixture worker (fixtures/harness-worker.mjs) imports
// @x/tensor-core/workers by name, so it runs the built harness, like the pools under test.
const script = new URL("./fixtures/harness-worker.mjs", import.meta.url);
const fitness = new URL("./fixtures/fitness.mjs", import.meta.url);
type Fixture = typeof import("./fixtures/harness-worker.mjs").default;
const start = (options: Partial<Parameters<typeof WorkerPool.start>[0]> = {}) =>
  WorkerPool.start<Fixture>({ script, threads: 2, name: "fixture pool", ...options });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x-workers-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("WorkerPool: calls", () => {
  it("runs calls on every worker, targets one with runOn and reaches all with broadcast", async () => {
    const pool = await start({ initFor: (slot) => ({ tag: `init-${slot}` }) });
    expect(pool.threads).toBe(2);
    expect(pool.idle).toBe(2);
    const many = await Promise.all(Array.from({ length: 8 }, () => pool.run("sleep", 5)));
    expect(many).toEqual(Array(8).fill(5));
    const first = await pool.run("whoami", null);
    expect(first.threads).toBe(2);
    expect(first.tag).toBe(`init-${first.slot}`);
    for (const slot of [0, 1, 1, 0]) {
      expect(await pool.runOn(slot, "whoami", null)).toMatchObject({ slot, tag: `init-${slot}`, setups: 1 });
    }
    const all = await pool.broadcast("whoami", null);
    expect(all.map((r) => r.slot)).toEqual([0, 1]);
    await expect(pool.runOn(2, "whoami", null)).rejects.toMatchObject({ code: "USAGE" });
    await pool.close();
  });

  it("shares SharedArrayBuffers and a shared WebAssembly.Memory with the workers", async () => {
    const pool = await start();
    const shared = new Int32Array(new SharedArrayBuffer(64));
    const slots = await Promise.all(
      [1, 2, 3, 4].map((v, i) => pool.run("write", { array: shared, index: i + 1, value: v * 10 })),
    );
    expect([...shared.subarray(1, 5)]).toEqual([10, 20, 30, 40]);
    expect(new Set(slots).size).toBeGreaterThanOrEqual(1);

    const wabt = await wabtInit();
    const wat = wabt.parseWat(
      "store.wat",
      `(module (import "env" "memory" (memory 1 1 shared))
         (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1))))`,
      { threads: true },
    );
    const module = new WebAssembly.Module(new Uint8Array(wat.toBinary({}).buffer));
    wat.destroy();
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    await Promise.all([
      pool.runOn(0, "wasmStore", { module, memory, address: 16, value: 1234 }),
      pool.runOn(1, "wasmStore", { module, memory, address: 20, value: 5678 }),
    ]);
    const view = new Int32Array(memory.buffer);
    expect([view[4], view[5]]).toEqual([1234, 5678]);
    await pool.close();
  });

  it("posts a call before run() returns, so the caller may block on shared memory", async () => {
    const pool = await start();
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const done = pool.run("write", { array: shared, index: 0, value: 7 });
    // Blocks this thread: the worker must already have the call.
    expect(Atomics.wait(shared, 0, 0, 10_000)).not.toBe("timed-out");
    expect(shared[0]).toBe(7);
    await done;
    await pool.close();
  });

  it("moves transferred buffers both ways and forwards progress", async () => {
    const pool = await start();
    const input = Uint8Array.from([1, 2, 3]);
    const { out, received } = await pool.run("echoMoved", input, { transfer: [input.buffer] });
    expect(input.byteLength).toBe(0); // moved to the worker
    expect(received).toBe(3);
    expect([...out]).toEqual([2, 3, 4]);
    const seen: unknown[] = [];
    expect(await pool.run("progress", 3, { onProgress: (p) => seen.push(p) })).toBe(3);
    expect(seen).toEqual([1, 2, 3].map((done) => ({ done, total: 3 })));
    await pool.close();
  });
});

describe("WorkerPool: errors", () => {
  it("rejects with the worker's error: name, code, message and its stack", async () => {
    const pool = await start();
    const err = await pool.run("throwTyped", "bad tensor t.0").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerTaskError);
    const e = err as WorkerTaskError;
    expect(e.code).toBe("TASK");
    expect(e.method).toBe("throwTyped");
    expect(e.remote).toMatchObject({ name: "FixtureError", code: "E_FIXTURE", message: "bad tensor t.0" });
    expect(e.remote.details).toEqual({ tensor: "t.0", count: 3 });
    expect(e.message).toMatch(/^fixture pool: worker [01], throwTyped\(\): FixtureError: bad tensor t\.0$/);
    expect(e.stack).toContain("harness-worker.mjs");
    expect(await pool.run("throwString", undefined).catch((x: WorkerTaskError) => x.remote.message)).toBe(
      "a bare string",
    );
    await expect(pool.run("nope" as "add", [1, 2])).rejects.toThrow(/no method "nope"/);
    await expect(pool.run("unsendable", undefined)).rejects.toThrow(/cannot be sent to the caller/);
    await expect(pool.run("add", (() => 1) as never)).rejects.toMatchObject({ code: "USAGE" });
    // The pool is still usable after all of these.
    expect(await pool.run("add", [1, 2])).toBe(3);
    await pool.close();
  });

  it("fails to start with the setup error of a worker", async () => {
    const err = await start({ init: { failSetup: true } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect(err).toMatchObject({ code: "SETUP" });
    expect((err as WorkerTaskError).remote.message).toMatch(/setup refused in worker [01]/);
    const missing = await WorkerPool.start({ script: new URL("./fixtures/none.mjs", import.meta.url) }).catch(
      (e: unknown) => e,
    );
    expect(missing).toMatchObject({ code: "SETUP" });
  });

  it("rejects the call of a worker that dies and starts that worker again", async () => {
    const setups = new Int32Array(new SharedArrayBuffer(8));
    const pool = await start({ init: { setups } });
    const exit = await pool.runOn(0, "crash", 3).catch((e: unknown) => e);
    expect(exit).toMatchObject({ code: "CRASHED" });
    expect((exit as Error).message).toMatch(/worker 0 exited with code 3/);
    const thrown = await pool.runOn(1, "crashLater", undefined).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ code: "CRASHED" });
    expect((thrown as Error).message).toMatch(/uncaught in a timer/);
    // Both slots were set up again and answer.
    expect((await pool.broadcast("whoami", null)).map((r) => r.slot)).toEqual([0, 1]);
    expect([...setups]).toEqual([2, 2]);
    await pool.close();
  });
});

describe("WorkerPool: cancellation and shutdown", () => {
  it("drops an aborted queued call and stops an aborted running one", async () => {
    const flags = new Int32Array(new SharedArrayBuffer(64));
    const pool = await start({ threads: 1, init: { teardownFlags: flags } });
    const running = new AbortController();
    const queued = new AbortController();
    const a = pool.run("spin", null, { signal: running.signal });
    const b = pool.run("sleep", 1, { signal: queued.signal });
    queued.abort();
    await expect(b).rejects.toMatchObject({ code: "ABORTED" });
    running.abort(new Error("user pressed stop"));
    await expect(a).rejects.toThrow(/spin\(\) aborted: user pressed stop/);
    // The worker saw its signal, finished, and takes new calls.
    expect(await pool.run("add", [2, 2])).toBe(4);
    expect(flags[8]).toBe(1);
    await expect(pool.run("add", [1, 1], { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: "ABORTED",
    });
    await pool.close();
  });

  it("close() waits for running calls and runs every teardown; terminate() rejects what is left", async () => {
    const flags = new Int32Array(new SharedArrayBuffer(64));
    const pool = await start({ init: { teardownFlags: flags } });
    const slow = pool.run("sleep", 50);
    const closing = pool.close();
    await expect(pool.run("add", [1, 1])).rejects.toMatchObject({ code: "CLOSED" });
    expect(await slow).toBe(50);
    await closing;
    expect([flags[0], flags[1]]).toEqual([1, 1]);

    const other = await start();
    const never = other.run("spin", null).catch((e: unknown) => e);
    await terminateAllWorkerPools();
    expect(await never).toMatchObject({ code: "CLOSED" });
  });

  it("an idle pool does not keep the process alive", async () => {
    const { code, out } = await runChild(["idle-child.mjs", script.href]);
    expect(out).toContain("sum 5");
    expect(code).toBe(0);
  });

  it("a SIGINT handler can stop the threads and remove temporaries", async () => {
    const temp = join(dir, "partial.tmp");
    const child = runChild(["sigint-child.mjs", temp, script.href], (proc, out) => {
      if (out.includes("ready")) proc.kill("SIGINT");
    });
    const { code, out } = await child;
    expect(code).toBe(130);
    expect(out).toContain("call ended: CLOSED");
    expect(existsSync(temp)).toBe(false);
  });
});

describe("WorkerPool: callers that cannot await", () => {
  it("open() returns at once and posts calls to workers still in setup", async () => {
    const pool = WorkerPool.open<Fixture>({ script, threads: 2, name: "fixture pool" });
    expect(pool.idle).toBe(0);
    const shared = new Int32Array(new SharedArrayBuffer(8));
    const running = pool.runOn(1, "write", { array: shared, index: 0, value: 5 });
    // The call reached the starting worker: this thread may block until it has run.
    expect(Atomics.wait(shared, 0, 0, 10_000)).not.toBe("timed-out");
    expect(shared[0]).toBe(5);
    expect(await running).toBe(1);
    await pool.ready;
    expect(await pool.run("add", [2, 3])).toBe(5);
    await pool.close();
  });

  it("post() and wait() run calls without the event loop, one after another on a worker", () => {
    const pool = WorkerPool.open<Fixture>({ script, threads: 2, name: "fixture pool" });
    try {
      // No await anywhere: replies are taken synchronously, so the workers are free again for the next post.
      for (let round = 0; round < 3; round++) {
        const calls = [0, 1].map((slot) => pool.post(slot, "add", [round, slot]));
        expect(calls.map((c) => c.wait())).toEqual([round, round + 1]);
      }
      // A second post to a busy worker blocks until the first call is done.
      const first = pool.post(0, "sleep", 20);
      const second = pool.post(0, "add", [1, 1]);
      expect(second.wait()).toBe(2);
      expect(first.wait()).toBe(20);
      expect(pool.post(1, "whoami", null).wait()).toMatchObject({ slot: 1, setups: 1 });
    } finally {
      void pool.terminate();
    }
  });

  it("wait() throws the worker's error, a crash, or the setup failure, synchronously", async () => {
    const setups = new Int32Array(new SharedArrayBuffer(8));
    const pool = WorkerPool.open<Fixture>({ script, threads: 2, name: "fixture pool", init: { setups } });
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error("did not throw");
    };
    const task = thrown(() => pool.post(0, "throwTyped", "bad tensor t.1").wait());
    expect(task).toBeInstanceOf(WorkerTaskError);
    expect(task).toMatchObject({ code: "TASK", remote: { name: "FixtureError", message: "bad tensor t.1" } });
    expect((task as Error).stack).toContain("harness-worker.mjs");
    // A worker that exits, or dies of an uncaught error, fails its call at once and is started again.
    const exit = thrown(() => pool.post(0, "crash", 4).wait());
    expect(exit).toMatchObject({ code: "CRASHED" });
    const uncaught = thrown(() => pool.post(1, "crashLater", undefined).wait());
    expect(uncaught).toMatchObject({ code: "CRASHED" });
    expect((uncaught as Error).message).toMatch(/died: Error: uncaught in a timer/);
    expect((uncaught as Error).stack).toContain("harness-worker.mjs");
    expect([0, 1].map((slot) => pool.post(slot, "whoami", null).wait().slot)).toEqual([0, 1]);
    expect([...setups]).toEqual([2, 2]);
    await pool.close();

    const broken = WorkerPool.open<Fixture>({ script, threads: 2, init: { failSetup: true } });
    const setup = thrown(() => broken.post(1, "add", [1, 1]).wait());
    expect(setup).toMatchObject({ code: "SETUP" });
    expect((setup as WorkerTaskError).remote.message).toMatch(/setup refused in worker 1/);
    await expect(broken.ready).rejects.toMatchObject({ code: "SETUP" });
    await expect(broken.run("add", [1, 1])).rejects.toMatchObject({ code: "SETUP" });
    expect(() => broken.post(5, "add", [1, 1])).toThrow(expect.objectContaining({ code: "USAGE" }));
  });
});

describe("startModulePool: a user's module as the task", () => {
  it("calls the module's export with shared arguments", async () => {
    const pool = await startModulePool({ module: fileURLToPath(fitness), threads: 2 });
    const genome = new Float32Array(new SharedArrayBuffer(12));
    genome.set([1, 2, 3]);
    expect(await pool.run("call", [genome, { mark: 9 }])).toBe(14);
    expect(genome[0]).toBe(9); // the worker wrote into the caller's shared genome
    const plain = Float32Array.from([3, 4]);
    expect(await pool.run("call", [plain, {}])).toBe(25);
    await pool.close();

    const failing = await startModulePool({ module: fitness, exportName: "fails", threads: 1 });
    await expect(failing.run("call", [])).rejects.toMatchObject({
      remote: { name: "RangeError", message: "fitness failed on purpose" },
    });
    await failing.close();
    await expect(startModulePool({ module: fitness, exportName: "notAFunction" })).rejects.toThrow(
      /has no function export "notAFunction"/,
    );
  });
});

describe("workerScript", () => {
  it("finds a built script next to the caller, refuses sources and missing files", () => {
    expect(workerScript(script, "./fitness.mjs").href).toBe(fitness.href);
    expect(() => workerScript("file:///repo/src/pool.ts", "./pool-worker.js")).toThrow(
      expect.objectContaining({ code: "NOT_BUILT" }),
    );
    expect(() => workerScript(script, "./missing-worker.js")).toThrow(
      expect.objectContaining({ code: "NOT_FOUND" }),
    );
  });
});

/** Runs a fixture as a child process; `onOutput` sees the output so far. */
function runChild(
  args: string[],
  onOutput?: (proc: ReturnType<typeof spawn>, out: string) => void,
): Promise<{ code: number | null; out: string }> {
  const [file, ...rest] = args;
  const proc = spawn(
    process.execPath,
    [fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url)), ...rest],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const collect = (b: Buffer) => {
    out += b.toString();
    onOutput?.(proc, out);
  };
  proc.stdout.on("data", collect);
  proc.stderr.on("data", collect);
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  return new Promise((resolve) => {
    proc.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}
