// Atomic output: the merge is written into a sibling temp directory and renamed into place at the end,
// so a failed or interrupted merge never leaves a half-written model at OUT_DIR. The temp directory
// is removed on error, on SIGINT / SIGTERM, and (when the process was killed outright) by the next
// merge to the same output (see output-guard.ts).

import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync } from "node:fs";
import { mkdir, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { OutputDirError } from "../errors.js";
import { onInterrupt } from "./interrupt.js";
import { OWNER_FILE, removeTemporarySync } from "./output-guard.js";

async function isNonEmptyDir(path: string): Promise<boolean | undefined> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) throw new OutputDirError(`output path ${path} exists and is not a directory`);
    return (await readdir(path)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** An output being written: a temp directory beside `outDir`, committed by rename or discarded. */
export class StagedOutput {
  private done = false;

  private constructor(
    readonly outDir: string,
    /** The temp directory the output is written into. */
    readonly dir: string,
    private readonly overwrite: boolean,
    private readonly dropInterrupt: () => void,
  ) {}

  /**
   * Checks the output path and creates the temp directory next to it (same filesystem, so the final
   * rename is atomic). A non-empty existing output directory is an error unless `overwrite`.
   */
  static async create(outDir: string, overwrite: boolean): Promise<StagedOutput> {
    const abs = resolve(outDir);
    if ((await isNonEmptyDir(abs)) && !overwrite) {
      throw new OutputDirError(
        `output directory ${outDir} is not empty (use overwrite, x merge --overwrite, to replace it)`,
      );
    }
    await mkdir(dirname(abs), { recursive: true });
    const tmp = join(
      dirname(abs),
      `.${basename(abs)}.partial-${process.pid}-${randomBytes(4).toString("hex")}`,
    );
    const dropInterrupt = onInterrupt(() => {
      removeTemporarySync(tmp);
      removeTemporarySync(`${tmp}.old`);
    });
    try {
      // Synchronous, like the renames of commit(): an interrupt handler runs between JS tasks, so it never meets
      // one of these half done on libuv's threads (an async mkdir finishing after the handler's cleanup left the
      // temp directory behind).
      mkdirSync(tmp);
      // Who owns it, for the stale-temporary cleanup of a later merge (removed before the commit).
      await writeFile(join(tmp, OWNER_FILE), `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`);
    } catch (err) {
      dropInterrupt();
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return new StagedOutput(outDir, tmp, overwrite, dropInterrupt);
  }

  /** Moves the finished temp directory to `outDir`, replacing an existing one (only if it may be replaced). */
  async commit(): Promise<void> {
    const abs = resolve(this.outDir);
    await unlink(join(this.dir, OWNER_FILE));
    const existing = await isNonEmptyDir(abs);
    if (existing === undefined) {
      renameSync(this.dir, abs);
    } else {
      if (existing && !this.overwrite)
        throw new OutputDirError(`output directory ${this.outDir} appeared during the merge`);
      // Move the old directory aside first so there is never a moment without a complete model.
      const old = `${this.dir}.old`;
      renameSync(abs, old);
      renameSync(this.dir, abs);
      await rm(old, { recursive: true, force: true });
    }
    this.done = true;
    this.dropInterrupt();
  }

  /** Removes the temp directory (after an error); nothing happens once committed. */
  async discard(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await rm(this.dir, { recursive: true, force: true });
    this.dropInterrupt();
  }
}
