import { branchImpedancesPu, type Feeder } from "../feeder.js";
import type { BusLoadsPu, PowerFlowResult } from "./sweep.js";

/**
 * The DistFlow branch equations (Baran & Wu 1989; branch flow model, Farivar & Low 2013) in the package's
 * notation: v = |V|² (squared magnitude), P_j / Q_j sending-end flow on branch j (at π(j)), P̃_j / Q̃_j the
 * receiving-end flow (at j), ℓ_j = |I_j|². All per unit.
 */

/** ℓ = (P² + Q²) / v — with sending-end flow use v = v_π(j), with receiving-end flow use v = v_j. */
export function currentSquared(p: number, q: number, v: number): number {
  return (p * p + q * q) / v;
}

/** v_π(j) − v_j from the sending-end flow: 2 (r P_j + x Q_j) − (r² + x²) ℓ_j. */
export function voltageDropSending(r: number, x: number, p: number, q: number, l: number): number {
  return 2 * (r * p + x * q) - (r * r + x * x) * l;
}

/** v_π(j) − v_j from the receiving-end flow (stage-2 form): 2 r P̃_j + 2 x Q̃_j + (r² + x²) ℓ_j. */
export function voltageDropReceiving(r: number, x: number, pRecv: number, qRecv: number, l: number): number {
  return 2 * (r * pRecv + x * qRecv) + (r * r + x * x) * l;
}

/** Sending-end flow from the receiving-end flow: P_j = P̃_j + r ℓ_j, Q_j = Q̃_j + x ℓ_j. */
export function sendingFromReceiving(
  r: number,
  x: number,
  pRecv: number,
  qRecv: number,
  l: number,
): { p: number; q: number } {
  return { p: pRecv + r * l, q: qRecv + x * l };
}

/** Largest violation of the DistFlow equations by a power-flow result (a correctness check of the solver). */
export function distflowResidual(feeder: Feeder, pf: PowerFlowResult, loads: BusLoadsPu): number {
  const { r, x } = branchImpedancesPu(feeder);
  const n = feeder.buses.length;
  let worst = 0;
  const v = new Float64Array(n);
  for (let j = 0; j < n; j++) v[j] = pf.vm[j] * pf.vm[j];
  for (let j = 1; j < n; j++) {
    const i = feeder.parent[j];
    // Voltage drop, ℓ definition, and the loss relation between the two ends.
    const drop = v[i] - v[j] - voltageDropSending(r[j], x[j], pf.pSend[j], pf.qSend[j], pf.l[j]);
    const lDef = pf.l[j] * v[i] - (pf.pSend[j] ** 2 + pf.qSend[j] ** 2);
    const loss = pf.pSend[j] - pf.pRecv[j] - r[j] * pf.l[j];
    worst = Math.max(worst, Math.abs(drop), Math.abs(lDef), Math.abs(loss));
  }
  // Power balance at every bus: P̃_j = p_j + Σ_children P_k, Q̃_j = q_j − q_cap,j v_j + Σ_children Q_k.
  for (let j = 1; j < n; j++) {
    let pb = pf.pRecv[j] - loads.p[j];
    let qb = pf.qRecv[j] - loads.q[j] + (loads.qCap ? loads.qCap[j] * v[j] : 0);
    for (const k of feeder.children[j]) {
      pb -= pf.pSend[k];
      qb -= pf.qSend[k];
    }
    worst = Math.max(worst, Math.abs(pb), Math.abs(qb));
  }
  return worst;
}
