// The main side of the harness: a fixed set of worker threads ("slots"), each running one script's
// `defineWorker` with its own state, answering one call at a time. Calls go to the next idle worker
// (`run`), to one chosen worker (`runOn`), or to every worker (`broadcast`). See docs/workers.md.
//
// Lifetime: `WorkerPool.start` resolves once every worker has finished `setup` (a failing setup rejects it
// with the worker's error); `WorkerPool.open` returns the pool at once and posts calls to workers still
// in setup (each runs them after its setup), for code that cannot await. Callers that cannot yield to
// the event loop at all (a synchronous pass over shared memory) post with `post` and block in `wait`,
// which takes the workers' replies synchronously (they come through a MessageChannel per worker, with a
// shared counter to wait on). Idle workers are unref'd, so a pool never keeps the process alive by itself;
// a worker with a call in flight is ref'd, so an awaited call is never cut short by the process exiting.
// A worker that dies mid-call rejects that call (CRASHED) and is started again in its slot (setup runs
// again); if that setup fails the pool is broken and every later call rejects with the cause.

import { availableParallelism } from "node:os";
import {
  MessageChannel,
  type MessagePort,
  type ResourceLimits,
  receiveMessageOnPort,
  type TransferListItem,
  Worker,
} from "node:worker_threads";
import type { WorkerDefinition, WorkerMethods } from "./define.js";
import { type RemoteError, WorkerError, WorkerTaskError } from "./errors.js";
import {
  type FromWorker,
  HARNESS_KEY,
  type HarnessData,
  SIGNAL_EXITED,
  SIGNAL_POSTED,
  type ToWorker,
} from "./protocol.js";

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

/** A call posted by `WorkerPool.post`: wait for it by blocking this thread, or await its promise. */
export interface PostedCall<R> {
  /** Settles like a `runOn` call. */
  readonly promise: Promise<R>;
  /**
   * Blocks this thread until the call settles and returns its result (or throws what the promise
   * rejects with). Meanwhile this thread handles the pool's replies itself, without the event loop.
   */
  wait(): R;
}

