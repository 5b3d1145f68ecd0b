// Float64 re-implementations of mergekit's merge methods, written from the math each method defines
// (mergekit's merge_methods/*.py and sparsify.py), independent of the package's code: plain number
// arrays, full sorts, literal formulas (e.g. multislerp's tangent-space step and karcher's iteration
// are evaluated as written, not simplified). Ties in magnitude orderings go to the lower index (a
// stable sort); mergekit's torch sorts leave that order unspecified.

export type Vec = Float64Array;

export interface RefInput {
  readonly shape: readonly number[];
  /** Base tensor θ₀ (absent for linear / karcher / multislerp without base). */
  readonly base?: Vec;
  readonly models: readonly Vec[];
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const zeros = (n: number) => new Float64Array(n);
const sub = (a: Vec, b: Vec) => a.map((v, k) => v - b[k]);
const dot = (a: Vec, b: Vec) => a.reduce((s, v, k) => s + v * b[k], 0);
const norm = (a: Vec) => Math.sqrt(dot(a, a));
const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

/** Indices sorted by |x| (descending or ascending), ties by lower index. */
function orderByMagnitude(x: Vec, descending: boolean): number[] {
  const idx = Array.from(x, (_, i) => i);
  idx.sort((a, b) => {
    const d = Math.abs(x[a]) - Math.abs(x[b]);
    return (descending ? -d : d) || a - b;
  });
  return idx;
}

// -------------------------------------------------------------------------------------------
// Sparsification (mergekit sparsify.py) and generalized task arithmetic

function rescaleL1(delta: Vec, mask: ArrayLike<number>, rescale: boolean): Vec {
  const masked = delta.map((v, k) => v * mask[k]);
  if (!rescale) return masked;
  const before = delta.reduce((s, v) => s + Math.abs(v), 0);
  const after = masked.reduce((s, v) => s + Math.abs(v), 0);
  if (before < 1e-7 || after < 1e-7) return masked;
  return masked.map((v) => v * (before / after));
}

export function refMagnitude(delta: Vec, density: number, rescale: boolean): Vec {
  if (density >= 1) return delta.slice();
  const k = Math.trunc(density * delta.length);
  if (k <= 0) throw new Error("k = 0");
  const mask = zeros(delta.length);
  for (const i of orderByMagnitude(delta, true).slice(0, k)) mask[i] = 1;
  return rescaleL1(delta, mask, rescale);
}

export function refOutliers(delta: Vec, density: number, gamma: number, rescale: boolean): Vec {
  if (density >= 1) return delta.slice();
  const n = delta.length;
  const target = Math.trunc(density * n);
  let nTop = Math.trunc(gamma * n);
  let nBot = n - target - nTop;
  if (nBot < 0) {
    nTop += nBot;
    nBot = 0;
  }
  const ascending = orderByMagnitude(delta, false);
  // Python's indices[n_bot:-n_top]: an empty slice when n_top = 0.
  const kept = ascending.slice(nBot, nTop === 0 ? 0 : n - nTop);
  const mask = zeros(n);
  for (const i of kept) mask[i] = 1;
  return rescaleL1(delta, mask, rescale);
}

/** Bernoulli (DARE) or DELLA sparsification with a given keep-mask. */
export function refMasked(delta: Vec, density: number, mask: Uint8Array, rescale: boolean): Vec {
  if (density >= 1) return delta.slice();
  return rescaleL1(delta, mask, rescale);
}

export interface GtaModelParams {
  readonly weight: number;
  readonly density?: number;
  readonly gamma?: number;
  readonly mask?: Uint8Array;
}

export type GtaSparsifier = "none" | "magnitude" | "random" | "outliers" | "della";

export function refGta(
  input: RefInput,
  opts: {
    sparsifier: GtaSparsifier;
    consensus: boolean;
    normalize: boolean;
    rescale: boolean;
    lambda: number;
    models: readonly GtaModelParams[];
  },
): Vec {
  const base = input.base as Vec;
  const deltas = input.models.map((m, i) => {
    const delta = sub(m, base);
    const p = opts.models[i];
    const density = p.density ?? 1;
    switch (opts.sparsifier) {
      case "none":
        return delta;
      case "magnitude":
        return refMagnitude(delta, density, opts.rescale);
      case "outliers":
        return refOutliers(delta, density, p.gamma ?? 0.01, opts.rescale);
      default:
        return refMasked(delta, density, p.mask as Uint8Array, opts.rescale);
    }
  });
  const w = opts.models.map((p) => p.weight);
  const d = base.length;
  const out = zeros(d);
  for (let k = 0; k < d; k++) {
    const wd = deltas.map((dl, i) => w[i] * dl[k]);
    let mixed: number;
    let divisor: number;
    if (opts.consensus) {
      const elected = wd.reduce((a, b) => a + b, 0) >= 0 ? 1 : -1;
      mixed = 0;
      divisor = 0;
      wd.forEach((v, i) => {
        if (sign(v) === elected) {
          mixed += v;
          divisor += w[i];
        }
      });
      if (divisor === 0) divisor = 1;
    } else {
      mixed = wd.reduce((a, b) => a + b, 0);
      divisor = w.reduce((a, b) => a + b, 0);
      if (Math.abs(divisor) < 1e-8) divisor = 1;
    }
    if (opts.normalize) mixed /= divisor;
    out[k] = base[k] + opts.lambda * mixed;
  }
  return out;
}

/** DELLA keep probabilities per row of the first dimension (mergekit `della_magprune`). */
export function refDellaProbabilities(
  delta: Vec,
  shape: readonly number[],
  density: number,
  epsilon: number,
): Float64Array {
  const rows = shape.length >= 2 ? shape[0] : 1;
  const cols = delta.length / rows;
  const probs = zeros(delta.length);
  for (let r = 0; r < rows; r++) {
    const row = delta.subarray(r * cols, (r + 1) * cols);
    const order = orderByMagnitude(row, false);
    order.forEach((c, rank) => {
      const rn = cols > 1 ? rank / (cols - 1) : 0.5;
      probs[r * cols + c] = density - epsilon + rn * 2 * epsilon;
    });
  }
  return probs;
}

// -------------------------------------------------------------------------------------------
// Other methods

export function refLinear(input: RefInput, weights: readonly number[], normalize: boolean): Vec {
  const d = numel(input.shape);
  const out = zeros(d);
  input.models.forEach((m, i) => {
    for (let k = 0; k < d; k++) out[k] += weights[i] * m[k];
  });
  if (normalize) {
    const sw = weights.reduce((a, b) => a + b, 0);
    for (let k = 0; k < d; k++) out[k] /= sw;
  }
  return out;
}

export function refPassthrough(input: RefInput, scale: number): Vec {
  return input.models[0].map((v) => v * scale);
}

/** mergekit `slerp` (numpy code path): base → the other model. */
export function refSlerp(input: RefInput, t: number): Vec {
  const v0 = input.base as Vec;
  const v1 = input.models[0];
  const n0 = norm(v0);
  const n1 = norm(v1);
  const u0 = n0 > 1e-8 ? v0.map((v) => v / n0) : v0;
  const u1 = n1 > 1e-8 ? v1.map((v) => v / n1) : v1;
  const c = dot(u0, u1);
  if (Math.abs(c) > 0.9995) return v0.map((v, k) => (1 - t) * v + t * v1[k]);
  const theta0 = Math.acos(c);
  const s0 = Math.sin(theta0 - theta0 * t) / Math.sin(theta0);
  const s1 = Math.sin(theta0 * t) / Math.sin(theta0);
  return v0.map((v, k) => s0 * v + s1 * v1[k]);
}

/** mergekit `nuslerp` on vectors along `axis` ("flat", "last" = rows, "first" = columns). */
function nuslerpVectors(
  t: number,
  a: Vec,
  b: Vec,
  shape: readonly number[],
  axis: "flat" | "last" | "first",
): Vec {
  const d = a.length;
  const out = zeros(d);
  const last = shape.length === 0 ? 1 : shape[shape.length - 1];
  // Groups of element indices forming one vector.
  const groups: number[][] = [];
  if (axis === "flat") groups.push(Array.from({ length: d }, (_, k) => k));
  else if (axis === "last") {
    for (let r = 0; r < d / last; r++) groups.push(Array.from({ length: last }, (_, j) => r * last + j));
  } else {
    const first = shape[0];
    const inner = d / first;
    for (let c = 0; c < inner; c++) groups.push(Array.from({ length: first }, (_, j) => j * inner + c));
  }
  for (const g of groups) {
    const va = Float64Array.from(g, (k) => a[k]);
    const vb = Float64Array.from(g, (k) => b[k]);
    const ua = va.map((v) => v / Math.max(norm(va), 1e-7));
    const ub = vb.map((v) => v / Math.max(norm(vb), 1e-7));
    const theta = Math.acos(Math.min(1, Math.max(-1, dot(ua, ub))));
    const s = Math.sin(theta);
    g.forEach((k, j) => {
      out[k] =
        Math.abs(s) < 1e-8
          ? (1 - t) * va[j] + t * vb[j]
          : (Math.sin((1 - t) * theta) * va[j] + Math.sin(t * theta) * vb[j]) / s;
    });
  }
  return out;
}

export function refNuslerp(
  input: RefInput,
  weights: readonly [number, number],
  opts: { flatten: boolean; rowWise: boolean },
): Vec {
  const sw = weights[0] + weights[1];
  const t = Math.abs(sw) < 1e-6 ? 0.5 : weights[1] / sw;
  const axis = opts.flatten ? "flat" : opts.rowWise ? "first" : "last";
  if (input.base === undefined) return nuslerpVectors(t, input.models[0], input.models[1], input.shape, axis);
  const base = input.base;
  const r = nuslerpVectors(t, sub(input.models[0], base), sub(input.models[1], base), input.shape, axis);
  return r.map((v, k) => v + base[k]);
}

export function refModelStock(input: RefInput, filterWise: boolean): Vec {
  const base = input.base as Vec;
  const d = base.length;
  const cols = filterWise && input.shape.length >= 1 ? input.shape[input.shape.length - 1] : d;
  const out = zeros(d);
  const n = input.models.length;
  for (let off = 0; off < d; off += cols) {
    const offsets = input.models.map((m) =>
      Float64Array.from({ length: cols }, (_, j) => m[off + j] - base[off + j]),
    );
    const cosines: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const c = dot(offsets[i], offsets[j]) / Math.max(norm(offsets[i]) * norm(offsets[j]), 1e-6);
        cosines.push(Math.min(1, Math.max(-1, c)));
      }
    }
    const cos = cosines.reduce((a, b) => a + b, 0) / cosines.length;
    const t = (n * cos) / (1 + (n - 1) * cos);
    for (let j = 0; j < cols; j++) {
      const avg = input.models.reduce((s, m) => s + m[off + j], 0) / n;
      out[off + j] = t * avg + (1 - t) * base[off + j];
    }
  }
  return out;
}

