// `pnpm check:packages`: every publishable package packed exactly as `pnpm publish` would pack it, then
//   - no stale build output: every dist/**/*.js has its src/**/*.ts (a deleted source's old output would ship),
//   - publint --strict on the tarball (exports, types, files, ...),
//   - @arethetypeswrong/cli on the tarball, profile esm-only (the packages are ES modules; CommonJS
//     `require` is not offered).
// Exit code 1 on any finding. Needs a build (`pnpm build`).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { publishablePackages, root } from "./workspace.mjs";

const bin = (name) => join(root, "node_modules", ".bin", name);

/** dist/**\/*.js files whose src/**\/*.ts does not exist. */
export function staleOutputs(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js")) {
        const src = join(dir, "src", relative(join(dir, "dist"), p)).replace(/\.js$/, ".ts");
        if (!existsSync(src)) out.push(relative(dir, p));
      }
    }
  };
  if (existsSync(join(dir, "dist"))) walk(join(dir, "dist"));
  return out;
}

/** Packs `pkg` into `dest` with pnpm (workspace: ranges become versions) and returns the tarball path. */
export function pack(pkg, dest) {
  const before = new Set(readdirSync(dest));
  execFileSync("pnpm", ["pack", "--pack-destination", dest], {
    cwd: pkg.dir,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const made = readdirSync(dest).filter((f) => f.endsWith(".tgz") && !before.has(f));
  if (made.length !== 1) throw new Error(`pnpm pack in ${pkg.dir} made ${made.length} tarballs`);
  return join(dest, made[0]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dest = mkdtempSync(join(tmpdir(), "x-check-packages-"));
  const failures = [];
  try {
    for (const pkg of publishablePackages()) {
      const stale = staleOutputs(pkg.dir);
      if (stale.length)
        failures.push(`${pkg.name}: stale build output (rm -rf dist && pnpm build): ${stale.join(", ")}`);
      const tarball = pack(pkg, dest);
      for (const [tool, args] of [
        ["publint", ["run", tarball, "--strict"]],
        ["attw", [tarball, "--profile", "esm-only", "--format", "table-flipped"]],
      ]) {
        const r = spawnSync(bin(tool), args, { encoding: "utf8" });
        const ok = r.status === 0;
        console.log(`${ok ? "ok  " : "FAIL"} ${pkg.name}: ${tool}`);
        if (!ok) {
          console.log(`${r.stdout}${r.stderr}`);
          failures.push(`${pkg.name}: ${tool}`);
        }
      }
    }
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
  if (failures.length) {
    console.error(`\n${failures.length} problem(s):\n  ${failures.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`\nall ${publishablePackages().length} publishable packages pass publint and attw`);
}
