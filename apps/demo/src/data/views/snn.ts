import { type Num, pointer } from "../num.js";
import { stat } from "../stats.js";
import type { MembraneTrace, SnnTour, SpikeRaster, TourResult } from "../tour-schema.js";
import type { MeanStd } from "./merging.js";
import { type SourceInfo, tourSource } from "./source.js";

export interface SnnArmView {
  readonly id: string;
  readonly label: string;
  readonly perSeed: readonly { seed: number; test: Num }[];
  readonly test: MeanStd;
}

export interface SnnView {
  readonly source: SourceInfo;
  readonly model: string;
  readonly timeSteps: number;
  readonly threshold: number;
  readonly sample: string;
  readonly rasters: readonly SpikeRaster[];
  readonly spikeCount: Num;
  readonly membrane: readonly MembraneTrace[];
  readonly arms: readonly SnnArmView[];
}

export function snnFromTour(tour: TourResult & { snn: SnnTour }, file: string): SnnView {
  const s = tour.snn;
  const spikes = s.rasters.reduce((n, r) => n + r.spikes.reduce((m, row) => m + row.length, 0), 0);
  return {
    source: tourSource(tour, file),
    model: s.model.description,
    timeSteps: s.model.timeSteps,
    threshold: s.model.threshold,
    sample: `${s.sample.dataset} test image #${s.sample.index}, label ${s.sample.label}, predicted ${s.sample.predicted}`,
    rasters: s.rasters,
    // Spikes are counted by the page; the pointer selects every spike time of every layer.
    spikeCount: {
      value: spikes,
      format: "int",
      file,
      json: pointer("snn", "rasters", "*", "spikes", "*"),
      agg: "count",
    },
    membrane: s.membrane,
    arms: s.arms.map((arm, ai) => {
      const st = stat(arm.perSeed.map((p) => p.testAccuracy));
      const all = pointer("snn", "arms", ai, "perSeed", "*", "testAccuracy");
      return {
        id: arm.id,
        label: arm.label,
        perSeed: arm.perSeed.map((p, pi) => ({
          seed: p.seed,
          test: {
            value: p.testAccuracy,
            format: "pct1",
            file,
            json: pointer("snn", "arms", ai, "perSeed", pi, "testAccuracy"),
          },
        })),
        test: {
          mean: { value: st.mean, format: "pct1", file, json: all, agg: "mean" },
          std: { value: st.std, format: "pct1", file, json: all, agg: "std" },
        },
      };
    }),
  };
}
