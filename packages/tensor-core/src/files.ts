// Files written whole: a temporary sibling (`.<name>.<pid>.<random>.tmp`, the naming of every atomic write in
// this package, safetensors writers included) renamed into place, and the clean-up of the temporaries that a
// process killed while writing leaves behind.

import { once } from "node:events";
import {
  closeSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
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
 * Removes the entries of `dir` (files or whole folders) that belong to processes of this host that no longer
 * run: `ownerOf(name)` gives the pid that owns an entry, or undefined for an entry that is not such a temporary
 * (or belongs to another host). This process's own entries stay unless `removeOwn`. A missing directory is not
 * an error. Returns the names removed, in directory order.
 */
export function removeEntriesOfDeadProcesses(
  dir: string,
  ownerOf: (name: string) => number | undefined,
  options: { readonly removeOwn?: boolean } = {},
): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = ownerOf(name);
    if (pid === undefined || (pid === process.pid ? !options.removeOwn : processAlive(pid))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Removes from `dir` the temporaries of atomic writes (`.<name>.<pid>.<random>.tmp`) left by processes that were
 * killed while writing; those of live processes and of this one stay. A missing directory is not an error.
 * Returns the names removed.
 */
export function removeDeadTemporaries(dir: string): string[] {
  return removeEntriesOfDeadProcesses(dir, (name) => {
    const m = TEMPORARY.exec(name);
    return m ? Number(m[1]) : undefined;
  });
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

/**
 * `writeFileAtomic` for text made line by line: each line and a newline are streamed into the temporary (bounded
 * memory) and the temporary is renamed into place at the end. The first line is taken before the temporary is
 * created, so a generator that checks its input before its first line fails without leaving a file.
 */
export async function writeLinesAtomic(path: string, lines: Iterable<string>): Promise<void> {
  const it = lines[Symbol.iterator]();
  let next = it.next();
  const tmp = tempPathFor(path);
  const out = createWriteStream(tmp, { encoding: "utf8" });
  try {
    for (; !next.done; next = it.next()) if (!out.write(`${next.value}\n`)) await once(out, "drain");
    out.end();
    await once(out, "finish");
    await rename(tmp, path);
  } catch (err) {
    // The writes still queued fail with the stream (nothing more to report), and the temporary is removed only once
    // the file is closed: removed earlier, a still pending open would create it again.
    out.on("error", () => {});
    out.destroy();
    if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
    await rm(tmp, { force: true });
    throw err;
  }
}

/** `writeFileAtomic` for synchronous code (result files written at the end of a run): the same naming and rules. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * The real path of `p` (symlinks resolved); for a path that does not exist yet, its nearest existing ancestor's
 * real path plus the rest. Comparing real paths, a symlink cannot smuggle an output into an input.
 */
export function realPathOf(p: string): string {
  let at = resolve(p);
  const rest: string[] = [];
  while (!existsSync(at) && dirname(at) !== at) {
    rest.unshift(at.slice(dirname(at).length + 1));
    at = dirname(at);
  }
  return resolve(realpathSync(at), ...rest);
}

/** Whether `child` is `parent` or lies inside it (both absolute and normalized, e.g. from `realPathOf`). */
export function pathWithin(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return r === "" || (!r.startsWith(`..${sep}`) && r !== ".." && !r.startsWith(sep));
}

/**
 * How output `out` overlaps input `input` (real paths compared): it `is` the input, `lies inside` it, `contains`
 * it, or null when they are apart. An overlapping output must be refused: writing it would change an input.
 */
export function outputOverlap(out: string, input: string): "is" | "lies inside" | "contains" | null {
  const o = realPathOf(out);
  const i = realPathOf(input);
  if (o === i) return "is";
  if (pathWithin(o, i)) return "lies inside";
  if (pathWithin(i, o)) return "contains";
  return null;
}
