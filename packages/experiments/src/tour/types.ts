/**
 * The shape of the demo tour's result (`tour.json`). The contract itself — the valibot schema with its checks
 * and `parseTourResult` — lives with the page that reads it (`@x/demo/tour-schema`); a package cannot depend on
 * an app, so these are the plain types the producer fills, and `x demo` parses the result with the schema
 * before writing it (and the CLI's type check assigns `DemoTour` to the schema's `TourResult`).
 * Units: accuracies are fractions in [0, 1], impedances per unit, `…Pct` percent.
 */

export interface NotRunSection {
  readonly status: "not-run";
  readonly reason: string;
}

export type TourParamValue = number | string | boolean | null;

export interface TourMergeMethod {
  readonly id: string;
  readonly label: string;
  readonly role: "merge" | "reference";
  readonly perSeed: {
    readonly seed: number;
    readonly params: Record<string, TourParamValue>;
    readonly testAccuracy: number[];
    readonly valAccuracy?: number[];
  }[];
}

export interface TourTaskCountPoint {
  readonly numTasks: number;
  readonly seed: number;
  readonly tasks: string[];
  readonly avgTestAccuracy: number;
}

export interface MergingSection {
  readonly status: "ok";
  readonly tasks: string[];
  readonly seeds: number[];
  readonly selection: string;
  readonly methods: TourMergeMethod[];
  readonly taskCountCurve: { readonly method: string; readonly points: TourTaskCountPoint[] }[];
}

export interface TourEvolutionRun {
  readonly id: string;
  readonly label: string;
  readonly algorithm: "evolver" | "random-search" | "de" | "cade";
  readonly seed: number;
  readonly curve: { readonly evaluations: number[]; readonly best: number[]; readonly mean?: number[] };
  readonly final?: { readonly dev?: number; readonly test?: number };
}

export interface TourCadeSchedule {
  readonly strategy: "S2" | "S3" | "S5";
  readonly f0: number;
  readonly cr0: number;
  readonly low: number;
  readonly halfPeriod: number;
  readonly generations: number;
  readonly recorded?: { readonly generation: number[]; readonly f: number[]; readonly cr: number[] };
}

export interface EvolutionSection {
  readonly status: "ok";
  readonly fitness: { readonly label: string; readonly unit: string };
  readonly runs: TourEvolutionRun[];
  readonly schedule?: TourCadeSchedule;
}

export interface SnnSection {
  readonly status: "ok";
  readonly model: { readonly description: string; readonly timeSteps: number; readonly threshold: number };
  readonly sample: {
    readonly dataset: string;
    readonly index: number;
    readonly label: number;
    readonly predicted: number;
  };
  readonly rasters: { layer: string; neurons: number; timeSteps: number; spikes: number[][] }[];
  readonly membrane: { layer: string; neuron: number; v: number[] }[];
  readonly arms: {
    id: string;
    label: string;
    perSeed: { seed: number; testAccuracy: number; valAccuracy?: number }[];
  }[];
}

export interface TourEdge {
  readonly from: string;
  readonly to: string;
  readonly rPu: number;
  readonly xPu: number;
}

export interface TourSweepPoint {
  readonly feeder: string;
  readonly vClassPct: number;
  readonly pqClassPct: number;
  readonly samples: number;
  readonly seed: number;
  readonly edgeAccuracy: number;
  readonly exactTree: boolean;
  readonly medianApeRPct: number;
  readonly medianApeXPct: number;
}

export interface GridSection {
  readonly status: "ok";
  readonly feeder: {
    readonly id: string;
    readonly name: string;
    readonly root: string;
    readonly buses: string[];
  };
  readonly conditions: {
    readonly samples: number;
    readonly resolutionMin: number;
    readonly vClassPct: number;
    readonly pqClassPct: number;
    readonly seed: number;
    readonly estimator: "lad" | "ls";
  };
  readonly trueTree: (TourEdge & { readonly missed: boolean })[];
  readonly identifiedTree: (TourEdge & { readonly wrong: boolean })[];
  readonly metrics: {
    readonly edgeAccuracy: number;
    readonly exactTree: boolean;
    readonly medianApeRPct: number;
    readonly medianApeXPct: number;
  };
  readonly branchErrors: {
    from: string;
    to: string;
    rTruePu: number;
    rEstPu: number;
    xTruePu: number;
    xEstPu: number;
    rErrorPct: number;
    xErrorPct: number;
  }[];
  readonly noiseSweep: TourSweepPoint[];
  readonly samplesSweep: TourSweepPoint[];
}

/** The tour's whole result, as written to `tour.json`. */
export interface DemoTour {
  readonly format: "x-demo-tour";
  readonly version: 1;
  readonly createdAt: string;
  readonly command: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly node: string;
    readonly loadAverageAtStart: [number, number, number];
  };
  readonly seconds: number;
  readonly merging: MergingSection | NotRunSection;
  readonly evolution: EvolutionSection | NotRunSection;
  readonly snn: SnnSection | NotRunSection;
  readonly grid: GridSection | NotRunSection;
}
