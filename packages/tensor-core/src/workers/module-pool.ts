// A pool whose task is a function exported by a module given at run time (for example a user's fitness
// module): `pool.run("call", [genome, info])` calls `fitness(genome, info)` on the next idle worker.

import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { ModuleWorkerDefinition } from "./module-worker.js";
import { WorkerPool } from "./pool.js";
import { workerScript } from "./script.js";

export interface ModulePoolOptions {
  /** The module: a URL, or a file path (absolute, or relative to the working directory). */
  readonly module: string | URL;
  /** The export to call (default "default"). */
  readonly exportName?: string;
  /** Worker threads (default: available cores, at most 8). */
  readonly threads?: number;
  readonly name?: string;
}

/** The pool type `startModulePool` returns. */
export type ModulePool = WorkerPool<ModuleWorkerDefinition>;

/** Starts workers that each import `module` and call its export `exportName` per `run("call", args)`. */
export async function startModulePool(options: ModulePoolOptions): Promise<ModulePool> {
  const pool = openModulePool(options);
  await pool.ready;
  return pool;
}

/**
 * `startModulePool` for code that cannot await: the pool at once, its workers still importing the
 * module (calls made meanwhile run after that; a module without the export fails them with SETUP).
 */
export function openModulePool(options: ModulePoolOptions): ModulePool {
  const m = options.module;
  const href =
    m instanceof URL ? m.href : /^[a-z][a-z0-9+.-]*:/i.test(m) && !isAbsolute(m) ? m : pathToFileURL(m).href;
  const name = options.name ?? `module pool (${href})`;
  return WorkerPool.open<ModuleWorkerDefinition>({
    script: workerScript(import.meta.url, "./module-worker.js", name),
    threads: options.threads,
    name,
    init: { module: href, exportName: options.exportName ?? "default" },
  });
}
