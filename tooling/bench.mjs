// Runs every package's benchmarks (bench/*.bench.mjs) in sequence, or those whose path contains argv[2].
// Each benchmark writes its own results to bench/results/<name>.{json,md} at the repo root.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const filter = process.argv[2] ?? "";
const files = [];
for (const group of ["packages", "apps"]) {
  for (const pkg of readdirSync(join(root, group))) {
    const dir = join(root, group, pkg, "bench");
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith(".bench.mjs")) files.push(join(dir, f));
  }
}
let failed = 0;
for (const f of files.filter((f) => f.includes(filter))) {
  console.log(`\n== ${f.slice(root.length)}`);
  const r = spawnSync(process.execPath, ["--expose-gc", f], { stdio: "inherit", cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
