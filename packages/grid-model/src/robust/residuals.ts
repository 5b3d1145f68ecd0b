import { interpolateMissing, type MeterSeries } from "../identify/meter-data.js";
import { solveSpd } from "../identify/normal-equations.js";
import { median } from "../identify/stats.js";
import { bfsOrder, childrenOf } from "../identify/tree.js";
import type { BadReading, Quantity } from "./report.js";

/**
 * Second bad-data screen, the state-estimation way: on an identified tree with impedances, each sample gives one
 * DistFlow residual per branch,
 *   e_j = v_π(j) − v_j − 2 r_j P̃_j − 2 x_j Q̃_j − (r_j² + x_j²) ℓ_j,
 * whose spread s_j is estimated robustly over all samples. A gross error δ in one reading changes the residual
 * vector of its sample by δ·h along a known signature h: −1 on the bus's own branch and +1 on its children's for a
 * voltage reading (in v = |V|²), −2 r_e (P) or −2 x_e (Q) on every branch e of the bus's root path for a power
 * reading. Per sample: the chi-squared test J = Σ (e_j / s_j)² against its (1 − α) quantile decides whether the
 * sample holds a gross error; then the largest normalised residual |hᵀWe| / √(hᵀWh) (W = diag 1/s_j²) over all
 * readings names the culprit, its error is removed from e, and the test repeats (at most `maxPerSample` times).
 * Missing readings are unknowns of the same sample: first their time-interpolated values are corrected by the
 * weighted LS fit of their signatures to the residuals, with the interpolation error as a Gaussian prior (a
 * per-sample state estimate); the corrected values fill the gaps for the next identification pass, which is how
 * missing data are used without imputing zeros or dropping samples. See docs/bad-data.md.
 */
export interface ResidualTestOptions {
  /** Largest normalised residual that still passes (default 5). */
  readonly threshold?: number;
  /** Significance level of the per-sample chi-squared test (default 1e-3). */
  readonly alpha?: number;
  /** Most readings flagged in one sample (default 4). */
  readonly maxPerSample?: number;
}

export interface ResidualTestResult {
  readonly flags: BadReading[];
  /** Samples failing the chi-squared test before and after removing the flagged readings. */
  readonly chiSquaredFailed: { readonly before: number; readonly after: number };
  /**
   * The series with every missing or flagged reading of a metered bus replaced by its estimate given the tree,
   * the impedances, the other readings of the same sample and the reading's own neighbours in time.
   */
  readonly filled: MeterSeries;
}

/** Time-interpolation error scale of a series: robust spread of x_t − (x_{t−1} + x_{t+1}) / 2. */
function interpolationScale(x: Float64Array): number {
  const d: number[] = [];
  for (let t = 1; t + 1 < x.length; t++) {
    const a = x[t - 1]!;
    const b = x[t]!;
    const c = x[t + 1]!;
    if (!Number.isNaN(a) && !Number.isNaN(b) && !Number.isNaN(c)) d.push(b - 0.5 * (a + c));
  }
  if (d.length < 5) return Number.NaN;
  return 1.4826 * median(d.map(Math.abs));
}

/** Samples to the nearest observed reading (1 next to one), per sample; 0 where observed. */
function gapDistance(x: Float64Array): Int32Array {
  const T = x.length;
  const out = new Int32Array(T);
  let last = -1;
  for (let t = 0; t < T; t++) {
    if (!Number.isNaN(x[t]!)) last = t;
    out[t] = Number.isNaN(x[t]!) ? (last < 0 ? T : t - last) : 0;
  }
  last = -1;
  for (let t = T - 1; t >= 0; t--) {
    if (!Number.isNaN(x[t]!)) last = t;
    else out[t] = Math.min(out[t]!, last < 0 ? T : last - t);
  }
  return out;
}

/** Upper (1 − α) quantile of χ²(k) by the Wilson–Hilferty approximation. */
export function chiSquaredQuantile(k: number, alpha: number): number {
  const z = normalQuantile(1 - alpha);
  const c = 2 / (9 * k);
  return k * (1 - c + z * Math.sqrt(c)) ** 3;
}

