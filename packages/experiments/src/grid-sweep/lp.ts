/** glpk.js vs HiGHS (dual and primal forms) on the per-branch LAD LPs of one simulated data set. */
import type { Feeder, LpSolver, SmartMeterData } from "@x/grid-model";
import type { SweepContext } from "./cells.js";
import { sampleBranches, sliceSamples } from "./data.js";
import type { SweepPlan } from "./plan.js";
import { type LpCell, median } from "./types.js";

export function runLpComparison(
  ctx: SweepContext,
  d: SmartMeterData,
  f: Feeder,
  plan: SweepPlan,
  lp: LpCell[],
): void {
  const { grid, highs, glpk } = ctx;
  const branchSamples = sampleBranches(grid, d, f, plan.lpBranches);
  const limit = plan.lpTimeLimit;
  const sizes = plan.lpPrefix === null ? [d.samples] : [plan.lpPrefix, d.samples];
  for (const T of sizes) {
    const subset = branchSamples.map((s) => sliceSamples(s, T));
    const contenders: [string, LpSolver | undefined, "dual" | "primal"][] = [
      ["highs", highs, "dual"],
      ["glpk", glpk, "dual"],
      ["highs", highs, "primal"],
      // glpk's simplex on the primal form takes minutes per LP beyond a few thousand rows.
      ...(T <= 2880 ? ([["glpk", glpk, "primal"]] as [string, LpSolver | undefined, "primal"][]) : []),
    ];
    const ref = subset.map((s) => grid.fitBranchLad(s, highs).loss);
    for (const [sname, solver, form] of contenders) {
      if (!solver) continue;
      const times: number[] = [];
      let lps = 0;
      let maxDiff = 0;
      let failed = 0;
      subset.forEach((s, k) => {
        const t0 = performance.now();
        try {
          const fit = grid.fitBranchLad(s, solver, { form, timeLimit: limit });
          times.push(performance.now() - t0);
          lps += fit.iterations;
          maxDiff = Math.max(maxDiff, Math.abs(fit.loss - ref[k]!) / Math.max(ref[k]!, 1e-300));
        } catch {
          failed++; // an LP hit the time limit (or failed)
        }
      });
      lp.push({
        samples: T,
        solver: sname,
        form,
        branches: subset.length,
        failed,
        timeLimitS: limit,
        medianMs: median(times),
        meanLpPerFit: times.length ? lps / times.length : Number.NaN,
        maxRelLossDiff: maxDiff,
      });
      ctx.log(
        `[lp] T=${T} ${sname}/${form}: median ${median(times).toFixed(0)} ms per branch fit, ${failed} over the ${limit} s limit`,
      );
      ctx.checkpoint();
    }
  }
}
