import { branchImpedancesPu, type Feeder, FeederError, nominalLoadsPu } from "../feeder.js";

/**
 * AC power flow for a radial feeder by backward/forward sweep (current summation), in per unit.
 * Loads are constant power (or ZIP, `BusLoadsPu.zip`); shunt capacitors constant impedance (q_cap · |V|²). The root voltage is fixed
 * (magnitude v0, angle 0).
 */

export interface BusLoadsPu {
  /** Active consumption per bus (pu, positive = load, negative = generation). Length n; entry 0 ignored. */
  readonly p: ArrayLike<number>;
  readonly q: ArrayLike<number>;
  /** Rated shunt capacitor output at 1 pu voltage (pu); optional. */
  readonly qCap?: ArrayLike<number>;
  /**
   * Voltage-dependent (ZIP) loads: the consumption at |V| is p·(z|V|² + i|V| + c) with z + i + c = 1
   * (constant impedance, current, power); default constant power.
   */
  readonly zip?: { readonly z: number; readonly i: number; readonly p: number };
}

export interface SweepOptions {
  /** Root voltage magnitude (pu); default: the feeder's rootVoltagePu. */
  readonly v0?: number;
  /** Convergence tolerance on max |ΔV| (pu). Default 1e-10. */
  readonly tol?: number;
  readonly maxIter?: number;
  /**
   * Start from the previous solution of this solver instead of a flat profile (successive snapshots of a time
   * series converge in fewer sweeps). Ignored on the first call.
   */
  readonly warmStart?: boolean;
}

