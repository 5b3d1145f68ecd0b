// Where a worker script lives: next to the module that starts it, in the same build. A module running
// from dist/ gets dist/…/x-worker.js; a module running from its TypeScript sources (vitest's unit
// projects, a TypeScript loader) has no worker script of its own build, because Node 20 cannot run
// TypeScript in a worker thread. Falling back to dist/ there would pair new sources with an old build,
// so it is an error instead: tests that start workers import the built package (integration projects).

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WorkerError } from "./errors.js";

const SOURCE_EXTENSIONS = /\.(?:[cm]?ts|tsx)$/;

/**
 * The URL of the worker script `relative` (a built `.js` file) next to the calling module `from`
 * (its `import.meta.url`). Throws WorkerError NOT_BUILT when the caller runs from TypeScript sources and
 * NOT_FOUND when the file is missing.
 */
export function workerScript(from: string | URL, relative: string, pool = "worker pool"): URL {
  const base = new URL(from);
  if (SOURCE_EXTENSIONS.test(base.pathname)) {
    throw new WorkerError(
      "NOT_BUILT",
      pool,
      `${fileURLToPath(base)} runs from TypeScript sources, and worker threads run only built JavaScript: ` +
        "import the package from its build (`pnpm build`; tests that start workers go in test/integration, " +
        "which imports the build)",
    );
  }
  const url = new URL(relative, base);
  if (url.protocol === "file:" && !existsSync(fileURLToPath(url))) {
    throw new WorkerError("NOT_FOUND", pool, `worker script ${fileURLToPath(url)} does not exist`);
  }
  return url;
}
