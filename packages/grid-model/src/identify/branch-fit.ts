import { type LinearProgram, LpBuilder, LpError, type LpSolver } from "../solvers/lp.js";
import { qrLeastSquares, SingularMatrixError, solveSmall } from "./linalg.js";

/**
 * Per-branch regression data (spec §3.1): y_t = a_t r + b_t x + c_t (r² + x²) + ε_t with
 * y = v_π(j) − v_j, a = 2P̃_j, b = 2Q̃_j, c = ℓ_j (squared magnitudes, receiving-end flows, pu).
 */
export interface BranchSamples {
  readonly y: Float64Array;
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly c: Float64Array;
}

export interface BranchFit {
  readonly r: number;
  readonly x: number;
  /** Relaxation gap w* − (r*² + x*²) of the lifted problem before repair (pu²). */
  readonly gap: number;
  /** True when the convex relaxation was exact (gap within tolerance) and needed no repair. */
  readonly exact: boolean;
  /** Sum of |residuals| (LAD) or of squared residuals (LS) of the exact model at (r, x). */
  readonly loss: number;
  /** LP solves (LAD) or Gauss-Newton steps (LS) used. */
  readonly iterations: number;
}

export class BranchFitError extends Error {
  override readonly name = "BranchFitError";
}

/** True when the branch never carries flow (an unloaded leaf): its impedance is not identifiable. */
export function carriesNoFlow(s: BranchSamples): boolean {
  for (let t = 0; t < s.a.length; t++) if (s.a[t] !== 0 || s.b[t] !== 0) return false;
  return true;
}

/** The result for a branch without flow: impedance unknown (NaN), zero loss. */
export const NO_FLOW_FIT: BranchFit = {
  r: Number.NaN,
  x: Number.NaN,
  gap: 0,
  exact: true,
  loss: 0,
  iterations: 0,
};

/** Residual loss of the exact branch model. */
export function branchLoss(s: BranchSamples, r: number, x: number, kind: "lad" | "ls"): number {
  const w = r * r + x * x;
  let loss = 0;
  for (let t = 0; t < s.y.length; t++) {
    const e = s.y[t]! - s.a[t]! * r - s.b[t]! * x - s.c[t]! * w;
    loss += kind === "lad" ? Math.abs(e) : e * e;
  }
  return loss;
}

/** Relative tolerance on the relaxation gap (gap ≤ tol · w counts as exact). */
const GAP_TOL = 1e-6;

/**
 * LS (spec §3.2/§3.3): linear LS in the lifted (r, x, w) — the LS-SOCP optimum when it lies
 * inside the cone — then Gauss-Newton on the exact model w = r² + x² as the repair step.
 * LS is not robust: one gross voltage error shifts the fit in proportion to its size.
 */
export function fitBranchLs(s: BranchSamples, gaussNewtonSteps = 8): BranchFit {
  const T = s.y.length;
  if (T < 3) throw new BranchFitError(`LS needs at least 3 samples, got ${T}`);
  if (carriesNoFlow(s)) return NO_FLOW_FIT;
  const A = new Float64Array(T * 3);
  A.set(s.a, 0);
  A.set(s.b, T);
  A.set(s.c, 2 * T);
  const Y = Float64Array.from(s.y);
  let r: number;
  let x: number;
  let w: number;
  try {
    const ls = qrLeastSquares(A, T, 3, Y, 1);
    [r, x, w] = [ls.beta[0]!, ls.beta[1]!, ls.beta[2]!];
  } catch (err) {
    if (!(err instanceof SingularMatrixError)) throw err;
    // ℓ without variation (e.g. a constant load): drop the lifted column and fit (r, x) only.
    const A2 = new Float64Array(T * 2);
    A2.set(s.a, 0);
    A2.set(s.b, T);
    const ls = qrLeastSquares(A2, T, 2, Float64Array.from(s.y), 1);
    [r, x] = [ls.beta[0]!, ls.beta[1]!];
    w = r * r + x * x;
  }
  const gap = w - (r * r + x * x);
  const exact = Math.abs(gap) <= GAP_TOL * Math.max(w, 1e-30) && r >= 0 && x >= 0;
  r = Math.max(r, 0);
  x = Math.max(x, 0);
  let steps = 0;
  if (!exact) {
    for (; steps < gaussNewtonSteps; steps++) {
      // J columns: d/dr = a + 2 c r, d/dx = b + 2 c x; normal equations (2 x 2).
      let jrr = 0;
      let jrx = 0;
      let jxx = 0;
      let gr = 0;
      let gx = 0;
      const ww = r * r + x * x;
      for (let t = 0; t < T; t++) {
        const dr = s.a[t]! + 2 * s.c[t]! * r;
        const dx = s.b[t]! + 2 * s.c[t]! * x;
        const e = s.y[t]! - s.a[t]! * r - s.b[t]! * x - s.c[t]! * ww;
        jrr += dr * dr;
        jrx += dr * dx;
        jxx += dx * dx;
        gr += dr * e;
        gx += dx * e;
      }
      const step = solveSmall(
        [
          [jrr, jrx],
          [jrx, jxx],
        ],
        [gr, gx],
      );
      if (!step) break;
      const nr = Math.max(0, r + step[0]!);
      const nx = Math.max(0, x + step[1]!);
      const moved = Math.abs(nr - r) + Math.abs(nx - x);
      r = nr;
      x = nx;
      if (moved <= 1e-12 * (r + x + 1e-30)) {
        steps++;
        break;
      }
    }
  }
  return { r, x, gap, exact, loss: branchLoss(s, r, x, "ls"), iterations: steps };
}

