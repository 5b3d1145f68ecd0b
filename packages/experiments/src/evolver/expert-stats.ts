/**
 * Fisher diagonals and Gram matrices of an experiment expert (docs/evolver.md: diagonal Fisher from 500
 * samples; RegMean Gram matrices per layer), computed with the zoo's code on the first `samples` images of
 * the expert's own training data, and laid out for the registry merges (genome-aligned Fisher; Gram
 * matrices keyed by the genome's tensor names, the head included since the experiment evolves it).
 */
import { IMAGE_SIZE, type ImageSet } from "@x/datasets";
import type { GenomeTensor, SlotStats } from "@x/merging/evolve";
import type { MlpArch } from "@x/zoo";
import { fisherDiagonal, gramWithRidge, HEAD_STATS_BIAS, HEAD_STATS_WEIGHT, layerGrams } from "@x/zoo";
import { fromGenome, HEAD_BIAS, HEAD_WEIGHT } from "./setup.js";

/** The zoo's statistics names for the genome's head tensors. */
const ZOO_NAME = new Map([
  [HEAD_WEIGHT, HEAD_STATS_WEIGHT],
  [HEAD_BIAS, HEAD_STATS_BIAS],
]);

function firstSamples(data: ImageSet, samples: number): ImageSet {
  const n = Math.min(samples, data.count);
  return { images: data.images.subarray(0, n * IMAGE_SIZE), labels: data.labels.subarray(0, n), count: n };
}

export async function expertStats(
  arch: MlpArch,
  layout: readonly GenomeTensor[],
  genome: Float32Array,
  data: ImageSet,
  samples = 500,
): Promise<SlotStats> {
  const { backbone, head } = fromGenome(arch, genome);
  const set = firstSamples(data, samples);
  const fisherParams = await fisherDiagonal(arch, backbone, head, set, { head: true });
  const gramParams = await layerGrams(arch, backbone, set, { head: true });
  const fisher = new Float32Array(genome.length);
  const gram = new Map<string, Float32Array>();
  for (const t of layout) {
    const key = ZOO_NAME.get(t.name) ?? t.name;
    const f = fisherParams.get(key);
    if (!f || f.data.length !== t.size) throw new Error(`Fisher of '${t.name}' missing or of the wrong size`);
    fisher.set(f.data, t.offset);
    const g = gramParams.get(key);
    if (g) gram.set(t.name, gramWithRidge(g.data, t.shape[1]!));
  }
  return { fisher, gram };
}
