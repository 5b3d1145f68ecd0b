// The worker side of the harness: a worker script default-exports `defineWorker({ setup, methods,
// teardown })`. Started by a WorkerPool, it runs `setup` once (the per-worker state: open files, a
// WebAssembly instance on a shared memory, a tfjs backend, a user's module), then serves one call at a
// time until the pool closes it, when `teardown` runs. Imported anywhere else (the main thread, a test,
// a thread some other code started) it only returns the definition, so the same module also gives the
// main side its method types.

import { parentPort, type TransferListItem, workerData } from "node:worker_threads";
import { toRemoteError } from "./errors.js";
import {
  type FromWorker,
  HARNESS_KEY,
  type HarnessData,
  SIGNAL_EXITED,
  SIGNAL_POSTED,
  type ToWorker,
} from "./protocol.js";

/** Which worker this is. */
export interface SlotInfo {
  /** 0 .. threads − 1, stable for the pool's life (a restarted worker keeps its slot). */
  readonly slot: number;
  readonly threads: number;
}

/** What a method gets besides its argument. */
export interface WorkerContext<State> extends SlotInfo {
  /** What `setup` returned. */
  readonly state: State;
  /** Aborted when the caller aborts this call (cooperative: check it in long loops). */
  readonly signal: AbortSignal;
  /** Moves these buffers / ports to the caller with the result instead of copying them. */
  transfer(...items: TransferListItem[]): void;
  /** Sends a progress value to the caller's `onProgress` (any cloneable value). */
  progress(value: unknown): void;
}

// biome-ignore lint/suspicious/noExplicitAny: method arguments are typed by each definition.
export type WorkerMethod<State> = (arg: any, ctx: WorkerContext<State>) => unknown;
export type WorkerMethods<State> = Record<string, WorkerMethod<State>>;

export interface WorkerDefinition<Init, State, Methods extends WorkerMethods<State>> {
  /** Builds the worker's state from the pool's `init` (structured-cloned; SharedArrayBuffer and shared
   * WebAssembly.Memory are shared, a WebAssembly.Module is passed compiled). */
  readonly setup?: (init: Init, info: SlotInfo) => State | Promise<State>;
  /** The calls this worker answers; a method's return value (or promise) is the call's result. */
  readonly methods: Methods;
  /** Runs when the pool closes gracefully (close files, flush); not on terminate or crash. */
  readonly teardown?: (state: State, info: SlotInfo) => void | Promise<void>;
}

/**
 * Defines (and, inside a pool's worker thread, serves) a worker. Write `setup` as an arrow function
 * (`setup: async (init: MyInit) => ...`): TypeScript then infers the state type that methods see in
 * `ctx.state`.
 */
export function defineWorker<Init, State, Methods extends WorkerMethods<State>>(
  definition: WorkerDefinition<Init, State, Methods>,
): WorkerDefinition<Init, State, Methods> {
  const data = (workerData as Record<string, unknown> | null)?.[HARNESS_KEY] as HarnessData | undefined;
  if (parentPort && data && !serving) {
    serving = true;
    serve(definition as WorkerDefinition<unknown, unknown, WorkerMethods<unknown>>, data);
  }
  return definition;
}

let serving = false;

function serve(def: WorkerDefinition<unknown, unknown, WorkerMethods<unknown>>, data: HarnessData): void {
  const port = parentPort!;
  const { replies, signal } = data;
  const info: SlotInfo = { slot: data.slot, threads: data.threads };
  const wake = () => {
    Atomics.add(signal, SIGNAL_POSTED, 1);
    Atomics.notify(signal, SIGNAL_POSTED);
  };
  const send = (msg: FromWorker, transfer: TransferListItem[] = []) => {
    replies.postMessage(msg, transfer);
    wake();
  };
  // A caller blocked in PostedCall.wait cannot see the 'exit' event: tell it through shared memory
  // (process.exit and uncaught errors run this; a worker killed for memory runs no JavaScript).
  process.on("uncaughtExceptionMonitor", (e) => {
    try {
      send({ t: "crashed", error: toRemoteError(e) });
    } catch {
      // The port may be closed already; the 'error' event still reaches the pool.
    }
  });
  process.once("exit", () => {
    Atomics.store(signal, SIGNAL_EXITED, 1);
    wake();
  });
  const aborts = new Map<number, AbortController>();
  let state: unknown;

  // Calls may arrive while `setup` runs (a pool opened synchronously posts at once): each waits for it.
  // "ready" is sent before any call's result; after a failed setup no call runs (the pool fails them).
  const started = (async () => {
    try {
      state = await def.setup?.(data.init, info);
      send({ t: "ready", methods: Object.keys(def.methods) });
      return true;
    } catch (e) {
      send({ t: "setup-error", error: toRemoteError(e) });
      return false;
    }
  })();

  const call = async (id: number, method: string, arg: unknown): Promise<void> => {
    const abort = new AbortController();
    aborts.set(id, abort);
    if (!(await started)) return;
    const transfer: TransferListItem[] = [];
    const ctx: WorkerContext<unknown> = {
      ...info,
      state,
      signal: abort.signal,
      transfer: (...items) => {
        transfer.push(...items);
      },
      progress: (value) => send({ t: "progress", id, value }),
    };
    try {
      const fn = Object.hasOwn(def.methods, method) ? def.methods[method] : undefined;
      if (typeof fn !== "function") throw new TypeError(`no method "${method}" in this worker`);
      const value = await fn(arg, ctx);
      try {
        send({ t: "result", id, value }, transfer);
      } catch (e) {
        // Not cloneable (a function, a class instance with private state): say so instead of hanging.
        throw new TypeError(`result of ${method}() cannot be sent to the caller: ${(e as Error).message}`);
      }
    } catch (e) {
      send({ t: "error", id, error: toRemoteError(e) });
    } finally {
      aborts.delete(id);
    }
  };

  port.on("message", (msg: ToWorker) => {
    if (msg.t === "call") void call(msg.id, msg.method, msg.arg);
    else if (msg.t === "abort") aborts.get(msg.id)?.abort();
    else if (msg.t === "close") {
      void (async () => {
        try {
          if (await started) await def.teardown?.(state, info);
        } finally {
          send({ t: "closed" });
          replies.close();
          port.close();
        }
      })();
    }
  });
}