export function refNearswap(input: RefInput, t: number): Vec {
  const a = input.base as Vec;
  const b = input.models[0];
  return a.map((v, k) => {
    const w = Math.min(1, Math.max(0, t / Math.max(Math.abs(v - b[k]), 1e-6)));
    return w * b[k] + (1 - w) * v;
  });
}

export function refSce(input: RefInput, selectTopk: number): Vec {
  const base = input.base as Vec;
  const d = base.length;
  const n = input.models.length;
  let tvs = input.models.map((m) => sub(m, base));
  if (selectTopk < 1) {
    let mask: Float64Array;
    if (selectTopk <= 0) mask = zeros(d);
    else {
      // (nΣδ² − (Σδ)²)/n²: the sums are exact for stored float32/bfloat16 task vectors of similar
      // magnitude, so positions whose changes are permutations of each other tie exactly.
      const variance = Float64Array.from({ length: d }, (_, k) => {
        const s1 = tvs.reduce((s, tv) => s + tv[k], 0);
        const s2 = tvs.reduce((s, tv) => s + tv[k] * tv[k], 0);
        return (n * s2 - s1 * s1) / (n * n);
      });
      const nonzero = variance.filter((v) => v !== 0).length;
      const k = Math.trunc(nonzero * selectTopk);
      mask = zeros(d);
      for (const i of orderByMagnitude(variance, true).slice(0, k)) mask[i] = 1;
    }
    tvs = tvs.map((tv) => tv.map((v, k) => v * mask[k]));
  }
  const raw = tvs.map((tv) => tv.reduce((s, v) => s + v * v, 0) / d);
  const sum = raw.reduce((a, b) => a + b, 0);
  const w = Math.abs(sum) < 1e-6 ? raw.map(() => 1 / n) : raw.map((v) => v / sum);
  const out = zeros(d);
  for (let k = 0; k < d; k++) {
    const elected = tvs.reduce((s, tv) => s + tv[k], 0) >= 0 ? 1 : -1;
    let merged = 0;
    let weights = 0;
    tvs.forEach((tv, i) => {
      if (sign(tv[k]) === elected) {
        merged += tv[k] * w[i];
        weights += w[i];
      }
    });
    out[k] = base[k] + merged / Math.max(weights, 1e-6);
  }
  return out;
}

