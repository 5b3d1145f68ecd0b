import { branchImpedancesPu, type Feeder } from "../feeder.js";

/**
 * LinDistFlow (Baran & Wu; losses dropped): P_j = Σ_{k∈T(j)} p_k, Q_j likewise, and
 * v_j = v_π(j) − 2 (r_j P_j + x_j Q_j), i.e. v = v0·1 − 2 R p − 2 X q with the path-sum matrices R, X.
 */

export interface LinDistFlowResult {
  /** Squared voltage magnitudes v_j = |V_j|² (pu). */
  readonly v: Float64Array;
  /** Branch flows indexed by the child bus (entry 0 unused). */
  readonly pFlow: Float64Array;
  readonly qFlow: Float64Array;
}

/**
 * Solve LinDistFlow in O(n). `q` is the net reactive consumption (subtract capacitor output first).
 * `v0` is the squared root voltage (default rootVoltagePu²).
 */
export function linDistFlow(
  feeder: Feeder,
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  v0 = feeder.rootVoltagePu ** 2,
): LinDistFlowResult {
  const n = feeder.buses.length;
  const { r, x } = branchImpedancesPu(feeder);
  const parent = feeder.parent;
  const pFlow = new Float64Array(n);
  const qFlow = new Float64Array(n);
  for (let j = n - 1; j >= 1; j--) {
    pFlow[j] += p[j];
    qFlow[j] += q[j];
    const k = parent[j];
    if (k > 0) {
      pFlow[k] += pFlow[j];
      qFlow[k] += qFlow[j];
    }
  }
  const v = new Float64Array(n);
  v[0] = v0;
  for (let j = 1; j < n; j++) v[j] = v[parent[j]] - 2 * (r[j] * pFlow[j] + x[j] * qFlow[j]);
  return { v, pFlow, qFlow };
}

/**
 * Path-sum matrices over the non-root buses (row/column j−1 is bus j), row-major (n−1)×(n−1):
 * R_ik = Σ r_e over the branches shared by the root→i and root→k paths (X likewise). R⁻¹ is the reduced
 * weighted Laplacian with edge weights 1/r_e.
 */
export function pathSumMatrices(feeder: Feeder): { m: number; R: Float64Array; X: Float64Array } {
  const n = feeder.buses.length;
  const m = n - 1;
  const { r, x } = branchImpedancesPu(feeder);
  const parent = feeder.parent;
  // Path resistance to the root per bus, then R_ik = path resistance of the lowest common ancestor.
  const rr = new Float64Array(n);
  const xr = new Float64Array(n);
  for (let j = 1; j < n; j++) {
    rr[j] = rr[parent[j]] + r[j];
    xr[j] = xr[parent[j]] + x[j];
  }
  const R = new Float64Array(m * m);
  const X = new Float64Array(m * m);
  const depth = feeder.depth;
  for (let i = 1; i < n; i++) {
    for (let k = i; k < n; k++) {
      let a = i;
      let b = k;
      while (depth[a] > depth[b]) a = parent[a];
      while (depth[b] > depth[a]) b = parent[b];
      while (a !== b) {
        a = parent[a];
        b = parent[b];
      }
      R[(i - 1) * m + (k - 1)] = R[(k - 1) * m + (i - 1)] = rr[a];
      X[(i - 1) * m + (k - 1)] = X[(k - 1) * m + (i - 1)] = xr[a];
    }
  }
  return { m, R, X };
}
