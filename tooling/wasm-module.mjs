// The WebAssembly convention's shared steps (CONTRIBUTING.md, "WebAssembly"): the committed TypeScript
// module that holds a .wasm as base64, and the write-or-check ending of every build:wasm script.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

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
