/**
 * A solver-neutral linear / mixed-integer program in column-compressed form.
 * Both backends (HiGHS, glpk.js) consume this one shape, so problems are built once
 * and solved by either, which is what the tests and the benchmark compare.
 */
export interface CscMatrix {
  /** Column j occupies entries starts[j] .. starts[j+1]-1. */
  readonly starts: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

export interface LinearProgram {
  readonly numCols: number;
  readonly numRows: number;
  /** Default "min". */
  readonly sense?: "min" | "max";
  readonly colCost: Float64Array;
  /** Use -Infinity / Infinity for free bounds. */
  readonly colLower: Float64Array;
  readonly colUpper: Float64Array;
  readonly rowLower: Float64Array;
  readonly rowUpper: Float64Array;
  readonly matrix: CscMatrix;
  /** 1 marks an integer column (binaries: integer with bounds [0, 1]). */
  readonly integer?: Uint8Array;
}

/** How a solve ended ("limit": the time limit or another solver limit was hit). */
export type LpStatus = "optimal" | "infeasible" | "unbounded" | "limit" | "error";

export interface LpSolution {
  readonly status: LpStatus;
  readonly objective: number;
  /** Column values. */
  readonly x: Float64Array;
  /**
   * Row duals (LP only): d objective / d row bound, the marginal value of relaxing a row.
   * Both backends report the same sign convention (checked in the tests).
   */
  readonly rowDual?: Float64Array;
}

/** Per-solve settings of an `LpSolver`. */
export interface SolveOptions {
  /** LP algorithm; "ipm" pays off for large primal LPs on HiGHS. glpk.js always uses simplex. */
  readonly method?: "simplex" | "ipm" | "auto";
  /** Wall-clock limit in seconds. */
  readonly timeLimit?: number;
  /** Relative MIP gap. */
  readonly mipGap?: number;
}

export interface LpSolver {
  readonly name: SolverName;
  solve(lp: LinearProgram, options?: SolveOptions): LpSolution;
}

export type SolverName = "highs" | "glpk";

/** An LP the backend could not solve (bad model, solver failure). */
export class LpError extends Error {
  override readonly name = "LpError";
}

/** The optional backend is not installed. */
export class SolverUnavailableError extends Error {
  override readonly name = "SolverUnavailableError";
}

/**
 * Builds a LinearProgram column by column. Rows are declared first (bounds), then each
 * column with its cost, bounds and sparse entries.
 */
export class LpBuilder {
  private readonly rowLo: number[] = [];
  private readonly rowHi: number[] = [];
  private readonly cost: number[] = [];
  private readonly colLo: number[] = [];
  private readonly colHi: number[] = [];
  private readonly ints: number[] = [];
  private readonly starts: number[] = [0];
  private readonly idx: number[] = [];
  private readonly val: number[] = [];

  constructor(private readonly sense: "min" | "max" = "min") {}

  get numRows(): number {
    return this.rowLo.length;
  }

  get numCols(): number {
    return this.cost.length;
  }

  /** Adds a row lower <= a.x <= upper and returns its index. */
  addRow(lower: number, upper: number): number {
    this.rowLo.push(lower);
    this.rowHi.push(upper);
    return this.rowLo.length - 1;
  }

  /** Adds a column; rows/values are its non-zero coefficients. Returns its index. */
  addCol(
    cost: number,
    lower: number,
    upper: number,
    rows: ArrayLike<number>,
    values: ArrayLike<number>,
    integer = false,
  ): number {
    if (rows.length !== values.length) throw new LpError("column rows and values differ in length");
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k]!;
      if (r < 0 || r >= this.rowLo.length) throw new LpError(`column refers to unknown row ${r}`);
      const v = values[k]!;
      if (v === 0) continue;
      if (!Number.isFinite(v))
        throw new LpError(`non-finite coefficient in column ${this.cost.length}, row ${r}`);
      this.idx.push(r);
      this.val.push(v);
    }
    this.cost.push(cost);
    this.colLo.push(lower);
    this.colHi.push(upper);
    this.ints.push(integer ? 1 : 0);
    this.starts.push(this.idx.length);
    return this.cost.length - 1;
  }

  build(): LinearProgram {
    const anyInt = this.ints.some((v) => v === 1);
    return {
      numCols: this.cost.length,
      numRows: this.rowLo.length,
      sense: this.sense,
      colCost: Float64Array.from(this.cost),
      colLower: Float64Array.from(this.colLo),
      colUpper: Float64Array.from(this.colHi),
      rowLower: Float64Array.from(this.rowLo),
      rowUpper: Float64Array.from(this.rowHi),
      matrix: {
        starts: Int32Array.from(this.starts),
        indices: Int32Array.from(this.idx),
        values: Float64Array.from(this.val),
      },
      ...(anyInt ? { integer: Uint8Array.from(this.ints) } : {}),
    };
  }
}

/** Validates array lengths and CSC structure so both backends fail the same way on bad input. */
export function checkLinearProgram(lp: LinearProgram): void {
  const { numCols: n, numRows: m, matrix } = lp;
  const lens: Array<[string, number, number]> = [
    ["colCost", lp.colCost.length, n],
    ["colLower", lp.colLower.length, n],
    ["colUpper", lp.colUpper.length, n],
    ["rowLower", lp.rowLower.length, m],
    ["rowUpper", lp.rowUpper.length, m],
    ["matrix.starts", matrix.starts.length, n + 1],
  ];
  for (const [name, got, want] of lens) {
    if (got !== want) throw new LpError(`${name} has length ${got}, expected ${want}`);
  }
  const nnz = matrix.starts[n]!;
  if (matrix.indices.length !== nnz || matrix.values.length !== nnz) {
    throw new LpError(
      `matrix has ${matrix.indices.length} indices / ${matrix.values.length} values, starts say ${nnz}`,
    );
  }
  for (let k = 0; k < nnz; k++) {
    const r = matrix.indices[k]!;
    if (r < 0 || r >= m) throw new LpError(`matrix entry ${k} refers to row ${r} of ${m}`);
  }
  if (lp.integer && lp.integer.length !== n)
    throw new LpError(`integer has length ${lp.integer.length}, expected ${n}`);
}
