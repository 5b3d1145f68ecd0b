// `pnpm check:install`: what an npm user gets. Packs every publishable package, installs the tarballs with
// npm into a new project outside the workspace (with the packages' peer dependencies, optional ones too, so
// that subpaths such as @x/tensor-core/tfjs can load), and imports every entry point of every package's
// `exports` map in a fresh Node process, which must find a non-empty module. Exit code 1 on any failure.
// Needs a build.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "./check-packages.mjs";
import { publishablePackages } from "./workspace.mjs";

/**
 * Every peer dependency of the packages (optional ones too: a user who imports `@x/tensor-core/tfjs` or
 * `@x/evolution/distributed` installs them), at the version the workspace pins in devDependencies when it
 * does, else the declared range.
 */
function peers(pkgs) {
  const out = new Map();
  for (const p of pkgs) {
    for (const [name, range] of Object.entries(p.json.peerDependencies ?? {})) {
      if (name.startsWith("@x/")) continue;
      out.set(name, p.json.devDependencies?.[name] ?? range);
    }
  }
  return [...out].map(([name, version]) => `${name}@${version}`);
}

const work = mkdtempSync(join(tmpdir(), "x-pack-install-"));
let failed = 0;
try {
  const tarballs = join(work, "tarballs");
  const project = join(work, "project");
  execFileSync("mkdir", ["-p", tarballs, project]);
  const pkgs = publishablePackages();
  const files = pkgs.map((p) => pack(p, tarballs));
  const PEERS = peers(pkgs);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "x-install-check", private: true, type: "module" }),
  );
  const t0 = Date.now();
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...files, ...PEERS], {
    cwd: project,
    stdio: ["ignore", "inherit", "inherit"],
  });
  console.log(
    `npm installed ${files.length} tarballs (+ ${PEERS.length} peers) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  for (const pkg of pkgs) {
    for (const spec of pkg.specifiers) {
      const code = `const m = await import(${JSON.stringify(spec)}); const n = Object.keys(m).length; if (!n) throw new Error("no exports"); console.log(n);`;
      const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], {
        cwd: project,
        encoding: "utf8",
      });
      if (r.status === 0) console.log(`ok   import ${spec} (${r.stdout.trim().split("\n").pop()} exports)`);
      else {
        failed++;
        console.log(`FAIL import ${spec}\n${r.stderr}`);
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failed) {
  console.error(`${failed} entry point(s) failed to import from the installed tarballs`);
  process.exit(1);
}
console.log("every entry point of every publishable package imports from its npm tarball");
