/** The grid sweep's result records: one `Cell` per simulated identification, one `LpCell` per LP-solver timing. */
import type { MachineInfo } from "../results.js";

export interface Cell {
  group: "noise" | "samples" | "resolution" | "library" | "exact" | "topology";
  feeder: string;
  vClass: number;
  pqClass: number;
  samples: number;
  resolutionMin: number;
  seed: number;
  topology: Record<string, number>;
  exactTree: boolean;
  lad?: Record<string, number>;
  ls?: Record<string, number>;
  /** Stage 2 on the true tree (separates stage-2 quality from topology errors). */
  ladTrueTree?: Record<string, number>;
  lsTrueTree?: Record<string, number>;
  library?: Record<string, number | null>;
  /** "exact" group: buses whose parent is wrong. */
  wrongBuses?: string[];
  /** "exact" group, 69-bus: topology after contracting the true feeder's sub-noise branches in both trees. */
  contracted?: { edgeAccuracy: number; exactTree: boolean; contractedBranches: number; criterion: string };
  seconds: Record<string, number>;
}

export interface LpCell {
  samples: number;
  solver: string;
  form: string;
  branches: number;
  /** Fits with an LP over the time limit. */
  failed: number;
  timeLimitS: number;
  medianMs: number;
  meanLpPerFit: number;
  maxRelLossDiff: number;
}

export interface Doc {
  name: string;
  command: string;
  started: string;
  machine: MachineInfo & { note?: string };
  seeds: number[];
  cells: Cell[];
  lp: LpCell[];
}

export type Grid = typeof import("@x/grid-model");

/** Median of the finite values (NaN when there are none). */
export const median = (a: number[]) => {
  const s = [...a].filter(Number.isFinite).sort((x, y) => x - y);
  if (!s.length) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
