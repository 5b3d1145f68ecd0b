import highsDefault from "highs";
import {
  checkLinearProgram,
  type LinearProgram,
  LpError,
  type LpSolution,
  type LpSolver,
  type LpStatus,
  type SolveOptions,
} from "./lp.js";

// highs ships a CommonJS-typed .d.ts: under NodeNext the default import types as the module
// object, at run time it is the loader function.
const loadHighs = highsDefault as unknown as typeof highsDefault.default;
type HighsRuntime = Awaited<ReturnType<typeof loadHighs>>;

let runtime: Promise<HighsRuntime> | undefined;

/** Status codes of HiGHS (ModelStatusCode) mapped onto the neutral ones. */
function mapStatus(code: number): LpStatus {
  if (code === 7) return "optimal";
  if (code === 8) return "infeasible";
  if (code === 9 || code === 10) return "unbounded";
  if (code >= 11 && code <= 17) return "limit";
  return "error";
}

/** HiGHS (MIT) compiled to wasm; structured CSC API, no LP text. */
export class HighsSolver implements LpSolver {
  readonly name = "highs" as const;

  private constructor(private readonly highs: HighsRuntime) {}

  static async create(): Promise<HighsSolver> {
    runtime ??= loadHighs();
    return new HighsSolver(await runtime);
  }

  solve(lp: LinearProgram, options: SolveOptions = {}): LpSolution {
    checkLinearProgram(lp);
    const h = this.highs;
    const inf = h.infinity;
    const clamp = (a: Float64Array) => a.map((v) => (v === Infinity ? inf : v === -Infinity ? -inf : v));
    const isMip = lp.integer?.some((v) => v === 1) === true;
    const data = {
      numCols: lp.numCols,
      numRows: lp.numRows,
      sense: lp.sense === "max" ? h.constants.objectiveSense.maximize : h.constants.objectiveSense.minimize,
      colCost: lp.colCost,
      colLower: clamp(lp.colLower),
      colUpper: clamp(lp.colUpper),
      rowLower: clamp(lp.rowLower),
      rowUpper: clamp(lp.rowUpper),
      matrix: {
        format: "csc" as const,
        numRows: lp.numRows,
        numCols: lp.numCols,
        starts: lp.matrix.starts,
        indices: lp.matrix.indices,
        values: lp.matrix.values,
      },
      ...(isMip ? { integrality: Int32Array.from(lp.integer!) as Int32Array } : {}),
    };
    try {
      return h.withModel(data, (model) => {
        const opts: Record<string, boolean | number | string> = { output_flag: false };
        const method = options.method ?? "auto";
        if (!isMip && method !== "auto") opts.solver = method;
        if (options.timeLimit !== undefined) opts.time_limit = options.timeLimit;
        if (isMip && options.mipGap !== undefined) opts.mip_rel_gap = options.mipGap;
        model.options.set(opts);
        const run = model.run();
        const status = mapStatus(run.modelStatus);
        const sol = model.getSolution();
        const objective = status === "optimal" || status === "limit" ? model.getObjectiveValue() : Number.NaN;
        return {
          status,
          objective,
          x: Float64Array.from(sol.colValue),
          ...(isMip ? {} : { rowDual: Float64Array.from(sol.rowDual) }),
        };
      });
    } catch (err) {
      throw new LpError(`HiGHS failed: ${(err as Error).message}`);
    }
  }
}
