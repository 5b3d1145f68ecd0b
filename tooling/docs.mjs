// `pnpm run docs` (plain `pnpm docs` is a pnpm command of its own): TypeDoc API reference of every library package, from the entry points its `exports` map
// names, into packages/<name>/docs/api/index.html (generated, not committed; each README names the path). The
// README is the site's front page and docs/*.md its documents, so a README links files, never docs/api or docs/.
// `pnpm run docs -- <name>...` builds some packages only. Exit code 1 when TypeDoc reports an error;
// warnings (a documented type that mentions an unexported one) are printed and counted.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { root, workspacePackages } from "./workspace.mjs";

const only = process.argv.slice(2);
const pkgs = workspacePackages().filter(
  (p) => p.group === "packages" && (only.length === 0 || only.some((o) => p.name.endsWith(o))),
);
/** Terminal colour codes, removed from TypeDoc's output before it is counted and printed. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
/**
 * "Defined in" links point at the repository's web host; a clone whose origin is no such host (a local path, as
 * in CI, or none) gets pages without them instead of TypeDoc's warning on every package.
 */
const origin = spawnSync("git", ["remote", "get-url", "origin"], { cwd: root, encoding: "utf8" });
const sourceLinks =
  origin.status === 0 && /^(https:\/\/|git@)(github|gitlab|bitbucket)\./.test(origin.stdout.trim());
let errors = 0;
let warnings = 0;
for (const pkg of pkgs) {
  // dist/a/index.js -> src/a/index.ts (tsconfig: rootDir src, outDir dist)
  const entries = Object.values(pkg.exports).map((f) =>
    f.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"),
  );
  const out = join(pkg.dir, "docs", "api");
  const docs = existsSync(join(pkg.dir, "docs"))
    ? readdirSync(join(pkg.dir, "docs")).filter((f) => f.endsWith(".md"))
    : [];
  const args = [
    ...entries.flatMap((e) => ["--entryPoints", e]),
    "--tsconfig",
    "tsconfig.json",
    "--out",
    out,
    "--name",
    pkg.name,
    "--readme",
    "README.md",
    // docs/*.md (derivations, formats) become pages of the site, so the README's links to them open the rendered
    // page; the single entry point stays the site's root (documents would otherwise push it into a module).
    ...(docs.length ? ["--projectDocuments", "docs/*.md", "--alwaysCreateEntryPointModule", "false"] : []),
    ...(sourceLinks ? [] : ["--disableSources"]),
    "--excludePrivate",
    "--excludeInternal",
    "--logLevel",
    "Warn",
  ];
  const r = spawnSync(join(root, "node_modules", ".bin", "typedoc"), args, {
    cwd: pkg.dir,
    encoding: "utf8",
  });
  const text = `${r.stdout}${r.stderr}`.replace(ANSI, "");
  const w = (text.match(/\[warning\](?! Found)/g) ?? []).length;
  warnings += w;
  if (r.status !== 0) {
    errors++;
    console.log(`FAIL ${pkg.name}\n${text}`);
  } else {
    console.log(`ok   ${pkg.name}: ${relative(root, out)}/index.html${w ? ` (${w} warnings)` : ""}`);
    if (w) console.log(text.trim().replace(/^/gm, "       "));
  }
}
console.log(`\nAPI docs for ${pkgs.length} packages, ${errors} failed, ${warnings} warnings`);
process.exit(errors ? 1 : 0);
