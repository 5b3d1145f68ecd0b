// `pnpm bench grid`: the identification experiment (topology / impedance sweeps on IEEE 13 / 37 / 69 and the
// glpk.js vs HiGHS comparison on the LAD LPs). The driver lives in the CLI (`x bench grid`), which writes
// bench/results/grid.{json,md} at the repo root; this file only runs it from the built dist.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const bin = `${root}apps/cli/dist/bin.js`;
if (!existsSync(bin)) {
  console.error(`grid bench: ${bin} not built (run pnpm build)`);
  process.exit(1);
}
const args = ["bench", "grid", ...process.argv.slice(2)];
const r = spawnSync(process.execPath, [bin, ...args], { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
