// `regmean` (Jin et al.): for a linear layer y = W x with W of shape [out, in] and per-model input
// Gram matrices G_i = X_iᵀX_i ([in, in], `aux.gram`), the merged weight solves
//   (Σ_i G̃_i) W_Mᵀ = Σ_i G̃_i W_iᵀ,  G̃_i = G_i with off-diagonal entries scaled by α
// (`reduce_non_diagonal_ratio`). Products and the solve (LU with partial pivoting) in float64 with
// ml-matrix.
// Parameters without Gram matrices (biases, norms, embeddings: everything but the linear layers) are
// averaged. A merge given no Gram matrices at all is an error unless `missing_gram: average` asks for
// the plain average; `missing_gram: strict` makes every 2-D weight without them an error
// (docs/aux-inputs.md).

import { LuDecomposition, Matrix } from "ml-matrix";
import type { MergeMethod } from "../method.js";
import { MergeMethodError } from "../method.js";
import { checkInput, num, str, tensorScope } from "./common.js";

/**
 * Solves A X = B for X (A: m×m, B: m×c) by LU with partial pivoting (stable for the symmetric positive
 * (semi-)definite Gram sums, and ml-matrix's fastest solve for many right-hand sides: its Cholesky
 * solve walks B by columns). Throws a MergeMethodError when A is singular.
 */
function solveGramSystem(a: Matrix, b: Matrix, where: string): Matrix {
  const lu = new LuDecomposition(a);
  if (lu.isSingular()) throw new MergeMethodError(`${where}: summed Gram matrix is singular`);
  return lu.solve(b);
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
  const sumG = Matrix.zeros(inDim, inDim);
  const rhs = Matrix.zeros(inDim, outDim); // Σ G̃_i W_iᵀ, [in, out]
  for (let i = 0; i < n; i++) {
    const g = grams[i];
    const gi = new Matrix(inDim, inDim);
    for (let r = 0; r < inDim; r++) {
      for (let c = 0; c < inDim; c++)
        gi.set(r, c, r === c ? g[r * inDim + c] : nonDiagonalRatio * g[r * inDim + c]);
    }
    sumG.add(gi);
    const wt = new Matrix(inDim, outDim);
    const w = weights[i];
    for (let o = 0; o < outDim; o++) for (let c = 0; c < inDim; c++) wt.set(c, o, w[o * inDim + c]);
    rhs.add(gi.mmul(wt));
  }
  const x = solveGramSystem(sumG, rhs, where); // W_Mᵀ, [in, out]
  const out = new Float32Array(outDim * inDim);
  for (let o = 0; o < outDim; o++) for (let c = 0; c < inDim; c++) out[o * inDim + c] = x.get(c, o);
  return out;
}

export const regmean: MergeMethod = {
  name: "regmean",
  description:
    "RegMean: closed-form merge of linear layers from per-model input Gram matrices (aux.gram); 1-D parameters averaged",
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
    {
      name: "missing_gram",
      scope: "global",
      type: "string",
      default: "error",
      choices: ["error", "strict", "average"],
      description:
        "Tensors without Gram matrices are averaged; 'error' (default): a merge given no Gram matrices at all is an error; 'strict': every 2-D weight without them is; 'average': never (the plain average when none are given).",
    },
  ],
  auxInputs: [{ kind: "gram", required: "some", fallback: { param: "missing_gram", value: "average" } }],
  scopeOf: tensorScope,
  mergeTensor(input) {
    const d = checkInput(regmean, input);
    const grams = input.aux?.gram;
    if (!grams) {
      if (input.shape.length >= 2 && str(input.params, "missing_gram") === "strict") {
        throw new MergeMethodError(
          `regmean: tensor '${input.name}' (shape [${input.shape.join(", ")}]) has no Gram matrices (missing_gram: strict): give each model's Gram matrix of this layer's inputs (aux.gram, or gram.safetensors beside each checkpoint)`,
        );
      }
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