function ramCommon(input: RefInput, epsilon: number) {
  const base = input.base as Vec;
  const tvs = input.models.map((m) => sub(m, base));
  const active = tvs.map((tv) => Array.from(tv, (v) => Math.abs(v) > epsilon));
  const counts = Array.from(base, (_, k) => active.reduce((c, a) => c + (a[k] ? 1 : 0), 0));
  return { base, tvs, active, counts };
}

export function refRam(input: RefInput, epsilon: number): Vec {
  const { base, tvs, active, counts } = ramCommon(input, epsilon);
  return base.map((b, k) => {
    let s = 0;
    tvs.forEach((tv, i) => {
      if (!active[i][k]) return;
      s += counts[k] === 1 ? tv[k] : tv[k] / Math.max(counts[k], 1);
    });
    return b + s;
  });
}

export function refRamPlus(input: RefInput, r: number, alpha: number, epsilon: number): Vec {
  const { base, tvs, active, counts } = ramCommon(input, epsilon);
  const lambdas = tvs.map((_, i) => {
    let shared = 0;
    let unique = 0;
    counts.forEach((c, k) => {
      if (!active[i][k]) return;
      if (c > 1) shared++;
      if (c === 1) unique++;
    });
    const rho = shared / Math.max(unique, epsilon);
    return 1 + r * Math.min(alpha, Math.max(0, rho));
  });
  return base.map((b, k) => {
    let s = 0;
    tvs.forEach((tv, i) => {
      if (!active[i][k]) return;
      s += counts[k] === 1 ? tv[k] * lambdas[i] : tv[k] / counts[k];
    });
    return b + s;
  });
}

