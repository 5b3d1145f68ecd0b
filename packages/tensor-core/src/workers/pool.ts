// The main side of the harness: a fixed set of worker threads ("slots"), each running one script's
// `defineWorker` with its own state, answering one call at a time. Calls go to the next idle worker
// (`run`), to one chosen worker (`runOn`), or to every worker (`broadcast`). See docs/workers.md.
//
// Lifetime: `WorkerPool.start` resolves once every worker has finished `setup` (a failing setup rejects it
// with the worker's error). Idle workers are unref'd, so a pool never keeps the process alive by itself;
// a worker with a call in flight is ref'd, so an awaited call is never cut short by the process exiting.
// A worker that dies mid-call rejects that call (CRASHED) and is started again in its slot (setup runs
// again); if that setup fails the pool is broken and every later call rejects with the cause.

import { availableParallelism } from "node:os";
import { type ResourceLimits, type TransferListItem, Worker } from "node:worker_threads";
import type { WorkerDefinition, WorkerMethods } from "./define.js";
import { type RemoteError, WorkerError, WorkerTaskError } from "./errors.js";
import { type FromWorker, HARNESS_KEY, type HarnessData, type ToWorker } from "./protocol.js";

/** Any worker definition (the type parameter of `WorkerPool`). */
// biome-ignore lint/suspicious/noExplicitAny: the pool is typed by the worker's definition.
export type AnyDefinition = WorkerDefinition<any, any, WorkerMethods<any>>;
/** The methods of a worker definition. */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type MethodsOf<D> = D extends WorkerDefinition<any, any, infer M> ? M : never;
/** The `init` type of a worker definition. */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type InitOf<D> = D extends WorkerDefinition<infer I, any, any> ? I : never;
/** Names of a definition's methods. */
export type MethodName<D> = keyof MethodsOf<D> & string;
/** The argument type of method `K`. */
export type MethodArg<D, K extends MethodName<D>> = Parameters<MethodsOf<D>[K]>[0];
/** The (awaited) result type of method `K`. */
export type MethodResult<D, K extends MethodName<D>> = Awaited<ReturnType<MethodsOf<D>[K]>>;

export interface WorkerPoolOptions<Init> {
  /** The built worker script (see `workerScript`), a module that default-exports `defineWorker(...)`. */
  readonly script: URL;
  /** Worker threads (default: available cores, at most 8). */
  readonly threads?: number;
  /** Passed to every worker's `setup` (structured-cloned; SharedArrayBuffers and shared memories are shared). */
  readonly init?: Init;
  /** Per-worker init instead of `init` (e.g. each worker's own stack region in a shared memory). */
  readonly initFor?: (slot: number) => Init;
  /** Names the pool in error messages (default: the script's file name). */
  readonly name?: string;
  /** Per-worker V8 heap limits. */
  readonly resourceLimits?: ResourceLimits;
}

export interface CallOptions {
  /** Buffers / ports moved to the worker instead of copied (they become unusable here). */
  readonly transfer?: readonly TransferListItem[];
  /**
   * Aborts the call: a queued call is dropped, a running one rejects at once (ABORTED) while the worker
   * sees `ctx.signal` aborted and its result, when it comes, is discarded. Methods that loop for long
   * should check `ctx.signal`; `terminate()` stops a worker that does not.
   */
  readonly signal?: AbortSignal;
  /** Receives the values the method sends with `ctx.progress(...)`. */
  readonly onProgress?: (value: unknown) => void;
}

interface Call {
  readonly id: number;
  readonly method: string;
  readonly arg: unknown;
  readonly options: CallOptions;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  settled: boolean;
  detach?: () => void;
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  status: "starting" | "idle" | "busy" | "closing" | "down";
  current: Call | undefined;
  /** Calls for this worker only (runOn, broadcast). */
  readonly queue: Call[];
  starting?: { resolve: () => void; reject: (e: Error) => void };
  closing?: () => void;
}

const live = new Set<WorkerPool<AnyDefinition>>();

/**
 * Terminates every pool of this process that is still open (running calls reject with CLOSED). For a
 * SIGINT / SIGTERM handler that must stop the threads before it removes temporary files.
 */