function normalQuantile(p: number): number {
  // Bisection on Φ(z) = p (80 halvings of [−10, 10] reach double precision).
  let lo = -10;
  let hi = 10;
  for (let i = 0; i < 80; i++) {
    const mid = 0.5 * (lo + hi);
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

function normalCdf(z: number): number {
  // Φ(z) = ½ erfc(−z/√2).
  return 0.5 * erfc(-z / Math.SQRT2);
}

function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 3) {
    // Maclaurin series of erf.
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction (Lentz), accurate for x ≥ 3.
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 200; n++) {
    const a = n / 2;
    D = x + a * D;
    D = D === 0 ? 1e-300 : 1 / D;
    C = x + a / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (f * Math.sqrt(Math.PI));
}

export function testResiduals(
  data: MeterSeries,
  parent: Int32Array,
  r: Float64Array,
  x: Float64Array,
  opts: ResidualTestOptions = {},
): ResidualTestResult {
  const N = data.busNames.length;
  const T = data.samples;
  const root = data.root;
  const limit = (opts.threshold ?? 5) ** 2;
  const alpha = opts.alpha ?? 1e-3;
  const maxPer = opts.maxPerSample ?? 4;
  const order = bfsOrder(parent, root);
  const kids = childrenOf(parent, root);
  const v = data.vm.map((s) => Float64Array.from(s, (a) => a * a));
  const vFill = v.map((s) => interpolateMissing(s));
  const P = data.p.map((s) => interpolateMissing(s));
  const Q = data.q.map((s) => interpolateMissing(s));
  const usable = (j: number) => j !== root && Number.isFinite(r[j]!) && Number.isFinite(x[j]!);
  // Branch residuals, bottom-up flows with the estimated losses.
  const e = Array.from({ length: N }, () => new Float64Array(T).fill(Number.NaN));
  const Pt = P.map((s, j) => (j === root ? new Float64Array(T) : Float64Array.from(s)));
  const Qt = Q.map((s, j) => (j === root ? new Float64Array(T) : Float64Array.from(s)));
  for (let h = N - 1; h >= 1; h--) {
    const j = order[h]!;
    const i = parent[j]!;
    const rj = Number.isFinite(r[j]!) ? r[j]! : 0;
    const xj = Number.isFinite(x[j]!) ? x[j]! : 0;
    for (let t = 0; t < T; t++) {
      const l = (Pt[j]![t]! ** 2 + Qt[j]![t]! ** 2) / vFill[j]![t]!;
      if (usable(j))
        e[j]![t] =
          vFill[i]![t]! - vFill[j]![t]! - 2 * rj * Pt[j]![t]! - 2 * xj * Qt[j]![t]! - (rj * rj + xj * xj) * l;
      Pt[i]![t] += Pt[j]![t]! + rj * l;
      Qt[i]![t] += Qt[j]![t]! + xj * l;
    }
  }
  // Robust centre and spread per branch.
  const centre = new Float64Array(N);
  const weight = new Float64Array(N);
  const observed = (j: number, t: number) => !Number.isNaN(v[j]![t]!) && !Number.isNaN(v[parent[j]!]![t]!);
  for (let j = 0; j < N; j++) {
    if (!usable(j)) continue;
    const vals: number[] = [];
    for (let t = 0; t < T; t++) if (observed(j, t)) vals.push(e[j]![t]!);
    if (vals.length < 10) continue;
    const c = median(vals);
    const s = 1.4826 * median(vals.map((a) => Math.abs(a - c)));
    centre[j] = c;
    weight[j] = s > 0 ? 1 / (s * s) : 0;
  }
  // Root paths as branch lists.
  const path: number[][] = Array.from({ length: N }, () => []);
  for (let h = 1; h < N; h++) {
    const j = order[h]!;
    path[j] = [j, ...path[parent[j]!]!];
  }
  // Interpolation error scales (prior of the missing readings) and the filled copies.
  const tauV = v.map((s, j) => (j === root ? 0 : interpolationScale(s)));
  const tauP = data.p.map((s, j) => (j === root ? 0 : interpolationScale(s)));
  const tauQ = data.q.map((s, j) => (j === root ? 0 : interpolationScale(s)));
  const gapV = v.map(gapDistance);
  const gapP = data.p.map(gapDistance);
  const gapQ = data.q.map(gapDistance);
  const fillV = vFill.map((s) => Float64Array.from(s));
  const fillP = P.map((s) => Float64Array.from(s));
  const fillQ = Q.map((s) => Float64Array.from(s));
  const metered = data.busNames.map((_, j) => data.vm[j]!.some((a) => !Number.isNaN(a)));
  const signature = (kind: Quantity, k: number, out: Float64Array) => {
    out.fill(0);
    if (kind === "v") {
      if (k !== root) out[k] = -1;
      for (const c of kids[k]!) out[c] = 1;
    } else {
      const coef = kind === "p" ? r : x;
      for (const b of path[k]!) out[b] = -2 * (Number.isFinite(coef[b]!) ? coef[b]! : 0);
    }
  };
  const missKind: Quantity[] = [];
  const missBus: number[] = [];
  const missTau: number[] = [];
  const sig: Float64Array[] = [];
  const flags: BadReading[] = [];
  const et = new Float64Array(N);
  const quantiles = new Map<number, number>();
  let before = 0;
  let after = 0;
  for (let t = 0; t < T; t++) {
    let J = 0;
    let dof = 0;
    for (let j = 0; j < N; j++) {
      const a = e[j]![t]!;
      if (weight[j]! > 0 && !Number.isNaN(a)) et[j] = a - centre[j]!;
      else et[j] = Number.NaN;
    }
    // Missing readings of this sample: correct their interpolated values (WLS with the interpolation prior).
    missKind.length = 0;
    missBus.length = 0;
    missTau.length = 0;
    for (let k = 0; k < N; k++) {
      if (!metered[k]) continue;
      if (k !== root && Number.isNaN(v[k]![t]!) && tauV[k]! > 0) {
        missKind.push("v");
        missBus.push(k);
        missTau.push(tauV[k]! * Math.sqrt(gapV[k]![t]!));
      }
      if (k === root) continue;
      if (Number.isNaN(data.p[k]![t]!) && tauP[k]! > 0) {
        missKind.push("p");
        missBus.push(k);
        missTau.push(tauP[k]! * Math.sqrt(gapP[k]![t]!));
      }
      if (Number.isNaN(data.q[k]![t]!) && tauQ[k]! > 0) {
        missKind.push("q");
        missBus.push(k);
        missTau.push(tauQ[k]! * Math.sqrt(gapQ[k]![t]!));
      }
    }
    const nmiss = missKind.length;
    if (nmiss > 0) {
      while (sig.length < nmiss) sig.push(new Float64Array(N));
      for (let a = 0; a < nmiss; a++) signature(missKind[a]!, missBus[a]!, sig[a]!);
      const M = Array.from({ length: nmiss }, () => new Array<number>(nmiss).fill(0));
      const rhs = new Array<number>(nmiss).fill(0);
      for (let a = 0; a < nmiss; a++) {
        const ha = sig[a]!;
        for (let b = 0; b <= a; b++) {
          const hb = sig[b]!;
          let sum = 0;
          for (let j = 0; j < N; j++)
            if (!Number.isNaN(et[j]!) && ha[j] !== 0) sum += weight[j]! * ha[j]! * hb[j]!;
          M[a]![b] = sum;
          M[b]![a] = sum;
        }
        M[a]![a] += 1 / missTau[a]! ** 2;
        let g = 0;
        for (let j = 0; j < N; j++) if (!Number.isNaN(et[j]!)) g += weight[j]! * ha[j]! * et[j]!;
        rhs[a] = g;
      }
      const alpha = solveSpd(M, rhs);
      if (alpha) {
        for (let a = 0; a < nmiss; a++) {
          const ha = sig[a]!;
          for (let j = 0; j < N; j++) if (!Number.isNaN(et[j]!)) et[j] = et[j]! - alpha[a]! * ha[j]!;
          const k = missBus[a]!;
          const kind = missKind[a]!;
          (kind === "v" ? fillV : kind === "p" ? fillP : fillQ)[k]![t] += alpha[a]!;
        }
      }
    }
    for (let j = 0; j < N; j++) {
      if (Number.isNaN(et[j]!)) continue;
      J += weight[j]! * et[j]! ** 2;
      dof++;
    }
    if (dof === 0) continue;
    let q = quantiles.get(dof);
    if (q === undefined) {
      q = chiSquaredQuantile(dof, alpha);
      quantiles.set(dof, q);
    }
    if (J <= q) continue;
    before++;
    for (let step = 0; step < maxPer && J > q; step++) {
      let best = 0;
      let bestKind: Quantity = "v";
      let bestBus = -1;
      let bestAlpha = 0;
      const consider = (kind: Quantity, bus: number, num: number, den: number) => {
        if (!(den > 0)) return;
        const stat = (num * num) / den;
        if (stat > best) {
          best = stat;
          bestKind = kind;
          bestBus = bus;
          bestAlpha = num / den;
        }
      };
      for (let k = 0; k < N; k++) {
        // Voltage reading of bus k (observed only).
        if (!Number.isNaN(v[k]![t]!)) {
          let num = 0;
          let den = 0;
          if (k !== root && !Number.isNaN(et[k]!)) {
            num -= weight[k]! * et[k]!;
            den += weight[k]!;
          }
          for (const c of kids[k]!) {
            if (Number.isNaN(et[c]!)) continue;
            num += weight[c]! * et[c]!;
            den += weight[c]!;
          }
          consider("v", k, num, den);
        }
        if (k === root || Number.isNaN(data.p[k]![t]!) || Number.isNaN(data.q[k]![t]!)) continue;
        let np = 0;
        let dp = 0;
        let nq = 0;
        let dq = 0;
        for (const b of path[k]!) {
          if (Number.isNaN(et[b]!)) continue;
          const hp = -2 * r[b]!;
          const hq = -2 * x[b]!;
          np += weight[b]! * hp * et[b]!;
          dp += weight[b]! * hp * hp;
          nq += weight[b]! * hq * et[b]!;
          dq += weight[b]! * hq * hq;
        }
        consider("p", k, np, dp);
        consider("q", k, nq, dq);
      }
      if (bestBus < 0 || best <= limit) break;
      // Remove the estimated error from the residuals of this sample.
      const k = bestBus;
      if (bestKind === "v") {
        if (k !== root && !Number.isNaN(et[k]!)) et[k] = et[k]! + bestAlpha;
        for (const c of kids[k]!) if (!Number.isNaN(et[c]!)) et[c] = et[c]! - bestAlpha;
      } else {
        const coef = bestKind === "p" ? r : x;
        for (const b of path[k]!) if (!Number.isNaN(et[b]!)) et[b] = et[b]! + 2 * coef[b]! * bestAlpha;
      }
      J -= best;
      const kind = bestKind as Quantity;
      // The flagged reading's estimate: the reading minus its estimated error.
      if (kind === "v") fillV[k]![t] -= bestAlpha;
      else (kind === "p" ? fillP : fillQ)[k]![t] -= bestAlpha;
      const src = kind === "v" ? data.vm : kind === "p" ? data.p : data.q;
      const value = src[k]![t]!;
      if (Number.isNaN(value)) continue; // a missing reading: its estimate was corrected above
      const expected = kind === "v" ? Math.sqrt(Math.max(0, value * value - bestAlpha)) : value - bestAlpha;
      const z = Math.sqrt(best);
      flags.push({
        bus: data.busNames[k]!,
        quantity: kind,
        sample: t,
        value,
        expected,
        z,
        test: "residual",
        reason: `largest normalised residual ${z.toFixed(1)} of the power-flow equations at sample ${t}: ${kind === "v" ? "|V|" : kind.toUpperCase()} = ${value.toPrecision(5)} pu, consistent value ${expected.toPrecision(5)} pu`,
      });
    }
    if (J > q) after++;
  }
  const filled: MeterSeries = {
    busNames: data.busNames,
    root,
    samples: T,
    vm: fillV.map((s, j) =>
      metered[j] ? Float64Array.from(s, (a) => Math.sqrt(Math.max(a, 0))) : data.vm[j]!,
    ),
    p: fillP.map((s, j) => (j === root ? data.p[j]! : s)),
    q: fillQ.map((s, j) => (j === root ? data.q[j]! : s)),
  };
  return { flags, chiSquaredFailed: { before, after }, filled };
}
