// Built-in worker script of `startModulePool`: the task is a function exported by a module the caller
// names (a user's fitness function, an evaluation step), imported once per worker.

import { defineWorker } from "./define.js";

export interface ModuleWorkerInit {
  /** URL (file: or data:) of an ES module. */
  readonly module: string;
  /** The export to call. */
  readonly exportName: string;
}

type Task = (...args: unknown[]) => unknown;

export default defineWorker({
  setup: async (init: ModuleWorkerInit): Promise<Task> => {
    const mod = (await import(init.module)) as Record<string, unknown>;
    const fn = mod[init.exportName];
    if (typeof fn !== "function") {
      throw new TypeError(`module ${init.module} has no function export "${init.exportName}"`);
    }
    return fn as Task;
  },
  methods: {
    /** Calls the export with `args` (typed arrays over SharedArrayBuffers arrive shared, not copied). */
    call: (args: readonly unknown[], ctx) => ctx.state(...args),
  },
});