/** mergekit `karcher_merge_tensors` with equal weights, literally. */
export function refKarcher(points: readonly Vec[], maxIter: number, tol: number): Vec {
  if (points.length === 1) return points[0].slice();
  const d = points[0].length;
  const alphas = points.map(() => 1 / points.length);
  const norms = points.map(norm);
  const units = points.map((p, i) => (norms[i] === 0 ? zeros(d) : p.map((v) => v / norms[i])));
  const valid = norms
    .map((n, i) => [n, i] as const)
    .filter(([n]) => n > tol)
    .map(([, i]) => i);
  if (valid.length === 0) return zeros(d);
  const alphaSum = valid.reduce((s, i) => s + alphas[i], 0);
  const a = valid.map((i) => alphas[i] / alphaSum);
  const vu = valid.map((i) => units[i]);
  let u = zeros(d);
  vu.forEach((ui, j) => {
    u = u.map((v, k) => v + a[j] * ui[k]);
  });
  const nu = norm(u);
  u = nu < tol ? vu[0].slice() : u.map((v) => v / nu);
  for (let iter = 0; iter < maxIter; iter++) {
    let T = zeros(d);
    vu.forEach((ui, j) => {
      const c = Math.min(1, Math.max(-1, dot(u, ui)));
      const theta = Math.acos(c);
      if (theta < tol) return;
      const f = a[j] * (theta / Math.sin(theta));
      T = T.map((v, k) => v + f * (ui[k] - c * u[k]));
    });
    const nT = norm(T);
    if (nT < tol) break;
    u = u.map((v, k) => Math.cos(nT) * v + Math.sin(nT) * (T[k] / nT));
    const un = norm(u);
    if (un > tol) u = u.map((v) => v / un);
  }
  const s = alphas.reduce((acc, al, i) => acc + al * norms[i], 0);
  return u.map((v) => s * v);
}

