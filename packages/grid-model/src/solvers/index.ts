import { GlpkSolver } from "./glpk.js";
import { HighsSolver } from "./highs.js";
import type { LpSolver, SolverName } from "./lp.js";

export { GlpkSolver } from "./glpk.js";
export { HighsSolver } from "./highs.js";
export * from "./lp.js";

/**
 * Default LP backend: HiGHS. Chosen by the LAD benchmark (bench/results/grid.md): faster than
 * glpk.js on every LAD size, and MIT-licensed.
 */
export const DEFAULT_SOLVER: SolverName = "highs";

/** Loads a backend by name; glpk.js is imported lazily (optional GPL-3.0 peer dependency). */
export async function createLpSolver(name: SolverName = DEFAULT_SOLVER): Promise<LpSolver> {
  if (name === "highs") return HighsSolver.create();
  if (name === "glpk") return GlpkSolver.create();
  throw new Error(`unknown LP solver '${String(name)}' (expected highs or glpk)`);
}