export async function terminateAllWorkerPools(): Promise<void> {
  await Promise.all([...live].map((p) => p.terminate()));
}

export class WorkerPool<D extends AnyDefinition> {
  readonly name: string;
  readonly threads: number;
  readonly #script: URL;
  readonly #options: WorkerPoolOptions<InitOf<D>>;
  readonly #slots: Slot[];
  readonly #queue: Call[] = [];
  #nextId = 0;
  #accepting = true;
  #broken: Error | undefined;
  #closed: Promise<void> | undefined;
  #drainWaiters: (() => void)[] = [];

  private constructor(options: WorkerPoolOptions<InitOf<D>>) {
    this.#options = options;
    this.#script = options.script;
    this.name = options.name ?? options.script.pathname.split("/").pop() ?? "worker pool";
    const threads = options.threads ?? Math.min(8, availableParallelism());
    if (!Number.isInteger(threads) || threads < 1) {
      throw new WorkerError("USAGE", this.name, `threads must be a positive integer, got ${threads}`);
    }
    this.threads = threads;
    this.#slots = Array.from({ length: threads }, (_, index) => ({
      index,
      worker: undefined,
      status: "down" as const,
      current: undefined,
      queue: [],
    }));
  }

  /** Starts `threads` workers and resolves when each has finished `setup` (rejects with WorkerError SETUP). */
  static async start<D extends AnyDefinition>(options: WorkerPoolOptions<InitOf<D>>): Promise<WorkerPool<D>> {
    const pool = new WorkerPool<D>(options);
    live.add(pool as unknown as WorkerPool<AnyDefinition>);
    const started = await Promise.allSettled(pool.#slots.map((s) => pool.#spawn(s)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      await pool.terminate();
      throw failed.reason;
    }
    return pool;
  }

  /** Workers waiting for a call. */
  get idle(): number {
    return this.#slots.filter((s) => s.status === "idle").length;
  }

  /** Calls queued or running. */
  get pending(): number {
    return (
      this.#queue.length +
      this.#slots.reduce((n, s) => n + s.queue.length + (s.current && !s.current.settled ? 1 : 0), 0)
    );
  }

  /**
   * Runs `method(arg)` on the next idle worker. When a worker is idle the call is posted before `run`
   * returns, so a caller may then block on shared memory (Atomics.wait) while the worker runs.
   */
  run<K extends MethodName<D>>(
    method: K,
    arg: MethodArg<D, K>,
    options: CallOptions = {},
  ): Promise<MethodResult<D, K>> {
    return this.#enqueue(undefined, method, arg, options) as Promise<MethodResult<D, K>>;
  }

  /** Runs `method(arg)` on worker `slot` (after the calls already queued for it). */
  runOn<K extends MethodName<D>>(
    slot: number,
    method: K,
    arg: MethodArg<D, K>,
    options: CallOptions = {},
  ): Promise<MethodResult<D, K>> {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.threads) {
      return Promise.reject(
        new WorkerError("USAGE", this.name, `no worker ${slot} (the pool has ${this.threads})`),
      );
    }
    return this.#enqueue(slot, method, arg, options) as Promise<MethodResult<D, K>>;
  }

  /** Runs `method(arg)` once on every worker; results in slot order. */
  broadcast<K extends MethodName<D>>(
    method: K,
    arg: MethodArg<D, K>,
    options: Omit<CallOptions, "transfer"> = {},
  ): Promise<MethodResult<D, K>[]> {
    return Promise.all(this.#slots.map((s) => this.runOn(s.index, method, arg, options)));
  }

  /**
   * Stops accepting calls, waits for the queued and running ones, runs every worker's `teardown`, and
   * ends the threads (a worker whose teardown takes over `timeoutMs` is terminated).
   */
  close(timeoutMs = 10_000): Promise<void> {
    this.#accepting = false;
    this.#closed ??= (async () => {
      await new Promise<void>((resolve) => {
        this.#drainWaiters.push(resolve);
        this.#checkDrained();
      });
      await Promise.all(this.#slots.map((s) => this.#closeSlot(s, timeoutMs)));
      live.delete(this as unknown as WorkerPool<AnyDefinition>);
    })();
    return this.#closed;
  }

  /** Ends every thread now; queued and running calls reject with CLOSED. No teardown runs. */
  async terminate(): Promise<void> {
    this.#accepting = false;
    const closed = new WorkerError("CLOSED", this.name, "the pool was terminated");
    for (const call of this.#queue.splice(0)) this.#settle(call, closed);
    const ending: Promise<unknown>[] = [];
    for (const s of this.#slots) {
      for (const call of s.queue.splice(0)) this.#settle(call, closed);
      if (s.current) this.#settle(s.current, closed);
      s.current = undefined;
      s.starting?.reject(closed);
      s.starting = undefined;
      const w = s.worker;
      s.worker = undefined;
      s.status = "down";
      if (w) ending.push(w.terminate());
    }
    this.#checkDrained();
    live.delete(this as unknown as WorkerPool<AnyDefinition>);
    await Promise.allSettled(ending);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #enqueue(target: number | undefined, method: string, arg: unknown, options: CallOptions): Promise<unknown> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (!this.#accepting) {
      return Promise.reject(new WorkerError("CLOSED", this.name, `${method}() called after close()`));
    }
    return new Promise((resolve, reject) => {
      const call: Call = { id: this.#nextId++, method, arg, options, resolve, reject, settled: false };
      const { signal } = options;
      if (signal) {
        if (signal.aborted) return reject(this.#abortError(method, signal));
        const onAbort = () => this.#abort(call, target);
        signal.addEventListener("abort", onAbort, { once: true });
        call.detach = () => signal.removeEventListener("abort", onAbort);
      }
      (target === undefined ? this.#queue : this.#slots[target].queue).push(call);
      this.#pump();
    });
  }

  #abortError(method: string, signal: AbortSignal): WorkerError {
    const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : "";
    return new WorkerError("ABORTED", this.name, `${method}() aborted${reason}`, { cause: signal.reason });
  }

  #abort(call: Call, target: number | undefined): void {
    if (call.settled) return;
    const queue = target === undefined ? this.#queue : this.#slots[target].queue;
    const at = queue.indexOf(call);
    if (at >= 0) queue.splice(at, 1);
    else {
      // Running: tell the worker; the slot stays busy until the worker answers (answer discarded).
      const slot = this.#slots.find((s) => s.current === call);
      slot?.worker?.postMessage({ t: "abort", id: call.id } satisfies ToWorker);
    }
    this.#settle(call, this.#abortError(call.method, call.options.signal!));
    this.#checkDrained();
  }

  #settle(call: Call, error: Error | undefined, value?: unknown): void {
    if (call.settled) return;
    call.settled = true;
    call.detach?.();
    if (error) call.reject(error);
    else call.resolve(value);
  }

  #pump(): void {
    for (const slot of this.#slots) {
      while (slot.status === "idle") {
        const call = slot.queue.shift() ?? this.#queue.shift();
        if (!call) break;
        this.#dispatch(slot, call);
      }
    }
  }

  #dispatch(slot: Slot, call: Call): void {
    const worker = slot.worker!;
    try {
      worker.postMessage(
        { t: "call", id: call.id, method: call.method, arg: call.arg } satisfies ToWorker,
        call.options.transfer ? [...call.options.transfer] : undefined,
      );
    } catch (e) {
      this.#settle(
        call,
        new WorkerError(
          "USAGE",
          this.name,
          `the argument of ${call.method}() cannot be sent to a worker: ${(e as Error).message}`,
          { cause: e },
        ),
      );
      return;
    }
    slot.status = "busy";
    slot.current = call;
    worker.ref();
  }

  #spawn(slot: Slot): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const opts = this.#options;
      const data: HarnessData = {
        pool: this.name,
        slot: slot.index,
        threads: this.threads,
        init: opts.initFor ? opts.initFor(slot.index) : opts.init,
      };
      let worker: Worker;
      try {
        worker = new Worker(this.#script, {
          workerData: { [HARNESS_KEY]: data },
          resourceLimits: opts.resourceLimits,
        });
      } catch (e) {
        reject(
          new WorkerError("SETUP", this.name, `cannot start worker ${slot.index}: ${(e as Error).message}`, {
            cause: e,
          }),
        );
        return;
      }
      slot.worker = worker;
      slot.status = "starting";
      slot.starting = { resolve, reject };
      worker.on("message", (msg: FromWorker) => {
        if (slot.worker === worker) this.#onMessage(slot, msg);
      });
      worker.on("error", (e) => {
        if (slot.worker === worker) this.#onDeath(slot, `died: ${e.name}: ${e.message}`, e);
      });
      worker.on("exit", (code) => {
        if (slot.worker !== worker) return;
        if (slot.status === "closing") {
          slot.worker = undefined;
          slot.status = "down";
          slot.closing?.();
        } else this.#onDeath(slot, `exited with code ${code}`);
      });
    });
  }

  #onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.t) {
      case "ready": {
        if (slot.status !== "starting") return;
        slot.status = "idle";
        slot.worker?.unref();
        slot.starting?.resolve();
        slot.starting = undefined;
        this.#pump();
        this.#checkDrained();
        return;
      }
      case "setup-error": {
        const err = new WorkerTaskError(this.name, slot.index, "setup", msg.error, "SETUP");
        const w = slot.worker;
        slot.worker = undefined;
        slot.status = "down";
        void w?.terminate();
        if (slot.starting) {
          slot.starting.reject(err);
          slot.starting = undefined;
        }
        this.#fail(err);
        return;
      }
      case "progress": {
        const call = slot.current;
        if (call && call.id === msg.id && !call.settled) call.options.onProgress?.(msg.value);
        return;
      }
      case "result":
      case "error": {
        const call = slot.current;
        if (!call || call.id !== msg.id) return;
        slot.current = undefined;
        slot.status = "idle";
        slot.worker?.unref();
        if (msg.t === "result") this.#settle(call, undefined, msg.value);
        else
          this.#settle(
            call,
            new WorkerTaskError(this.name, slot.index, call.method, msg.error as RemoteError),
          );
        this.#pump();
        this.#checkDrained();
        return;
      }
      case "closed":
        return;
    }
  }

  /** A worker died (uncaught error, process.exit, out of memory): fail its call, start it again. */
  #onDeath(slot: Slot, what: string, cause?: Error): void {
    if (slot.status === "closing") {
      slot.worker = undefined;
      slot.status = "down";
      slot.closing?.();
      return;
    }
    const err = new WorkerError("CRASHED", this.name, `worker ${slot.index} ${what}`, { cause });
    if (cause?.stack) err.stack = `${err.stack}\n  in the worker thread:\n${cause.stack}`;
    slot.worker = undefined;
    slot.status = "down";
    if (slot.current) this.#settle(slot.current, err);
    slot.current = undefined;
    if (slot.starting) {
      // Died during setup (its module threw on import, for instance): the pool cannot run.
      slot.starting.reject(new WorkerError("SETUP", this.name, `worker ${slot.index} ${what}`, { cause }));
      slot.starting = undefined;
      this.#fail(err);
      return;
    }
    if (this.#accepting || this.pending > 0) {
      this.#spawn(slot).catch((e: Error) => this.#fail(e));
    }
    this.#checkDrained();
  }

  /** The pool cannot go on: every queued call and every later one rejects with `err`. */
  #fail(err: Error): void {
    this.#broken ??= err;
    for (const call of this.#queue.splice(0)) this.#settle(call, err);
    for (const s of this.#slots) for (const call of s.queue.splice(0)) this.#settle(call, err);
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (this.#drainWaiters.length === 0) return;
    const busy = this.#queue.length > 0 || this.#slots.some((s) => s.queue.length > 0 || s.status === "busy");
    if (busy) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #closeSlot(slot: Slot, timeoutMs: number): Promise<void> {
    const worker = slot.worker;
    if (!worker || slot.status === "down") return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), timeoutMs);
      slot.closing = () => {
        clearTimeout(timer);
        resolve();
      };
      slot.status = "closing";
      worker.ref();
      worker.postMessage({ t: "close" } satisfies ToWorker);
    });
  }
}
