// The WebAssembly convention's shared steps (CONTRIBUTING.md, "WebAssembly"): the committed TypeScript
// module that holds a .wasm as base64, and the write-or-check ending of every build:wasm script.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The one wabt version every .wat in the repository is compiled with (each package's package.json pins it). */
export const PINNED_WABT = "1.0.39";

/**
 * Compiles WebAssembly text (SIMD enabled) to module bytes with the `wabt` installed for the package at
 * `packageUrl` (wabt is a dev dependency of the packages that own .wat files, not of the root), refusing any
 * version but PINNED_WABT so that rebuilt bytes match the committed ones.
 */
export async function compileWat(packageUrl, fileName, source) {
  const require = createRequire(packageUrl);
  const { version } = require("wabt/package.json");
  if (version !== PINNED_WABT) {
    throw new Error(`wabt is ${version}, not ${PINNED_WABT}: run pnpm install (package.json pins it)`);
  }
  const wabt = await require("wabt")();
  const mod = wabt.parseWat(fileName, source, { simd: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** TypeScript source: `comment`, then `export const <name> = "<base64>"` split over lines (plus `extra` lines). */
export function base64Module(comment, name, bytes, extra = []) {
  const lines = Buffer.from(bytes)
    .toString("base64")
    .match(/.{1,100}/g)
    .map((l) => `  "${l}"`);
  return [`// ${comment}`, ...extra, `export const ${name} =`, `${lines.join(" +\n")};`, ""].join("\n");
}

/**
 * Writes `text` to `out`, or with `--check` on the command line compares it with the committed file and
 * exits 1 when they differ (`rebuild` names the command that regenerates it).
 */
export function writeOrCheck(out, text, rebuild) {
  const path = fileURLToPath(out);
  const shown = path.slice(path.lastIndexOf("/src/") + 1);
  if (!process.argv.includes("--check")) {
    writeFileSync(out, text);
    return;
  }
  if (readFileSync(out, "utf8") !== text) {
    console.error(
      `${shown} differs from a rebuild with the pinned toolchain: run ${rebuild} and commit the result`,
    );
    process.exit(1);
  }
  console.log(`${shown} matches its source`);
}