/** mergekit `multislerp`, literally (tangent vectors and exponential map included). */
export function refMultislerp(
  input: RefInput,
  weights: readonly number[],
  normalizeWeights: boolean,
  eps: number,
): Vec {
  if (input.models.length === 1) return input.models[0].slice();
  const base = input.base;
  const tvs = input.models.map((m) => (base === undefined ? m.slice() : sub(m, base)));
  const sw = weights.reduce((a, b) => a + b, 0);
  const w = normalizeWeights ? weights.map((v) => v / sw) : [...weights];
  const norms = tvs.map(norm);
  const units = tvs.map((tv, i) => tv.map((v) => v / (norms[i] + eps)));
  const d = tvs[0].length;
  let mean = zeros(d);
  units.forEach((u, i) => {
    mean = mean.map((v, k) => v + u[k] * w[i]);
  });
  const mn = norm(mean);
  if (mn < eps) {
    if (tvs.length !== 2) throw new Error("degenerate");
    return tvs[0].map((v, k) => v * w[0] + tvs[1][k] * w[1] + (base ? base[k] : 0));
  }
  mean = mean.map((v) => v / mn);
  const tangents = units.map((u) => {
    const c = dot(u, mean);
    return u.map((v, k) => v - c * mean[k]);
  });
  let tr = zeros(d);
  tangents.forEach((tg, i) => {
    tr = tr.map((v, k) => v + tg[k] * w[i]);
  });
  const tn = norm(tr) + eps;
  const avgNorm = norms.reduce((s, n, i) => s + n * w[i], 0);
  return mean.map(
    (m, k) => (m * Math.cos(tn) + tr[k] * (Math.sin(tn) / tn)) * avgNorm + (base ? base[k] : 0),
  );
}

/** mergekit `arcee_fusion` (exact quantiles: mergekit samples only above 10⁶ entries). */
export function refArceeFusion(input: RefInput): Vec {
  const base = input.base as Vec;
  const other = input.models[0];
  const d = base.length;
  const cols = input.shape.length === 0 ? 1 : input.shape[input.shape.length - 1];
  const softmax = (x: Vec) => {
    const mx = Math.max(...x);
    const e = x.map((v) => Math.exp(v - mx));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  const importance = zeros(d);
  for (let off = 0; off < d; off += cols) {
    const p = softmax(other.subarray(off, off + cols)).map((v) => v + 1e-8);
    const q = softmax(base.subarray(off, off + cols)).map((v) => v + 1e-8);
    const kl = p.reduce((s, pj, j) => s + pj * Math.log(pj / q[j]), 0);
    for (let k = off; k < off + cols; k++) importance[k] = Math.abs(other[k] - base[k]) * kl;
  }
  const sorted = Array.from(importance).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.trunc(q * (d - 1))];
  const threshold = at(0.5) + 1.5 * (at(0.75) - at(0.25));
  return base.map((b, k) => (importance[k] >= threshold ? other[k] : b));
}
