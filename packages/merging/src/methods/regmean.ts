// `regmean` (Jin et al.): for a linear layer y = W x with W of shape [out, in] and per-model input
// Gram matrices G_i = X_iᵀX_i ([in, in], `aux.gram`), the merged weight solves
//   (Σ_i G̃_i) W_Mᵀ = Σ_i G̃_i W_iᵀ,  G̃_i = G_i with off-diagonal entries scaled by α
// (`reduce_non_diagonal_ratio`). Parameters without Gram matrices (biases, norms, embeddings) are
// averaged. Solved in float64 by Cholesky, falling back to pivoted LU when Σ G̃ is not positive definite.

import type { MergeMethod } from "../method.js";
import { MergeMethodError } from "../method.js";
import { checkInput, num, tensorScope } from "./common.js";

/** Solves A X = B in place for X (A: m×m, B: m×c, both row-major float64); A is overwritten. */
export function solveSpd(
  a: Float64Array,
  b: Float64Array,
  m: number,
  c: number,
  where: string,
): Float64Array {
  // Cholesky A = L Lᵀ (lower triangle in place).
  const l = a.slice();
  let spd = true;
  for (let j = 0; j < m && spd; j++) {
    let s = l[j * m + j];
    for (let p = 0; p < j; p++) s -= l[j * m + p] * l[j * m + p];
    if (!(s > 0)) {
      spd = false;
      break;
    }
    const ljj = Math.sqrt(s);
    l[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let t = l[i * m + j];
      for (let p = 0; p < j; p++) t -= l[i * m + p] * l[j * m + p];
      l[i * m + j] = t / ljj;
    }
  }
  if (spd) {
    for (let col = 0; col < c; col++) {
      for (let i = 0; i < m; i++) {
        let s = b[i * c + col];
        for (let p = 0; p < i; p++) s -= l[i * m + p] * b[p * c + col];
        b[i * c + col] = s / l[i * m + i];
      }
      for (let i = m - 1; i >= 0; i--) {
        let s = b[i * c + col];
        for (let p = i + 1; p < m; p++) s -= l[p * m + i] * b[p * c + col];
        b[i * c + col] = s / l[i * m + i];
      }
    }
    return b;
  }
  // Gaussian elimination with partial pivoting.
  for (let j = 0; j < m; j++) {
    let piv = j;
    for (let i = j + 1; i < m; i++) if (Math.abs(a[i * m + j]) > Math.abs(a[piv * m + j])) piv = i;
    if (a[piv * m + j] === 0) throw new MergeMethodError(`${where}: summed Gram matrix is singular`);
    if (piv !== j) {
      for (let p = 0; p < m; p++) [a[j * m + p], a[piv * m + p]] = [a[piv * m + p], a[j * m + p]];
      for (let p = 0; p < c; p++) [b[j * c + p], b[piv * c + p]] = [b[piv * c + p], b[j * c + p]];
    }
    const ajj = a[j * m + j];
    for (let i = j + 1; i < m; i++) {
      const f = a[i * m + j] / ajj;
      if (f === 0) continue;
      for (let p = j; p < m; p++) a[i * m + p] -= f * a[j * m + p];
      for (let p = 0; p < c; p++) b[i * c + p] -= f * b[j * c + p];
    }
  }
  for (let i = m - 1; i >= 0; i--) {
    for (let p = 0; p < c; p++) {
      let s = b[i * c + p];
      for (let q = i + 1; q < m; q++) s -= a[i * m + q] * b[q * c + p];
      b[i * c + p] = s / a[i * m + i];
    }
  }
  return b;
}

/**
 * RegMean merge of one linear weight: `weights[i]` is [out, in] row-major, `grams[i]` is [in, in].
 * Returns the merged [out, in] weight.
 */
export function regmeanMerge(
  weights: readonly Float32Array[],
  grams: readonly Float32Array[],
  outDim: number,
  inDim: number,
  nonDiagonalRatio = 1,
  where = "regmean",
): Float32Array {
  const n = weights.length;
  if (n === 0) throw new MergeMethodError(`${where}: needs at least one model`);
  if (grams.length !== n)
    throw new MergeMethodError(`${where}: ${grams.length} Gram matrices for ${n} models`);
  for (let i = 0; i < n; i++) {
    if (weights[i].length !== outDim * inDim) {
      throw new MergeMethodError(
        `${where}: weight ${i} has ${weights[i].length} values, expected ${outDim}×${inDim}`,
      );
    }
    if (grams[i].length !== inDim * inDim) {
      throw new MergeMethodError(
        `${where}: Gram ${i} has ${grams[i].length} values, expected ${inDim}×${inDim}`,
      );
    }
  }
  const sumG = new Float64Array(inDim * inDim);
  const rhs = new Float64Array(inDim * outDim); // Σ G̃_i W_iᵀ, [in, out]
  const gi = new Float64Array(inDim * inDim);
  for (let i = 0; i < n; i++) {
    const g = grams[i];
    for (let r = 0; r < inDim; r++) {
      for (let c = 0; c < inDim; c++) {
        const v = r === c ? g[r * inDim + c] : nonDiagonalRatio * g[r * inDim + c];
        gi[r * inDim + c] = v;
        sumG[r * inDim + c] += v;
      }
    }
    const w = weights[i];
    // (G̃ Wᵀ)[r, o] = Σ_c G̃[r, c] W[o, c]
    for (let r = 0; r < inDim; r++) {
      for (let o = 0; o < outDim; o++) {
        let s = 0;
        for (let c = 0; c < inDim; c++) s += gi[r * inDim + c] * w[o * inDim + c];
        rhs[r * outDim + o] += s;
      }
    }
  }
  const x = solveSpd(sumG, rhs, inDim, outDim, where); // W_Mᵀ, [in, out]
  const out = new Float32Array(outDim * inDim);
  for (let o = 0; o < outDim; o++) for (let c = 0; c < inDim; c++) out[o * inDim + c] = x[c * outDim + o];
  return out;
}

export const regmean: MergeMethod = {
  name: "regmean",
  description:
    "RegMean: closed-form merge of linear layers from per-model input Gram matrices (aux.gram); others averaged",
  base: "none",
  minModels: 1,
  randomized: false,
  params: [
    {
      name: "reduce_non_diagonal_ratio",
      scope: "global",
      type: "number",
      default: 0.95,
      min: 0,
      max: 1,
      description: "α scaling the Gram matrices' off-diagonal entries (FusionBench CLIP config: 0.95).",
    },
  ],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(regmean, input);
    const grams = input.aux?.gram;
    if (!grams) {
      const out = new Float32Array(d);
      const n = input.models.length;
      for (let k = 0; k < d; k++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += input.models[i][k];
        out[k] = s / n;
      }
      return out;
    }
    if (input.shape.length !== 2) {
      throw new MergeMethodError(
        `regmean: tensor '${input.name}' has Gram matrices but shape [${input.shape}] is not 2-D`,
      );
    }
    const [outDim, inDim] = input.shape;
    return regmeanMerge(
      input.models,
      grams,
      outDim,
      inDim,
      num(input.params, "reduce_non_diagonal_ratio"),
      `regmean: tensor '${input.name}'`,
    );
  },
};
