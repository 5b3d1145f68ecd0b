import { type LinearProgram, LpBuilder, LpError, type LpSolver } from "../solvers/lp.js";
import { solveSpd, weightedLeastSquares } from "./normal-equations.js";
import { mad, median } from "./stats.js";

/**
 * Per-branch regression data: y_t = a_t r + b_t x + c_t (r² + x²) + ε_t with
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
 * LS: linear LS in the lifted (r, x, w) — the LS-SOCP optimum when it lies inside the cone — then Gauss-Newton
 * on the exact model w = r² + x² as the repair step (docs/identification.md, "Branch fits").
 * LS is not robust: one gross voltage error shifts the fit in proportion to its size.
 */
export function fitBranchLs(s: BranchSamples, gaussNewtonSteps = 8): BranchFit {
  const T = s.y.length;
  if (T < 3) throw new BranchFitError(`LS needs at least 3 samples, got ${T}`);
  if (carriesNoFlow(s)) return NO_FLOW_FIT;
  let r: number;
  let x: number;
  let w: number;
  const lifted = weightedLeastSquares([s.a, s.b, s.c], s.y);
  if (lifted) {
    [r, x, w] = lifted as [number, number, number];
  } else {
    // ℓ without variation (e.g. a constant load): drop the lifted column and fit (r, x) only.
    const two = weightedLeastSquares([s.a, s.b], s.y);
    if (!two) throw new BranchFitError("branch flows P and Q are linearly dependent or zero");
    [r, x] = two as [number, number];
    w = r * r + x * x;
  }
  const gap = w - (r * r + x * x);
  const exact = Math.abs(gap) <= GAP_TOL * Math.max(w, 1e-30) && r >= 0 && x >= 0;
  r = Math.max(r, 0);
  x = Math.max(x, 0);
  let steps = 0;
  if (!exact) {
    for (; steps < gaussNewtonSteps; steps++) {
      const step = gaussNewtonStep(s, r, x);
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

/** One (weighted) Gauss–Newton step of the exact model y = a r + b x + c (r² + x²) at (r, x). */
function gaussNewtonStep(s: BranchSamples, r: number, x: number, u?: Float64Array): number[] | undefined {
  const T = s.y.length;
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
    const wt = u ? u[t]! : 1;
    jrr += wt * dr * dr;
    jrx += wt * dr * dx;
    jxx += wt * dx * dx;
    gr += wt * dr * e;
    gx += wt * dx * e;
  }
  return solveSpd(
    [
      [jrr, jrx],
      [jrx, jxx],
    ],
    [gr, gx],
  );
}

/**
 * Least absolute deviations of y on the columns X (at most 3) by iteratively reweighted least squares (weights
 * 1/|e|, floored at a tiny δ): a majorise–minimise scheme whose objective decreases at every step.
 */
function ladIrls(X: readonly Float64Array[], y: Float64Array, maxIter = 100): number[] | undefined {
  const T = y.length;
  const p = X.length;
  let beta = weightedLeastSquares(X, y);
  if (!beta) return undefined;
  let scale = 0;
  for (let t = 0; t < T; t++) scale = Math.max(scale, Math.abs(y[t]!));
  const delta = 1e-9 * (scale || 1);
  const x0 = X[0]!;
  const x1 = X[1] ?? x0;
  const x2 = X[2] ?? x0;
  let prev = Number.POSITIVE_INFINITY;
  for (let it = 0; it < maxIter; it++) {
    // One pass: residuals, objective and the weighted normal equations (p ≤ 3 unrolled).
    const b0 = beta[0]!;
    const b1 = p > 1 ? beta[1]! : 0;
    const b2 = p > 2 ? beta[2]! : 0;
    let obj = 0;
    let m00 = 0;
    let m01 = 0;
    let m02 = 0;
    let m11 = 0;
    let m12 = 0;
    let m22 = 0;
    let g0 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let t = 0; t < T; t++) {
      const a0 = x0[t]!;
      const a1 = p > 1 ? x1[t]! : 0;
      const a2 = p > 2 ? x2[t]! : 0;
      const yt = y[t]!;
      const ae = Math.abs(yt - a0 * b0 - a1 * b1 - a2 * b2);
      obj += ae;
      const u = 1 / Math.max(ae, delta);
      const ua0 = u * a0;
      const ua1 = u * a1;
      m00 += ua0 * a0;
      m01 += ua0 * a1;
      m02 += ua0 * a2;
      m11 += ua1 * a1;
      m12 += ua1 * a2;
      m22 += u * a2 * a2;
      g0 += ua0 * yt;
      g1 += ua1 * yt;
      g2 += u * a2 * yt;
    }
    if (prev - obj <= 1e-9 * obj) break;
    prev = obj;
    const M = [
      [m00, m01, m02],
      [m01, m11, m12],
      [m02, m12, m22],
    ]
      .slice(0, p)
      .map((row) => row.slice(0, p));
    const next = solveSpd(M, [g0, g1, g2].slice(0, p));
    if (!next) break;
    beta = next;
  }
  return beta;
}

/** LAD in the lifted (r, x, w) with r, x, w ≥ 0 by IRLS and an active set on the bounds. */
function liftedLad(s: BranchSamples, fixedW?: number): { r: number; x: number; w: number } | undefined {
  const y = fixedW === undefined ? s.y : Float64Array.from(s.y, (v, t) => v - s.c[t]! * fixedW);
  const cols = fixedW === undefined ? [s.a, s.b, s.c] : [s.a, s.b];
  let free = cols.map((_, i) => i);
  for (let pass = 0; pass < cols.length; pass++) {
    const beta = ladIrls(
      free.map((i) => cols[i]!),
      y,
    );
    if (!beta) return undefined;
    const full = new Array<number>(cols.length).fill(0);
    free.forEach((i, k) => {
      full[i] = beta[k]!;
    });
    const neg = free.filter((i) => full[i]! < 0);
    if (neg.length === 0) return { r: full[0]!, x: full[1]!, w: fixedW ?? full[2]! };
    // Pin the most negative coefficient to its bound and re-solve.
    const worst = neg.reduce((a, b) => (full[a]! < full[b]! ? a : b));
    free = free.filter((i) => i !== worst);
    if (free.length === 0) return { r: 0, x: 0, w: fixedW ?? 0 };
  }
  return undefined;
}

/**
 * LAD on the exact model w = r² + x² (the boundary of the relaxation) by IRLS with Gauss–Newton steps from
 * (r0, x0), projected onto r, x ≥ 0.
 */
function boundaryLad(s: BranchSamples, r0: number, x0: number, maxIter = 200): { r: number; x: number } {
  const T = s.y.length;
  let r = Math.max(0, r0);
  let x = Math.max(0, x0);
  const u = new Float64Array(T);
  let scale = 0;
  for (let t = 0; t < T; t++) scale = Math.max(scale, Math.abs(s.y[t]!));
  const delta = 1e-9 * (scale || 1);
  let prev = Number.POSITIVE_INFINITY;
  for (let it = 0; it < maxIter; it++) {
    const w = r * r + x * x;
    let obj = 0;
    for (let t = 0; t < T; t++) {
      const ae = Math.abs(s.y[t]! - s.a[t]! * r - s.b[t]! * x - s.c[t]! * w);
      obj += ae;
      u[t] = 1 / Math.max(ae, delta);
    }
    if (prev - obj <= 1e-10 * obj) break;
    prev = obj;
    const step = gaussNewtonStep(s, r, x, u);
    if (!step) break;
    r = Math.max(0, r + step[0]!);
    x = Math.max(0, x + step[1]!);
  }
  return { r, x };
}

/**
 * LAD by IRLS, with the same relaxation logic as the LP form: the lifted problem (r, x, w ≥ 0) is solved first;
 * inside the cone w ≥ r² + x² it is the relaxation's optimum (exact when the gap is within tolerance, otherwise
 * repaired by fixing w = r̂² + x̂² for up to `repairPasses` passes); outside it the relaxation's optimum lies on
 * the cone, where the exact model is solved directly (exact, gap 0).
 */
function fitBranchLadIrls(s: BranchSamples, repairPasses: number): BranchFit {
  const lifted = liftedLad(s);
  if (!lifted) {
    const ls = fitBranchLs(s);
    const b = boundaryLad(s, ls.r, ls.x);
    return { r: b.r, x: b.x, gap: 0, exact: true, loss: branchLoss(s, b.r, b.x, "lad"), iterations: 1 };
  }
  let { r, x } = lifted;
  const gap = lifted.w - (r * r + x * x);
  if (gap < 0) {
    const b = boundaryLad(s, r, x);
    return { r: b.r, x: b.x, gap: 0, exact: true, loss: branchLoss(s, b.r, b.x, "lad"), iterations: 2 };
  }
  const exact = gap <= GAP_TOL * Math.max(lifted.w, 1e-30);
  let iterations = 1;
  if (!exact) {
    for (let k = 0; k < repairPasses; k++) {
      const fixed = liftedLad(s, r * r + x * x);
      iterations++;
      if (!fixed) break;
      const moved = Math.abs(fixed.r - r) + Math.abs(fixed.x - x);
      r = fixed.r;
      x = fixed.x;
      if (moved <= 1e-9 * (r + x)) break;
    }
  }
  return { r, x, gap, exact, loss: branchLoss(s, r, x, "lad"), iterations };
}

/** Result of a robust branch fit: the fit on the kept samples and the samples rejected by their residual. */
export interface RobustBranchFit extends BranchFit {
  /** Indices (into the branch samples) rejected as gross errors, with their robust z-scores. */
  readonly rejected: readonly { readonly index: number; readonly z: number }[];
  /** Robust residual scale (1.4826 · MAD) of the first fit. */
  readonly residualScale: number;
}

/**
 * LAD with residual-based rejection: LAD fit, robust residual scale σ̂ = 1.4826 · MAD, samples with
 * |residual| > rejectSigmas · σ̂ rejected, LAD refit on the rest (repeated while more are rejected, at most 3
 * rounds). LAD alone resists gross voltage errors; a gross error in a flow (a regressor) is a leverage point that
 * pulls even LAD, which is what the rejection removes.
 */
export function fitBranchRobust(
  s: BranchSamples,
  opts: LadOptions & { readonly rejectSigmas?: number; readonly solver?: LpSolver } = {},
): RobustBranchFit {
  const k = opts.rejectSigmas ?? 5;
  const T = s.y.length;
  let keep = Int32Array.from({ length: T }, (_, t) => t);
  let fit = fitBranchLad(s, opts.solver, opts);
  if (fit === NO_FLOW_FIT) return { ...fit, rejected: [], residualScale: 0 };
  const res = new Float64Array(T);
  let sigma = 0;
  const rejected: { index: number; z: number }[] = [];
  for (let round = 0; round < 3; round++) {
    const w = fit.r * fit.r + fit.x * fit.x;
    for (let t = 0; t < T; t++) res[t] = s.y[t]! - s.a[t]! * fit.r - s.b[t]! * fit.x - s.c[t]! * w;
    if (round === 0) sigma = mad(res);
    if (!(sigma > 0)) break;
    const med = median(res);
    const next: number[] = [];
    rejected.length = 0;
    for (let t = 0; t < T; t++) {
      const z = Math.abs(res[t]! - med) / sigma;
      if (z > k) rejected.push({ index: t, z });
      else next.push(t);
    }
    if (next.length === keep.length || next.length < 3) break;
    keep = Int32Array.from(next);
    const sub = (a: Float64Array) => Float64Array.from(keep, (t) => a[t]!);
    fit = fitBranchLad({ y: sub(s.y), a: sub(s.a), b: sub(s.b), c: sub(s.c) }, opts.solver, opts);
  }
  return { ...fit, loss: branchLoss(s, fit.r, fit.x, "lad"), rejected: [...rejected], residualScale: sigma };
}

export interface LadOptions {
  /**
   * "irls" (default): iteratively reweighted least squares, O(T) per iteration, the same relaxation and repair
   * logic; "lp": the lifted LP with tangent cuts on an LP solver (needs `solver`). Both reach the LAD optimum
   * (compared in the tests); IRLS is 20–50× faster on long series.
   */
  readonly engine?: "irls" | "lp";
  /** LP engine: "dual" (default): 3 rows x (T + cuts) bounded columns; "primal": T rows (for checks / IPM). */
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
 * LAD with the lifted w ≥ r² + x² relaxation: by IRLS (default) or as an LP with tangent cuts, refined at the
 * incumbent until the cone is met; then the exactness check; when the relaxation is not tight, repair by fixing
 * w = r̂² + x̂² and re-solving the now linear LAD in (r, x) for a few fixed-point passes.
 */
export function fitBranchLad(
  s: BranchSamples,
  solver: LpSolver | undefined,
  opts: LadOptions = {},
): BranchFit {
  const T = s.y.length;
  if (T < 3) throw new BranchFitError(`LAD needs at least 3 samples, got ${T}`);
  if (carriesNoFlow(s)) return NO_FLOW_FIT;
  if ((opts.engine ?? "irls") === "irls") return fitBranchLadIrls(s, opts.repairPasses ?? 3);
  if (!solver) throw new BranchFitError('the "lp" LAD engine needs an LP solver');
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
