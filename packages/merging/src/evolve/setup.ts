/**
 * What a run (and a queue worker scoring merge coefficients) loads before the first evaluation: the genome
 * layout, the population and base genomes, the statistics files, and the merge through the method registry.
 */
import type { EvolveMergeBlock } from "./config.js";
import { type GenomeLayout, readGenome, readLayout } from "./models.js";
import { type CoefficientMerge, coefficientMerge } from "./registry-merge.js";
import { readSlotStats } from "./stats-files.js";

/** The parts of a config that decide the genomes and the merge (plain JSON: it travels to queue workers). */
export interface PopulationSpec {
  readonly population: readonly string[];
  readonly base: string | null;
  /** Regular-expression sources. */
  readonly include: string | null;
  readonly exclude: string | null;
  readonly merge: EvolveMergeBlock | null;
  readonly seed: number;
}

export interface LoadedPopulation {
  readonly layout: GenomeLayout;
  readonly genomes: Float32Array[];
  readonly base: Float32Array | null;
}

const regex = (s: string | null) => (s === null ? null : new RegExp(s));

export async function loadPopulation(spec: PopulationSpec): Promise<LoadedPopulation> {
  const layout = await readLayout(spec.population[0]!, regex(spec.include), regex(spec.exclude));
  const genomes = spec.population.map(() => new Float32Array(layout.dim));
  for (let i = 0; i < genomes.length; i++) await readGenome(spec.population[i]!, layout, genomes[i]!);
  let base: Float32Array | null = null;
  if (spec.base) {
    base = new Float32Array(layout.dim);
    await readGenome(spec.base, layout, base);
  }
  return { layout, genomes, base };
}

/**
 * The merge of the spec's method over these genomes, with per-model (or, with `groupOf`, per-group and model)
 * coefficients. Statistics belong to the population slot (see registry-merge.ts).
 */
export async function buildMerge(
  spec: PopulationSpec,
  pop: LoadedPopulation,
  groupOf?: ArrayLike<number>,
): Promise<CoefficientMerge> {
  const m = spec.merge;
  if (!m) throw new Error("buildMerge: the spec has no merge block");
  const stats = m.stats
    ? await Promise.all(
        m.stats.map((file, i) =>
          readSlotStats(
            file,
            spec.population[i]!,
            pop.layout.evolved,
            m.method === "fisher" ? "fisher" : "gram",
          ),
        ),
      )
    : undefined;
  return coefficientMerge(
    m.method,
    pop.layout.evolved,
    pop.base ?? new Float32Array(pop.layout.dim),
    {
      lambda: m.lambda,
      tiesTopK: m.topK,
      dareDrop: m.drop,
      pcbRatio: m.ratio,
      regmeanAlpha: m.alpha,
      maskSeed: `x-evolve-${spec.seed}`,
      stats,
      slotNames: spec.population,
    },
    groupOf,
  );
}
