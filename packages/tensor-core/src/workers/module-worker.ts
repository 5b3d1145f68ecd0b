// Built-in worker script of `startModulePool`: the task is a function exported by a module the caller
// names (a user's fitness function, an evaluation step), imported once per worker.

import { defineWorker, type WorkerContext, type WorkerDefinition } from "./define.js";

export interface ModuleWorkerInit {
  /** URL (file: or data:) of an ES module. */
  readonly module: string;
  /** The export to call. */
  readonly exportName: string;
}

/** The user's function. */
export type ModuleTask = (...args: unknown[]) => unknown;

/** The definition of the module worker (the type parameter of `ModulePool`). */
export type ModuleWorkerDefinition = WorkerDefinition<
  ModuleWorkerInit,
  ModuleTask,
  { call: (args: readonly unknown[], ctx: WorkerContext<ModuleTask>) => unknown }
>;

const moduleWorker: ModuleWorkerDefinition = defineWorker({
  setup: async (init: ModuleWorkerInit): Promise<ModuleTask> => {
    const mod = (await import(init.module)) as Record<string, unknown>;
    const fn = mod[init.exportName];
    if (typeof fn !== "function") {
      throw new TypeError(`module ${init.module} has no function export "${init.exportName}"`);
    }
    return fn as ModuleTask;
  },
  methods: {
    /** Calls the export with `args` (typed arrays over SharedArrayBuffers arrive shared, not copied). */
    call: (args: readonly unknown[], ctx) => ctx.state(...args),
  },
});
export default moduleWorker;
