import {
  checkLinearProgram,
  type LinearProgram,
  LpError,
  type LpSolution,
  type LpSolver,
  type LpStatus,
  type SolveOptions,
  SolverUnavailableError,
} from "./lp.js";

// glpk.js is GPL-3.0 and an optional peer dependency: type it locally and import it only on
// demand, so the package neither bundles nor requires it.
interface GlpkVar {
  name: string;
  coef: number;
}
interface GlpkLp {
  name: string;
  objective: { direction: number; name: string; vars: GlpkVar[] };
  subjectTo: { name: string; vars: GlpkVar[]; bnds: { type: number; ub: number; lb: number } }[];
  bounds: { name: string; type: number; ub: number; lb: number }[];
  generals?: string[];
}
interface GlpkResult {
  result: { status: number; z: number; vars: Record<string, number>; dual?: Record<string, number> };
}
interface GlpkApi {
  readonly GLP_MIN: number;
  readonly GLP_MAX: number;
  readonly GLP_FR: number;
  readonly GLP_LO: number;
  readonly GLP_UP: number;
  readonly GLP_DB: number;
  readonly GLP_FX: number;
  readonly GLP_MSG_OFF: number;
  readonly GLP_OPT: number;
  readonly GLP_FEAS: number;
  readonly GLP_NOFEAS: number;
  readonly GLP_UNBND: number;
  solve(
    lp: GlpkLp,
    options?: { msglev?: number; tmlim?: number; mipgap?: number; presol?: boolean },
  ): GlpkResult;
}

let runtime: Promise<GlpkApi> | undefined;

async function loadGlpk(): Promise<GlpkApi> {
  // A variable specifier keeps TypeScript from requiring the optional module at build time.
  const specifier = "glpk.js/node";
  let mod: { default: () => Promise<GlpkApi> };
  try {
    mod = (await import(specifier)) as { default: () => Promise<GlpkApi> };
  } catch (err) {
    throw new SolverUnavailableError(
      `the glpk backend needs the optional peer dependency glpk.js (GPL-3.0): install it with 'pnpm add glpk.js@5' (${(err as Error).message})`,
    );
  }
  return mod.default();
}

/** Bound type code for GLPK from a (lower, upper) pair. */
function boundType(g: GlpkApi, lo: number, hi: number): { type: number; lb: number; ub: number } {
  const hasLo = lo !== -Infinity;
  const hasHi = hi !== Infinity;
  if (hasLo && hasHi) return { type: lo === hi ? g.GLP_FX : g.GLP_DB, lb: lo, ub: hi };
  if (hasLo) return { type: g.GLP_LO, lb: lo, ub: 0 };
  if (hasHi) return { type: g.GLP_UP, lb: 0, ub: hi };
  return { type: g.GLP_FR, lb: 0, ub: 0 };
}

/** glpk.js 5 (GPL-3.0, optional): GLPK's simplex and branch-and-cut compiled to wasm. */
export class GlpkSolver implements LpSolver {
  readonly name = "glpk" as const;

  private constructor(private readonly glpk: GlpkApi) {}

  static async create(): Promise<GlpkSolver> {
    runtime ??= loadGlpk();
    try {
      return new GlpkSolver(await runtime);
    } catch (err) {
      runtime = undefined;
      throw err;
    }
  }

  solve(lp: LinearProgram, options: SolveOptions = {}): LpSolution {
    checkLinearProgram(lp);
    const g = this.glpk;
    const colName = (j: number) => `c${j}`;
    const rows: GlpkVar[][] = Array.from({ length: lp.numRows }, () => []);
    const { starts, indices, values } = lp.matrix;
    for (let j = 0; j < lp.numCols; j++) {
      for (let k = starts[j]!; k < starts[j + 1]!; k++)
        rows[indices[k]!]!.push({ name: colName(j), coef: values[k]! });
    }
    const objVars: GlpkVar[] = [];
    const bounds: GlpkLp["bounds"] = [];
    const generals: string[] = [];
    for (let j = 0; j < lp.numCols; j++) {
      // Every column must appear in the objective for GLPK to know it, even at cost 0.
      objVars.push({ name: colName(j), coef: lp.colCost[j]! });
      bounds.push({ name: colName(j), ...boundType(g, lp.colLower[j]!, lp.colUpper[j]!) });
      if (lp.integer?.[j] === 1) generals.push(colName(j));
    }
    const model: GlpkLp = {
      name: "lp",
      objective: { direction: lp.sense === "max" ? g.GLP_MAX : g.GLP_MIN, name: "obj", vars: objVars },
      subjectTo: rows.map((vars, i) => ({
        name: `r${i}`,
        vars,
        bnds: boundType(g, lp.rowLower[i]!, lp.rowUpper[i]!),
      })),
      bounds,
      ...(generals.length > 0 ? { generals } : {}),
    };
    const run = (presol: boolean): GlpkResult => {
      try {
        return g.solve(model, {
          msglev: g.GLP_MSG_OFF,
          presol,
          ...(options.timeLimit !== undefined ? { tmlim: options.timeLimit } : {}),
          ...(options.mipGap !== undefined ? { mipgap: options.mipGap } : {}),
        });
      } catch (err) {
        throw new LpError(`glpk.js failed: ${(err as Error).message}`);
      }
    };
    // LPs go straight to the simplex: GLPK's LP presolver stalled for minutes on the LAD dual form
    // (3 rows × thousands of bounded columns) that the plain simplex solves in well under a second.
    // MILPs keep the presolver (branch-and-cut benefits from it); it stops with an undefined status on
    // infeasible / unbounded input, and the plain run then classifies the problem.
    let r = run(generals.length > 0).result;
    if (generals.length > 0 && r.status !== g.GLP_OPT && r.status !== g.GLP_FEAS) r = run(false).result;
    const status: LpStatus =
      r.status === g.GLP_OPT
        ? "optimal"
        : r.status === g.GLP_NOFEAS
          ? "infeasible"
          : r.status === g.GLP_UNBND
            ? "unbounded"
            : r.status === g.GLP_FEAS
              ? "limit"
              : "error";
    const x = new Float64Array(lp.numCols);
    for (let j = 0; j < lp.numCols; j++) x[j] = r.vars[colName(j)] ?? 0;
    let rowDual: Float64Array | undefined;
    if (r.dual && generals.length === 0) {
      rowDual = new Float64Array(lp.numRows);
      for (let i = 0; i < lp.numRows; i++) rowDual[i] = r.dual[`r${i}`] ?? 0;
    }
    return {
      status,
      objective: status === "optimal" || status === "limit" ? r.z : Number.NaN,
      x,
      ...(rowDual ? { rowDual } : {}),
    };
  }
}