export interface LadOptions {
  /** "dual" (default): 3 rows x (T + cuts) bounded columns; "primal": T rows (for checks / IPM). */
  readonly form?: "dual" | "primal";
  /** Maximum cutting-plane rounds. */
  readonly maxRounds?: number;
  /** Fixed-point repair passes when the relaxation is not exact. */
  readonly repairPasses?: number;
  /** Wall-clock limit per LP solve (seconds); a solve that hits it raises LpError. */
  readonly timeLimit?: number;
  /** Starting point for the cut ring (defaults to the LS pilot). */
  readonly pilot?: { r: number; x: number };
}

interface Cut {
  r0: number;
  x0: number;
}

/** Initial tangent planes: 24 angles over the first quadrant × radii 0.5/1/1.5 of the pilot, plus the origin. */
function initialCuts(radius: number): Cut[] {
  const cuts: Cut[] = [{ r0: 0, x0: 0 }];
  for (const f of [0.5, 1, 1.5]) {
    for (let k = 0; k < 24; k++) {
      const th = (k / 23) * (Math.PI / 2);
      cuts.push({ r0: f * radius * Math.cos(th), x0: f * radius * Math.sin(th) });
    }
  }
  return cuts;
}

/**
 * Lifted LAD LP with tangent cuts w ≥ 2 r0 r + 2 x0 x − r0² − x0². Variables are scaled so that
 * r, x ~ 1 (scale sz) and y ~ 1 (scale sy) — the raw pu values (1e-5 … 1e-2) are at the
 * solvers' default tolerances. With fixedW, w is a constant and only (r, x) are fitted.
 */
function buildLadLp(
  s: BranchSamples,
  sz: number,
  sy: number,
  cuts: readonly Cut[],
  form: "dual" | "primal",
  fixedW?: number,
): LinearProgram {
  const T = s.y.length;
  const ca = sz / sy;
  const cc = (sz * sz) / sy;
  const yAt = (t: number) => (s.y[t]! - (fixedW !== undefined ? s.c[t]! * fixedW : 0)) / sy;
  const nVar = fixedW !== undefined ? 2 : 3;
  if (form === "dual") {
    const bld = new LpBuilder("max");
    for (let k = 0; k < nVar; k++) bld.addRow(-Infinity, 0);
    for (let t = 0; t < T; t++) {
      const vals = [s.a[t]! * ca, s.b[t]! * ca, s.c[t]! * cc].slice(0, nVar);
      bld.addCol(yAt(t), -1, 1, [0, 1, 2].slice(0, nVar), vals);
    }
    if (fixedW === undefined) {
      for (const { r0, x0 } of cuts)
        bld.addCol(-(r0 * r0 + x0 * x0), 0, Infinity, [0, 1, 2], [-2 * r0, -2 * x0, 1]);
    }
    return bld.build();
  }
  const bld = new LpBuilder("min");
  for (let t = 0; t < T; t++) bld.addRow(yAt(t), yAt(t));
  const cutRow0 = bld.numRows;
  if (fixedW === undefined) for (const { r0, x0 } of cuts) bld.addRow(-(r0 * r0 + x0 * x0), Infinity);
  const all = Array.from({ length: T }, (_, t) => t);
  const cutRows = cuts.map((_, k) => cutRow0 + k);
  const withCuts = (vals: number[], cutVals: number[]) =>
    fixedW === undefined ? { rows: [...all, ...cutRows], vals: [...vals, ...cutVals] } : { rows: all, vals };
  const rc = withCuts(
    Array.from(s.a, (v) => v * ca),
    cuts.map((c) => -2 * c.r0),
  );
  bld.addCol(0, 0, Infinity, rc.rows, rc.vals);
  const xc = withCuts(
    Array.from(s.b, (v) => v * ca),
    cuts.map((c) => -2 * c.x0),
  );
  bld.addCol(0, 0, Infinity, xc.rows, xc.vals);
  if (fixedW === undefined) {
    const wc = withCuts(
      Array.from(s.c, (v) => v * cc),
      cuts.map(() => 1),
    );
    bld.addCol(0, 0, Infinity, wc.rows, wc.vals);
  }
  for (let t = 0; t < T; t++) {
    bld.addCol(1, 0, Infinity, [t], [1]);
    bld.addCol(1, 0, Infinity, [t], [-1]);
  }
  return bld.build();
}

