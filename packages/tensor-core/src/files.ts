// Files written whole: a temporary sibling (`.<name>.<pid>.<random>.tmp`, the naming of every atomic write in
// this package, safetensors writers included) renamed into place, and the clean-up of the temporaries that a
// process killed while writing leaves behind.

import { closeSync, fsyncSync, openSync, readdirSync, rmSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { syncDirectory } from "./safetensors/sync-dir.js";
import { tempPathFor } from "./safetensors/writer.js";

/** Whether process `pid` of this host is alive (one of another user counts as alive). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes from `dir` the temporaries of atomic writes (`.<name>.<pid>.<random>.tmp`) left by processes that were
 * killed while writing; those of live processes and of this one stay. A missing directory is not an error.
 * Returns the names removed.
 */
export function removeDeadTemporaries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMPORARY.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    rmSync(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

export interface AtomicWriteOptions {
  /** fsync the data before the rename and the directory after it (default false). */
  readonly durable?: boolean;
}

/**
 * Writes `data` to `path` whole or not at all: into a temporary sibling, renamed into place. Readers see the old
 * file or the new one, never a part; a failed write removes its temporary.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, data);
    if (options.durable) {
      const fd = openSync(tmp, "r+");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (options.durable) await syncDirectory(dirname(path));
}