interface Call {
  readonly id: number;
  readonly method: string;
  readonly arg: unknown;
  readonly options: CallOptions;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  settled: boolean;
  /** The outcome, kept for `PostedCall.wait` (a promise cannot be read synchronously). */
  outcome?: { readonly error: Error } | { readonly error?: undefined; readonly value: unknown };
  detach?: () => void;
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  /** Where the worker's replies arrive, and the shared counter it bumps after each (see protocol.ts). */
  replies: MessagePort | undefined;
  signal: Int32Array | undefined;
  status: "starting" | "idle" | "busy" | "closing" | "down";
  /** The call the worker runs (a worker still in setup may hold one, which it runs after setup). */
  current: Call | undefined;
  /** Calls for this worker only (runOn, broadcast). */
  readonly queue: Call[];
  starting?: { resolve: () => void; reject: (e: Error) => void };
  closing?: () => void;
  /** The uncaught error the worker reported as it died (see define.ts). */
  crash?: RemoteError;
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
  #ready: Promise<void> = Promise.resolve();

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
      replies: undefined,
      signal: undefined,
      status: "down" as const,
      current: undefined,
      queue: [],
    }));
  }

  /** Starts `threads` workers and resolves when each has finished `setup` (rejects with WorkerError SETUP). */
  static async start<D extends AnyDefinition>(options: WorkerPoolOptions<InitOf<D>>): Promise<WorkerPool<D>> {
    const pool = WorkerPool.open<D>(options);
    await pool.ready;
    return pool;
  }

  /**
   * Starts `threads` workers and returns the pool at once, for code that cannot await: calls may be
   * made right away (a worker still in setup gets its call at once and runs it after setup). `ready`
   * settles like `start`; if a setup fails, the pool is terminated and its calls reject with that error.
   */
  static open<D extends AnyDefinition>(options: WorkerPoolOptions<InitOf<D>>): WorkerPool<D> {
    const pool = new WorkerPool<D>(options);
    live.add(pool as unknown as WorkerPool<AnyDefinition>);
    const spawned = pool.#slots.map((s) => pool.#spawn(s));
    pool.#ready = Promise.allSettled(spawned).then(async (started) => {
      const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) {
        await pool.terminate();
        throw failed.reason;
      }
    });
    pool.#ready.catch(() => {}); // reported to whoever awaits `ready` (or by the calls themselves)
    return pool;
  }

  /** Resolves when every worker has finished its first `setup` (rejects with WorkerError SETUP). */
  get ready(): Promise<void> {
    return this.#ready;
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
   * Posts `method(arg)` to worker `slot` now, for a caller that then blocks this thread (on shared
   * memory, or in `wait()`) instead of yielding to the event loop. If that worker is still busy, this
   * first blocks until it is free. The worker runs the call as one from `runOn`.
   */
  post<K extends MethodName<D>>(
    slot: number,
    method: K,
    arg: MethodArg<D, K>,
    options: Omit<CallOptions, "signal"> = {},
  ): PostedCall<MethodResult<D, K>> {
    const s = this.#slots[slot];
    if (!Number.isInteger(slot) || !s) {
      throw new WorkerError("USAGE", this.name, `no worker ${slot} (the pool has ${this.threads})`);
    }
    // Replies this thread has not seen yet may free the worker; a running or queued call goes first.
    this.#blockUntil(
      s,
      () => (this.#free(s) && s.queue.length === 0) || !this.#accepting || this.#broken !== undefined,
    );
    let call!: Call;
    const promise = new Promise<unknown>((resolve, reject) => {
      call = { id: this.#nextId++, method, arg, options, resolve, reject, settled: false };
    });
    promise.catch(() => {}); // a caller that only waits has seen the error
    if (this.#broken) this.#settle(call, this.#broken);
    else if (!this.#accepting) {
      this.#settle(call, new WorkerError("CLOSED", this.name, `${method}() called after close()`));
    } else this.#dispatch(s, call);
    return {
      promise: promise as Promise<MethodResult<D, K>>,
      wait: () => {
        this.#blockUntil(s, () => call.settled);
        const outcome = call.outcome!;
        if (outcome.error) throw outcome.error;
        return outcome.value as MethodResult<D, K>;
      },
    };
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
    // A pool terminated because a setup failed rejects its calls with that failure.
    const closed = this.#broken ?? new WorkerError("CLOSED", this.name, "the pool was terminated");
    for (const call of this.#queue.splice(0)) this.#settle(call, closed);
    const ending: Promise<unknown>[] = [];
    for (const s of this.#slots) {
      for (const call of s.queue.splice(0)) this.#settle(call, closed);
      if (s.current) this.#settle(s.current, closed);
      s.current = undefined;
      s.starting?.reject(closed);
      s.starting = undefined;
      const w = this.#detach(s);
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
    call.outcome = error ? { error } : { value };
    call.detach?.();
    if (error) call.reject(error);
    else call.resolve(value);
  }

  #pump(): void {
    for (const slot of this.#slots) {
      while (this.#free(slot)) {
        const call = slot.queue.shift() ?? this.#queue.shift();
        if (!call) break;
        this.#dispatch(slot, call);
      }
    }
  }

  /** Whether `slot` can take a call now: idle, or in setup without one (it runs it after setup). */
  #free(slot: Slot): boolean {
    return slot.current === undefined && (slot.status === "idle" || slot.status === "starting");
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
    if (slot.status === "idle") slot.status = "busy";
    slot.current = call;
    worker.ref();
  }

  /** Takes the replies of `slot` that have arrived, without the event loop. */
  #drainReplies(slot: Slot): void {
    const worker = slot.worker;
    const port = slot.replies;
    if (!port) return;
    for (;;) {
      const got = receiveMessageOnPort(port);
      if (!got || slot.worker !== worker) return;
      this.#onMessage(slot, got.message as FromWorker);
    }
  }

  /**
   * Blocks this thread until `done()`, handling the replies of `slot` as they come (Atomics.wait on its
   * shared counter). A worker that exits meanwhile fails its call (CRASHED) as the 'exit' event would.
   */
  #blockUntil(slot: Slot, done: () => boolean): void {
    for (;;) {
      const signal = slot.signal;
      const seen = signal ? Atomics.load(signal, SIGNAL_POSTED) : 0;
      this.#drainReplies(slot);
      if (done()) return;
      if (!signal || slot.status === "down") {
        // No worker to wait for (a broken pool, or terminated): nothing more will come.
        if (done()) return;
        throw new WorkerError("CLOSED", this.name, `worker ${slot.index} is not running`);
      }
      if (Atomics.load(signal, SIGNAL_EXITED) === 1) {
        this.#drainReplies(slot); // everything it posted before exiting
        if (done()) return;
        const worker = slot.worker;
        this.#onDeath(slot, "exited");
        void worker?.terminate();
        continue;
      }
      Atomics.wait(signal, SIGNAL_POSTED, seen);
    }
  }

  #spawn(slot: Slot): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const opts = this.#options;
      const channel = new MessageChannel();
      const signal = new Int32Array(new SharedArrayBuffer(8));
      let worker: Worker;
      try {
        const data: HarnessData = {
          pool: this.name,
          slot: slot.index,
          threads: this.threads,
          init: opts.initFor ? opts.initFor(slot.index) : opts.init,
          replies: channel.port2,
          signal,
        };
        worker = new Worker(this.#script, {
          workerData: { [HARNESS_KEY]: data },
          transferList: [channel.port2],
          resourceLimits: opts.resourceLimits,
        });
      } catch (e) {
        channel.port1.close();
        reject(
          new WorkerError("SETUP", this.name, `cannot start worker ${slot.index}: ${(e as Error).message}`, {
            cause: e,
          }),
        );
        return;
      }
      slot.worker = worker;
      slot.replies = channel.port1;
      slot.signal = signal;
      slot.crash = undefined;
      slot.status = "starting";
      slot.starting = { resolve, reject };
      channel.port1.on("message", (msg: FromWorker) => {
        if (slot.worker === worker) this.#onMessage(slot, msg);
      });
      // The port never keeps the process alive: a worker with a call in flight does (ref'd).
      channel.port1.unref();
      worker.on("error", (e) => {
        if (slot.worker !== worker) return;
        this.#drainReplies(slot); // replies posted before it died come first
        if (slot.worker === worker) this.#onDeath(slot, `died: ${e.name}: ${e.message}`, e);
      });
      worker.on("exit", (code) => {
        if (slot.worker !== worker) return;
        this.#drainReplies(slot);
        if (slot.worker !== worker) return;
        if (slot.status === "closing") {
          this.#detach(slot);
          slot.closing?.();
        } else this.#onDeath(slot, `exited with code ${code}`);
      });
    });
  }

  #onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.t) {
      case "ready": {
        slot.starting?.resolve();
        slot.starting = undefined;
        if (slot.status !== "starting") return; // closing already
        // A call posted during setup is running now.
        slot.status = slot.current ? "busy" : "idle";
        if (!slot.current) slot.worker?.unref();
        this.#pump();
        this.#checkDrained();
        return;
      }
      case "setup-error": {
        const err = new WorkerTaskError(this.name, slot.index, "setup", msg.error, "SETUP");
        void this.#detach(slot)?.terminate();
        if (slot.current) this.#settle(slot.current, err);
        slot.current = undefined;
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
      case "crashed":
        // Sent as an uncaught error ends the worker: for a caller blocked in wait(), which sees the
        // exit through shared memory before the 'error' event.
        slot.crash = msg.error;
        return;
      case "closed":
        return;
    }
  }

  /** Forgets the slot's worker (returned) and closes its reply port; the slot is down. */
  #detach(slot: Slot): Worker | undefined {
    const w = slot.worker;
    slot.worker = undefined;
    slot.replies?.close();
    slot.replies = undefined;
    slot.signal = undefined;
    slot.status = "down";
    return w;
  }

  /** A worker died (uncaught error, process.exit, out of memory): fail its call, start it again. */
  #onDeath(slot: Slot, what: string, cause?: Error): void {
    if (slot.status === "closing") {
      this.#detach(slot);
      slot.closing?.();
      return;
    }
    const crash = slot.crash;
    if (!cause && crash) what = `died: ${crash.name}: ${crash.message}`;
    const err = new WorkerError("CRASHED", this.name, `worker ${slot.index} ${what}`, { cause });
    const stack = cause?.stack ?? crash?.stack;
    if (stack) err.stack = `${err.stack}\n  in the worker thread:\n${stack}`;
    this.#detach(slot);
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
    const busy =
      this.#queue.length > 0 || this.#slots.some((s) => s.queue.length > 0 || s.current !== undefined);
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