/** Result arrays are indexed by bus; branch quantities by the child bus of the branch (entry 0 unused, 0). */
export interface PowerFlowResult {
  /** |V_j| (pu). */
  readonly vm: Float64Array;
  /** Voltage angle (rad). */
  readonly va: Float64Array;
  /** Sending-end flow P_j, Q_j of the branch into j (at π(j)). */
  readonly pSend: Float64Array;
  readonly qSend: Float64Array;
  /** Receiving-end flow P̃_j, Q̃_j (at j) = sending-end minus r ℓ, x ℓ. */
  readonly pRecv: Float64Array;
  readonly qRecv: Float64Array;
  /** ℓ_j = |I_j|² (pu). */
  readonly l: Float64Array;
  /** Total series losses (pu). */
  readonly lossP: number;
  readonly lossQ: number;
  /** Power drawn from the root (pu). */
  readonly rootP: number;
  readonly rootQ: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** Power flow did not converge (e.g. load beyond the feeder's loadability). */
export class PowerFlowError extends Error {
  override readonly name = "PowerFlowError";
}

/**
 * A reusable sweep solver: buffers are allocated once, so solving thousands of samples allocates nothing
 * per sample except the result object wrapping the solver's own arrays (copy them if you keep them).
 */
export class RadialSweep {
  readonly n: number;
  private readonly parent: Int32Array;
  private readonly r: Float64Array;
  private readonly x: Float64Array;
  private readonly vr: Float64Array;
  private readonly vi: Float64Array;
  private readonly jr: Float64Array;
  private readonly ji: Float64Array;
  readonly vm: Float64Array;
  readonly va: Float64Array;
  readonly pSend: Float64Array;
  readonly qSend: Float64Array;
  readonly pRecv: Float64Array;
  readonly qRecv: Float64Array;
  readonly l: Float64Array;
  private solved = false;

  constructor(readonly feeder: Feeder) {
    const n = feeder.buses.length;
    this.n = n;
    this.parent = feeder.parent;
    ({ r: this.r, x: this.x } = branchImpedancesPu(feeder));
    this.vr = new Float64Array(n);
    this.vi = new Float64Array(n);
    this.jr = new Float64Array(n);
    this.ji = new Float64Array(n);
    this.vm = new Float64Array(n);
    this.va = new Float64Array(n);
    this.pSend = new Float64Array(n);
    this.qSend = new Float64Array(n);
    this.pRecv = new Float64Array(n);
    this.qRecv = new Float64Array(n);
    this.l = new Float64Array(n);
  }

  /** Solve for one load snapshot. Throws PowerFlowError when the sweep diverges or does not converge. */
  solve(loads: BusLoadsPu, opts: SweepOptions = {}): PowerFlowResult {
    const { n, parent, r, x, vr, vi, jr, ji } = this;
    const { p, q } = loads;
    const qCap = loads.qCap;
    const zip = loads.zip;
    if (zip && !(Math.abs(zip.z + zip.i + zip.p - 1) < 1e-9 && zip.z >= 0 && zip.i >= 0 && zip.p >= 0))
      throw new FeederError(`ZIP coefficients must be >= 0 and sum to 1 (got ${zip.z}, ${zip.i}, ${zip.p})`);
    if (p.length !== n || q.length !== n || (qCap && qCap.length !== n))
      throw new FeederError(`feeder "${this.feeder.id}": load vectors must have length ${n} (one per bus)`);
    const v0 = opts.v0 ?? this.feeder.rootVoltagePu;
    const tol = opts.tol ?? 1e-10;
    const maxIter = opts.maxIter ?? 100;
    if (opts.warmStart && this.solved) {
      // Rescale the previous profile to the new root voltage.
      const k = v0 / Math.hypot(vr[0], vi[0]);
      for (let j = 0; j < n; j++) {
        vr[j] *= k;
        vi[j] *= k;
      }
    } else {
      vr.fill(v0);
      vi.fill(0);
    }
    let iterations = 0;
    let converged = false;
    while (iterations < maxIter) {
      iterations++;
      // Backward: load currents I = conj(S / V), summed leaves → root.
      jr.fill(0);
      ji.fill(0);
      for (let j = n - 1; j >= 1; j--) {
        const er = vr[j];
        const ei = vi[j];
        const m2 = er * er + ei * ei;
        const f = zip ? zip.z * m2 + zip.i * Math.sqrt(m2) + zip.p : 1;
        const pj = p[j] * f;
        const qn = q[j] * f - (qCap ? qCap[j] * m2 : 0);
        jr[j] += (pj * er + qn * ei) / m2;
        ji[j] += (pj * ei - qn * er) / m2;
        const k = parent[j];
        jr[k] += jr[j];
        ji[k] += ji[j];
      }
      // Forward: V_j = V_π(j) − Z_j J_j, root → leaves.
      let dmax = 0;
      for (let j = 1; j < n; j++) {
        const k = parent[j];
        const nr = vr[k] - (r[j] * jr[j] - x[j] * ji[j]);
        const ni = vi[k] - (r[j] * ji[j] + x[j] * jr[j]);
        const d = Math.abs(nr - vr[j]) + Math.abs(ni - vi[j]);
        // Written so that a NaN (non-finite loads or divergence) propagates into dmax.
        if (!(d <= dmax)) dmax = d;
        vr[j] = nr;
        vi[j] = ni;
      }
      if (!Number.isFinite(dmax) || dmax > 1e3) break;
      if (dmax < tol) {
        converged = true;
        break;
      }
    }
    this.solved = converged;
    if (!converged)
      throw new PowerFlowError(
        `feeder "${this.feeder.id}": power flow did not converge in ${iterations} sweeps (load too high for the feeder?)`,
      );
    return this.flows(iterations);
  }

  private flows(iterations: number): PowerFlowResult {
    const { n, parent, r, x, vr, vi, jr, ji, vm, va, pSend, qSend, pRecv, qRecv, l } = this;
    let lossP = 0;
    let lossQ = 0;
    let rootP = 0;
    let rootQ = 0;
    vm[0] = Math.hypot(vr[0], vi[0]);
    va[0] = Math.atan2(vi[0], vr[0]);
    for (let j = 1; j < n; j++) {
      const k = parent[j];
      vm[j] = Math.hypot(vr[j], vi[j]);
      va[j] = Math.atan2(vi[j], vr[j]);
      // S = V conj(J): at the receiving end with V_j, at the sending end with V_π(j).
      pRecv[j] = vr[j] * jr[j] + vi[j] * ji[j];
      qRecv[j] = vi[j] * jr[j] - vr[j] * ji[j];
      pSend[j] = vr[k] * jr[j] + vi[k] * ji[j];
      qSend[j] = vi[k] * jr[j] - vr[k] * ji[j];
      l[j] = jr[j] * jr[j] + ji[j] * ji[j];
      lossP += r[j] * l[j];
      lossQ += x[j] * l[j];
      if (k === 0) {
        rootP += pSend[j];
        rootQ += qSend[j];
      }
    }
    return { vm, va, pSend, qSend, pRecv, qRecv, l, lossP, lossQ, rootP, rootQ, iterations, converged: true };
  }
}

/** Copy a result out of a solver's buffers. */
export function copyResult(res: PowerFlowResult): PowerFlowResult {
  return {
    ...res,
    vm: res.vm.slice(),
    va: res.va.slice(),
    pSend: res.pSend.slice(),
    qSend: res.qSend.slice(),
    pRecv: res.pRecv.slice(),
    qRecv: res.qRecv.slice(),
    l: res.l.slice(),
  };
}

/** One-shot AC power flow; default loads are the feeder's nominal loads and capacitors. */
export function solvePowerFlow(feeder: Feeder, loads?: BusLoadsPu, opts?: SweepOptions): PowerFlowResult {
  return new RadialSweep(feeder).solve(loads ?? nominalLoadsPu(feeder), opts);
}
