import type { ImageSet } from "@x/datasets";
import { FastSnn, type InferenceEngine } from "../infer/net.js";
import type { ModelSpec } from "../model/spec.js";
import { accuracyPercent } from "./fitness.js";

/** Element-wise mean of genomes (weights, BN affine and running statistics alike). */
export function averageGenomes(genomes: readonly Float32Array[]): Float32Array {
  const d = genomes[0].length;
  const acc = new Float64Array(d);
  for (const g of genomes) for (let i = 0; i < d; i++) acc[i] += g[i];
  const out = new Float32Array(d);
  for (let i = 0; i < d; i++) out[i] = acc[i] / genomes.length;
  return out;
}

/**
 * Greedy soup (Wortsman et al. 2022): members sorted by validation accuracy, each added to the soup when the
 * uniform average of soup ∪ {member} scores at least as well on validation. Returns the soup and its members.
 */
export function greedySoup(
  spec: ModelSpec,
  genomes: readonly Float32Array[],
  val: ImageSet,
  engine: InferenceEngine = "auto",
): { genome: Float32Array; members: number[]; valAccuracy: number } {
  const scores = genomes.map((g) => accuracyPercent(spec, g, val, engine));
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  let members = [order[0]];
  let best = scores[order[0]];
  for (const i of order.slice(1)) {
    const trial = [...members, i];
    const acc = accuracyPercent(spec, averageGenomes(trial.map((k) => genomes[k])), val, engine);
    if (acc >= best) {
      members = trial;
      best = acc;
    }
  }
  return { genome: averageGenomes(members.map((k) => genomes[k])), members, valAccuracy: best };
}

/** Accuracy (%) of the ensemble that averages the members' logits (N× the inference cost). */
export function logitEnsembleAccuracy(
  spec: ModelSpec,
  genomes: readonly Float32Array[],
  set: ImageSet,
  engine: InferenceEngine = "auto",
): number {
  const sum = new Float64Array(set.count * spec.classes);
  for (const g of genomes) {
    const l = FastSnn.compile(spec, g, engine).logits(set.images, set.count);
    for (let i = 0; i < l.length; i++) sum[i] += l[i];
  }
  let correct = 0;
  for (let i = 0; i < set.count; i++) {
    let b = 0;
    for (let c = 1; c < spec.classes; c++) if (sum[i * spec.classes + c] > sum[i * spec.classes + b]) b = c;
    if (b === set.labels[i]) correct++;
  }
  return (100 * correct) / set.count;
}

/** Mean pairwise L2 distance between genomes and mean pairwise disagreement (%) of their predictions on `set`. */
export function populationDiversity(
  spec: ModelSpec,
  genomes: readonly Float32Array[],
  set: ImageSet,
  engine: InferenceEngine = "auto",
): { l2: number; disagreement: number } {
  const preds = genomes.map((g) => FastSnn.compile(spec, g, engine).predict(set.images, set.count));
  let l2 = 0;
  let dis = 0;
  let pairs = 0;
  for (let a = 0; a < genomes.length; a++) {
    for (let b = a + 1; b < genomes.length; b++) {
      let s = 0;
      for (let i = 0; i < genomes[a].length; i++) {
        const d = genomes[a][i] - genomes[b][i];
        s += d * d;
      }
      l2 += Math.sqrt(s);
      let k = 0;
      for (let i = 0; i < set.count; i++) if (preds[a][i] !== preds[b][i]) k++;
      dis += (100 * k) / set.count;
      pairs++;
    }
  }
  return { l2: l2 / pairs, disagreement: dis / pairs };
}
