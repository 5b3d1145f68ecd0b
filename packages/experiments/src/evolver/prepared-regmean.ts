/**
 * RegMean as a prepared linear operator for repeated merges of one population's slots (the Evolver experiment's
 * mode B and random search): TensorFlow.js does the one matrix product per layer and merge.
 */
import { regmeanMerge } from "@x/merging";
import { type CoefficientMerge, type GenomeTensor, MergeSetupError, type SlotStats } from "@x/merging/evolve";
import { getTf, type Tf } from "@x/zoo";

/**
 * RegMean with fixed per-slot Gram matrices as a linear operator: W_M = Σ_i W_i R_i with
 * R_i = (G̃_i (Σ_j G̃_j)⁻¹)ᵀ, obtained from @x/merging's `regmeanMerge` itself by merging the identity in
 * slot i against zeros carrying the other slots' summed Gram matrix (RegMean is linear in the weights). One solve per slot and layer up front
 * instead of one per merge: a merge of the 784→256 layer drops from ≈ 3.7 s (solve + Gram products) to
 * one matrix product in TensorFlow.js (wasm). Coefficients c_i scale each slot's term (c = 1: RegMean exactly, up to rounding);
 * non-linear parameters are the c-weighted mean, as `regmean` averages them.
 */
export async function preparedRegmean(
  layout: readonly GenomeTensor[],
  stats: readonly SlotStats[],
  alpha: number,
): Promise<CoefficientMerge> {
  const tf = await getTf();
  const n = stats.length;
  const ops = new Map<string, Float32Array[]>();
  for (const t of layout) {
    const grams = stats.map((st) => st.gram?.get(t.name));
    if (grams.some((g) => !g)) continue;
    const inDim = t.shape[1];
    const m = inDim * inDim;
    // G̃_j (off-diagonal scaled by α) and their sum, so each slot needs one two-model solve:
    // RegMean([I, 0]; [G̃_i, Σ_{j≠i} G̃_j], α = 1) = (G̃_i (Σ_j G̃_j)⁻¹)ᵀ.
    const scaled = grams.map((g) => {
      const s = new Float32Array(m);
      for (let r = 0; r < inDim; r++)
        for (let c = 0; c < inDim; c++)
          s[r * inDim + c] = r === c ? g![r * inDim + c] : alpha * g![r * inDim + c];
      return s;
    });
    const total = new Float64Array(m);
    for (const s of scaled) for (let k = 0; k < m; k++) total[k] += s[k];
    const eye = new Float32Array(m);
    for (let k = 0; k < inDim; k++) eye[k * inDim + k] = 1;
    const zero = new Float32Array(m);
    const rest = new Float32Array(m);
    ops.set(
      t.name,
      scaled.map((si) => {
        for (let k = 0; k < m; k++) rest[k] = total[k] - si[k];
        return regmeanMerge([eye, zero], [si, rest], inDim, inDim, 1, `regmean: tensor '${t.name}'`);
      }),
    );
  }
  // Per layer, [R_1; …; R_n] stacked ([n·in, in]) once; a merge is one product [c_1 W_1 … c_n W_n] · R.
  const stacked = new Map<string, ReturnType<Tf["tensor2d"]>>();
  for (const [name, rs] of ops) {
    const inDim = rs[0].length === 0 ? 0 : Math.round(Math.sqrt(rs[0].length));
    const all = new Float32Array(n * inDim * inDim);
    for (let i = 0; i < n; i++) all.set(rs[i], i * inDim * inDim);
    stacked.set(name, tf.tensor2d(all, [n * inDim, inDim]));
  }
  let wide = new Float32Array(0);
  return (genomes, c, out) => {
    if (genomes.length !== n)
      throw new MergeSetupError(`regmean merge: ${genomes.length} genomes for ${n} slots`);
    let csum = 0;
    for (let i = 0; i < n; i++) csum += c[i];
    for (const t of layout) {
      const r = stacked.get(t.name);
      if (!r) {
        for (let k = t.offset; k < t.offset + t.size; k++) {
          let v = 0;
          for (let i = 0; i < n; i++) v += c[i] * genomes[i][k];
          out[k] = v / csum;
        }
        continue;
      }
      const [outDim, inDim] = t.shape;
      const width = n * inDim;
      if (wide.length < outDim * width) wide = new Float32Array(outDim * width);
      for (let o = 0; o < outDim; o++) {
        for (let i = 0; i < n; i++) {
          const w = genomes[i];
          const ci = c[i];
          const src = t.offset + o * inDim;
          const dst = o * width + i * inDim;
          for (let q = 0; q < inDim; q++) wide[dst + q] = ci * w[src + q];
        }
      }
      const merged = tf.tidy(() =>
        tf.matMul(tf.tensor2d(wide.subarray(0, outDim * width), [outDim, width]), r).dataSync(),
      );
      out.set(merged as Float32Array, t.offset);
    }
  };
}
