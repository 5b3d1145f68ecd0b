import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { LIVE_BUNDLE_DIR, LIVE_BUNDLE_MANIFEST } from "@x/zoo/browser";
import { DemoServerError } from "./errors.js";

export { LIVE_BUNDLE_DIR };

/** One data file the page can read: its name in `data/` and where it is on disk. */
export interface DataFile {
  readonly name: string;
  readonly path: string;
}

/** The data folders, absolute; each must exist. */
export function resolveDataDirs(dataDir: string | readonly string[]): string[] {
  const dirs = (typeof dataDir === "string" ? [dataDir] : [...dataDir]).map((d) => resolve(d));
  if (dirs.length === 0) throw new DemoServerError("no data folder given");
  for (const d of dirs) {
    if (!existsSync(d)) throw new DemoServerError(`data folder ${d} does not exist`);
    if (!statSync(d).isDirectory()) throw new DemoServerError(`data folder ${d} is not a folder`);
  }
  return dirs;
}

/**
 * The `.json` files of the data folders, read now (a tour writing its results while the page is open
 * shows up on reload). On a name present in several folders the first folder wins, so a tour folder
 * listed before `bench/results` can override a committed file.
 */
export function listDataFiles(dirs: readonly string[]): DataFile[] {
  const seen = new Map<string, DataFile>();
  for (const dir of dirs)
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (
        entry.isFile() &&
        isPlainJsonName(entry.name) &&
        entry.name !== "index.json" &&
        !seen.has(entry.name)
      )
        seen.set(entry.name, { name: entry.name, path: join(dir, entry.name) });
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Only plain file names may be asked for: no folders, no dot files, no traversal. */
export function isPlainJsonName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*\.json$/.test(name) && !name.includes("..");
}

/**
 * The live-merge bundle (`<data folder>/live-merge/`, written by `writeLiveMergeBundle` of @x/zoo) of
 * the first data folder that has one (a bundle is used whole, never mixed across folders), or undefined.
 */
export function findLiveBundleDir(dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const bundle = join(dir, LIVE_BUNDLE_DIR);
    if (existsSync(join(bundle, LIVE_BUNDLE_MANIFEST)) && statSync(bundle).isDirectory()) return bundle;
  }
  return undefined;
}

/** The bundle's files (plain `.json` and `.bin` names; nothing in subfolders, no dot files), read now. */
export function listLiveBundleFiles(bundleDir: string): DataFile[] {
  return readdirSync(bundleDir, { withFileTypes: true })
    .filter((e) => e.isFile() && isPlainBundleName(e.name))
    .map((e) => ({ name: e.name, path: join(bundleDir, e.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Only plain names of bundle files may be asked for: `.json` or `.bin`, no folders, no dot files, no traversal. */
export function isPlainBundleName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*\.(json|bin)$/.test(name) && !name.includes("..");
}
