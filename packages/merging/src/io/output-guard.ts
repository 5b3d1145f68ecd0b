// Guards of a merge's output directory, checked before any work: it must not be, contain or lie inside
// an input (even with overwrite: replacing it would destroy the input); it is locked while a merge
// writes it (a lock file with pid and host beside it), so a second merge to the same output fails
// instead of racing; and temporaries that killed merges left beside it are removed.

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { outputOverlap, processAlive, realPathOf } from "@x/tensor-core";
import { OutputDirError, OutputLockedError } from "../errors.js";
import { onInterrupt } from "./interrupt.js";

export interface OutputCheckOptions {
  /** Paths of every input (model directories or .safetensors files), resolved already. */
  readonly inputs: readonly string[];
  /** Replace an existing non-empty output directory. */
  readonly overwrite?: boolean;
}

/**
 * Checks `outDir` before a merge: an existing path must be a directory, empty unless `overwrite`, and
 * the output must not be, contain or lie inside any input (refused even with `overwrite`). Throws an
 * OutputDirError naming the paths.
 */
export async function checkOutputDir(outDir: string, options: OutputCheckOptions): Promise<void> {
  const out = realPathOf(outDir);
  for (const input of options.inputs) {
    const how = outputOverlap(outDir, input);
    if (how) {
      throw new OutputDirError(
        `output directory ${outDir} ${how} the input ${input}; choose an output outside every input (refused even with overwrite, which would replace the input)`,
      );
    }
  }
  let s: Awaited<ReturnType<typeof stat>>;
  try {
    s = await stat(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!s.isDirectory()) throw new OutputDirError(`output path ${outDir} exists and is not a directory`);
  if (!options.overwrite && (await readdir(out)).length > 0) {
    throw new OutputDirError(
      `output directory ${outDir} is not empty (use overwrite, x merge --overwrite, to replace it)`,
    );
  }
}

// -- lock ----------------------------------------------------------------------------------------

interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  readonly token: string;
}

/** The lock file of output `outDir`: beside it, since the output itself appears by rename at the end. */
export function lockPathOf(outDir: string): string {
  const abs = resolve(outDir);
  return join(dirname(abs), `.${basename(abs)}.merge-lock`);
}

export interface OutputLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Takes the lock of `outDir`. A lock of a live process (this one included: two merges to one output),
 * or of another host, is an OutputLockedError naming it; a lock left by a dead process of this host is
 * taken over with a notice. The lock file goes away on release, and on SIGINT / SIGTERM / exit.
 */
export async function acquireOutputLock(
  outDir: string,
  onNotice?: (message: string) => void,
): Promise<OutputLock> {
  const path = lockPathOf(outDir);
  const info: LockInfo = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
    token: randomBytes(8).toString("hex"),
  };
  await mkdir(dirname(path), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      // Synchronous, with the interrupt cleanup registered right after it: no await between them, where SIGINT /
      // SIGTERM would find a lock file that nothing removes.
      writeFileSync(path, `${JSON.stringify(info)}\n`, { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST")
          throw new OutputLockedError(
            `output directory ${outDir} is locked by another merge that started at the same moment (${path})`,
          );
        throw err;
      }
      let other: LockInfo | undefined;
      try {
        other = JSON.parse(await readFile(path, "utf8")) as LockInfo;
      } catch {
        other = undefined;
      }
      const sameHost = other?.host === hostname();
      if (other && (!sameHost || processAlive(other.pid))) {
        throw new OutputLockedError(
          `output directory ${outDir} is being written by another merge (pid ${other.pid} on ${other.host}, started ${other.started}); wait for it, or remove ${path} if that merge is gone`,
        );
      }
      // A dead process of this host, or a lock file it did not finish writing: take it over.
      await unlink(path).catch(() => {});
      onNotice?.(
        other
          ? `took over the stale lock of output ${outDir}: process ${other.pid} (started ${other.started}) is gone`
          : `took over an unreadable lock file of output ${outDir} (${path})`,
      );
    }
  }
  const dropInterrupt = onInterrupt(() => {
    removeLockSync(path, info.token);
  });
  let released = false;
  return {
    path,
    release: async () => {
      if (released) return;
      released = true;
      dropInterrupt();
      try {
        const now = JSON.parse(await readFile(path, "utf8")) as LockInfo;
        if (now.token === info.token) await unlink(path);
      } catch {
        // Already gone.
      }
    },
  };
}

function removeLockSync(path: string, token: string): void {
  try {
    const now = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
    if (now.token === token) unlinkSync(path);
  } catch {
    // Already gone.
  }
}

// -- temporaries -----------------------------------------------------------------------------------

/** The temporaries of output `outDir`: `.OUT.partial-<pid>-<hex>` (and their `.old` and `.removing` companions). */
const PARTIAL = /^\.(.+)\.partial-(\d+)-[0-9a-f]+(\.old|\.removing)?$/;

/** Name of the file inside a temporary that records its owner (pid and host). */
export const OWNER_FILE = ".x-merge-owner";

/**
 * Removes temporaries that merges to `outDir` left behind when they were killed: those of processes of
 * this host that are no longer alive. Returns their paths (for a notice).
 */
export async function removeStaleTemporaries(outDir: string): Promise<string[]> {
  const abs = resolve(outDir);
  const parent = dirname(abs);
  const name = basename(abs);
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const e of entries) {
    const m = PARTIAL.exec(e);
    if (!m || m[1] !== name) continue;
    const pid = Number(m[2]);
    const path = join(parent, e);
    let host = hostname();
    try {
      host = (JSON.parse(await readFile(join(path, OWNER_FILE), "utf8")) as { host: string }).host;
    } catch {
      // No owner file (or a plain file): the pid in the name is all there is.
    }
    if (host !== hostname() || pid === process.pid || processAlive(pid)) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

/** Synchronous removal of a temporary (for interrupt handlers). */
export function removeTemporarySync(path: string): void {
  // Run from a signal handler, this races the merge's own writes still in flight on libuv's threads: files created
  // inside while it walks the directory fail the final rmdir (ENOTEMPTY). Renamed away first, the path is gone for
  // every later create; what was already under way lands in the renamed directory, which is walked again.
  let target = path;
  try {
    renameSync(path, `${path}.removing`);
    target = `${path}.removing`;
  } catch {
    // already gone, or not renamable: remove it where it is
  }
  for (let attempt = 1; ; attempt++) {
    try {
      rmSync(target, { recursive: true, force: true });
      return;
    } catch (err) {
      if (attempt >= 50) throw err;
    }
  }
}

/** Names of the temporaries of `outDir` present now (tests, reports). */
export function listTemporariesSync(outDir: string): string[] {
  const abs = resolve(outDir);
  try {
    return readdirSync(dirname(abs)).filter((e) => PARTIAL.exec(e)?.[1] === basename(abs));
  } catch {
    return [];
  }
}
