// Atomic output: the merge is written into a sibling temp directory and renamed into place at the end,
// so a failed or interrupted merge never leaves a half-written model at OUT_DIR.

import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { MergeInputError } from "../errors.js";

async function isNonEmptyDir(path: string): Promise<boolean | undefined> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) throw new MergeInputError(`output path ${path} exists and is not a directory`);
    return (await readdir(path)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Checks the output path and creates the temp directory next to it (same filesystem, so the final rename
 * is atomic). A non-empty existing output directory is an error unless `overwrite`.
 */
export async function prepareOutputDir(outDir: string, overwrite: boolean): Promise<string> {
  const abs = resolve(outDir);
  if ((await isNonEmptyDir(abs)) && !overwrite) {
    throw new MergeInputError(`output directory ${outDir} is not empty (use --overwrite to replace it)`);
  }
  await mkdir(dirname(abs), { recursive: true });
  const tmp = join(
    dirname(abs),
    `.${basename(abs)}.partial-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  await mkdir(tmp);
  return tmp;
}

/** Moves the finished temp directory to `outDir`, replacing an existing one (only if it may be replaced). */
export async function commitOutputDir(tmpDir: string, outDir: string, overwrite: boolean): Promise<void> {
  const abs = resolve(outDir);
  const existing = await isNonEmptyDir(abs);
  if (existing === undefined) {
    await rename(tmpDir, abs);
    return;
  }
  if (existing && !overwrite)
    throw new MergeInputError(`output directory ${outDir} appeared during the merge`);
  // Move the old directory aside first so there is never a moment without a complete model.
  const old = `${tmpDir}.old`;
  await rename(abs, old);
  await rename(tmpDir, abs);
  await rm(old, { recursive: true, force: true });
}
