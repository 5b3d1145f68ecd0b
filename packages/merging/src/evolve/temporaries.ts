/**
 * Temporary directories of an `x evolve` run (`.candidates-…` for the candidate models being scored, `.model-…`
 * for the output model before it is renamed into place) carry their owner in the name:
 * `.<kind>-<host>-<pid>-<random>`.
 * A process that is stopped by a signal removes its own; one killed with SIGKILL cannot, so the next run in the
 * same directory removes those of processes that no longer exist on this host (and says so). Temporaries of
 * other hosts (a directory on shared storage) and of live processes are never touched. (A merge's output
 * temporaries, `.OUT.partial-…` beside the output, are the merge engine's: `removeStaleTemporaries` of `@x/merging`.)
 */
import { mkdtempSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { removeEntriesOfDeadProcesses } from "@x/tensor-core";

export type TemporaryKind = "candidates" | "model";

const HOST = hostname().replace(/[^A-Za-z0-9]/g, "_") || "host";

/** Creates `<parent>/.<kind>-<host>-<pid>-XXXXXX` and returns its path. */
export function createEvolveTemporary(parent: string, kind: TemporaryKind): string {
  return mkdtempSync(join(parent, `.${kind}-${HOST}-${process.pid}-`));
}

const PATTERN = /^\.(candidates|model)-([A-Za-z0-9_]+)-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Removes the temporaries in `parent` left by dead processes of this host (with `own`, this process's too: a
 * forced exit); returns the names removed.
 */
export function removeStaleEvolveTemporaries(parent: string, own = false): string[] {
  const ownerOf = (name: string) => {
    const m = PATTERN.exec(name);
    return m && m[2] === HOST ? Number(m[3]) : undefined;
  };
  return removeEntriesOfDeadProcesses(parent, ownerOf, { removeOwn: own }).sort();
}

/** True for a name `createEvolveTemporary` makes (of any host and process). */
export function isEvolveTemporary(name: string): boolean {
  return PATTERN.test(name);
}