/** Solves the (scaled) lifted LAD LP and returns (r, x, w) in scaled units. */
function solveLad(
  solver: LpSolver,
  lp: LinearProgram,
  form: "dual" | "primal",
  nVar: number,
  timeLimit?: number,
): number[] {
  const sol = solver.solve(lp, {
    method: form === "primal" ? "ipm" : "simplex",
    ...(timeLimit !== undefined ? { timeLimit } : {}),
  });
  if (sol.status !== "optimal") throw new LpError(`LAD LP ended with status ${sol.status}`);
  if (form === "primal") return Array.from(sol.x.subarray(0, nVar));
  if (!sol.rowDual) throw new LpError(`${solver.name} returned no row duals for the LAD dual`);
  // Primal values are the duals of the dual's rows (marginal objective per unit of rhs).
  return Array.from(sol.rowDual.subarray(0, nVar), (v) => Math.max(0, v));
}

/**
 * LAD (spec §3.2–3.3) with the lifted w ≥ r² + x² relaxation solved as an LP: tangent cuts,
 * refined at the incumbent until the cone is met, then the exactness check; when the
 * relaxation is not tight, repair by fixing w = r̂² + x̂² and re-solving the now linear LAD in
 * (r, x) for a few fixed-point passes.
 */
export function fitBranchLad(s: BranchSamples, solver: LpSolver, opts: LadOptions = {}): BranchFit {
  const T = s.y.length;
  if (T < 3) throw new BranchFitError(`LAD needs at least 3 samples, got ${T}`);
  if (carriesNoFlow(s)) return NO_FLOW_FIT;
  const form = opts.form ?? "dual";
  let pilot = opts.pilot;
  if (!pilot) {
    const ls = fitBranchLs(s, 3);
    pilot = { r: ls.r, x: ls.x };
  }
  let sz = Math.hypot(pilot.r, pilot.x);
  if (!(sz > 0) || !Number.isFinite(sz)) {
    // Crude scale from the drop per unit flow.
    let num = 0;
    let den = 0;
    for (let t = 0; t < T; t++) {
      num += Math.abs(s.y[t]!);
      den += Math.abs(s.a[t]!) + Math.abs(s.b[t]!);
    }
    sz = den > 0 && num > 0 ? num / den : 1e-4;
  }
  let sy = 0;
  for (let t = 0; t < T; t++) sy = Math.max(sy, Math.abs(s.y[t]!));
  if (!(sy > 0)) sy = 1;
  const cuts = initialCuts(1);
  let rr = 0;
  let xx = 0;
  let ww = 0;
  let rounds = 0;
  const maxRounds = opts.maxRounds ?? 30;
  for (; rounds < maxRounds; rounds++) {
    [rr, xx, ww] = solveLad(solver, buildLadLp(s, sz, sy, cuts, form), form, 3, opts.timeLimit) as [
      number,
      number,
      number,
    ];
    const cone = rr * rr + xx * xx;
    if (cone - ww <= 1e-7 * Math.max(cone, 1e-12)) {
      rounds++;
      break;
    }
    cuts.push({ r0: rr, x0: xx });
  }
  let r = rr * sz;
  let x = xx * sz;
  const w = ww * sz * sz;
  const gap = w - (r * r + x * x);
  const exact = gap <= GAP_TOL * Math.max(w, 1e-30);
  if (!exact) {
    const passes = opts.repairPasses ?? 3;
    for (let k = 0; k < passes; k++) {
      const fixedW = r * r + x * x;
      const [r2, x2] = solveLad(solver, buildLadLp(s, sz, sy, [], form, fixedW), form, 2, opts.timeLimit) as [
        number,
        number,
      ];
      rounds++;
      const moved = Math.abs(r2 * sz - r) + Math.abs(x2 * sz - x);
      r = r2 * sz;
      x = x2 * sz;
      if (moved <= 1e-9 * (r + x)) break;
    }
  }
  return { r, x, gap, exact, loss: branchLoss(s, r, x, "lad"), iterations: rounds };
}
