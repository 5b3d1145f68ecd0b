import { existsSync, readdirSync } from "node:fs";
import { cp, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { checkAppDir, defaultAppDir } from "./app-dir.js";
import {
  findLiveBundleDir,
  LIVE_BUNDLE_DIR,
  listDataFiles,
  listLiveBundleFiles,
  resolveDataDirs,
} from "./data-dirs.js";
import { DemoServerError } from "./errors.js";

export interface ExportStaticDemoOptions {
  /** Folder(s) whose `.json` files go into the copy (first wins on a name clash). */
  readonly dataDir: string | readonly string[];
  /** Where the copy goes; must be empty or absent unless `overwrite`. */
  readonly outDir: string;
  /** Replace a non-empty `outDir`. Default false. */
  readonly overwrite?: boolean;
  /** The built page; default `dist/page` of this package. */
  readonly appDir?: string;
}

export interface StaticDemoExport {
  readonly outDir: string;
  /** Data files copied into `outDir/data`. */
  readonly dataFiles: readonly string[];
  /** Files of the live-merge bundle copied into `outDir/data/live-merge` (empty without a bundle). */
  readonly liveBundleFiles: readonly string[];
}

const inside = (child: string, parent: string) => {
  const r = relative(parent, child);
  return r === "" || (!r.startsWith("..") && !r.startsWith(sep) && r !== "..");
};

/**
 * Writes a self-contained copy of the page with its data: `index.html`, `assets/` (scripts, styles,
 * fonts) and `data/` (the JSON files, `data/index.json` and the live-merge bundle in `data/live-merge/` when a data
 * folder has one). Any static file server can serve the
 * folder. The copy is written beside `outDir` under a temporary name and renamed into place, so a
 * failed export leaves nothing half-written; it never writes into or over an input.
 */
export async function exportStaticDemo(options: ExportStaticDemoOptions): Promise<StaticDemoExport> {
  const appDir = resolve(options.appDir ?? defaultAppDir());
  checkAppDir(appDir);
  const dataDirs = resolveDataDirs(options.dataDir);
  const outDir = resolve(options.outDir);
  for (const input of [appDir, ...dataDirs])
    if (inside(outDir, input) || inside(input, outDir))
      throw new DemoServerError(
        `output folder ${outDir} overlaps the input ${input}; choose a folder outside it`,
      );
  if (existsSync(outDir) && readdirSync(outDir).length > 0 && !options.overwrite)
    throw new DemoServerError(`output folder ${outDir} is not empty (pass overwrite to replace it)`);

  const parent = dirname(outDir);
  await mkdir(parent, { recursive: true });
  await removeStaleTemporaries(parent, basename(outDir));
  const tmp = join(parent, `${basename(outDir)}.tmp-${process.pid}-${Date.now().toString(36)}`);
  const files = listDataFiles(dataDirs);
  const bundleDir = findLiveBundleDir(dataDirs);
  const bundleFiles = bundleDir ? listLiveBundleFiles(bundleDir) : [];
  try {
    await cp(appDir, tmp, { recursive: true });
    await mkdir(join(tmp, "data"), { recursive: true });
    for (const f of files) await cp(f.path, join(tmp, "data", f.name));
    if (bundleFiles.length > 0) {
      await mkdir(join(tmp, "data", LIVE_BUNDLE_DIR));
      for (const f of bundleFiles) await cp(f.path, join(tmp, "data", LIVE_BUNDLE_DIR, f.name));
    }
    await writeFile(
      join(tmp, "data", "index.json"),
      `${JSON.stringify({ files: files.map((f) => f.name), liveBundle: bundleFiles.length > 0 })}\n`,
    );
    if (existsSync(outDir)) {
      const old = join(parent, `${basename(outDir)}.old-${process.pid}-${Date.now().toString(36)}`);
      await rename(outDir, old);
      await rename(tmp, outDir);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(tmp, outDir);
    }
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e instanceof DemoServerError
      ? e
      : new DemoServerError(
          `cannot write the static demo to ${outDir}: ${e instanceof Error ? e.message : String(e)}`,
        );
  }
  return { outDir, dataFiles: files.map((f) => f.name), liveBundleFiles: bundleFiles.map((f) => f.name) };
}

/** Temporaries (`<name>.tmp-<pid>-…`, `<name>.old-<pid>-…`) left by exports whose process died. */
async function removeStaleTemporaries(parent: string, name: string): Promise<void> {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(tmp|old)-(\\d+)-[a-z0-9]+$`);
  for (const entry of await readdir(parent)) {
    const m = pattern.exec(entry);
    if (m && !isAlive(Number(m[2]))) await rm(join(parent, entry), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
