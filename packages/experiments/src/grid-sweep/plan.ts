/** The grid sweep's plan: noise levels, sample sizes, feeders, and the samples-to-exact-topology plan. */

export interface SweepPlan {
  /** [voltage class %, P/Q class %] pairs. */
  readonly noiseLevels: readonly (readonly [number, number])[];
  readonly feeders: readonly string[];
  /** T of the noise and resolution cells. */
  readonly baseSamples: number;
  /** T of the samples cells (the largest also feeds the LP comparison). */
  readonly sampleSizes: readonly number[];
  /** Resolutions (min) of the resolution cells; none in the quick plan. */
  readonly resolutions: readonly number[];
  readonly libraryFeeders: readonly string[];
  /** [feeder, v class %, pq class %, T values]: one simulation per seed at the largest T, prefixes for the rest. */
  readonly exact: readonly (readonly [string, number, number, readonly number[]])[];
  /** Branches and the per-LP time limit (s) of the LP-solver comparison. */
  readonly lpBranches: number;
  readonly lpTimeLimit: number;
  /** A shorter prefix of the LP data also timed (null: only the full length). */
  readonly lpPrefix: number | null;
}

export const FULL_PLAN: SweepPlan = {
  noiseLevels: [
    [0, 0],
    [0.05, 0.2],
    [0.1, 0.5],
    [0.2, 1],
  ],
  feeders: ["ieee13", "ieee37", "ieee69"],
  baseSamples: 2880,
  sampleSizes: [672, 10000],
  resolutions: [1, 60],
  libraryFeeders: ["ieee13", "ieee37"],
  exact: [
    ["ieee13", 0.1, 0.5, [672, 2880]],
    ["ieee37", 0.1, 0.5, [2880, 5000, 10000, 20000]],
    ["ieee37", 0.1, 0.1, [2880, 5000, 10000]],
    ["ieee69", 0.1, 0.5, [10000, 20000, 40000]],
    ["ieee69", 0.1, 0.1, [10000, 40000]],
    ["ieee69-merged", 0.1, 0.5, [5000, 10000, 20000, 40000]],
  ],
  lpBranches: 4,
  lpTimeLimit: 20,
  lpPrefix: 2880,
};

/** A seconds-long smoke configuration. */
export const QUICK_PLAN: SweepPlan = {
  noiseLevels: [[0.1, 0.5]],
  feeders: ["ieee13"],
  baseSamples: 700,
  sampleSizes: [300],
  resolutions: [],
  libraryFeeders: ["ieee13"],
  exact: [["ieee13", 0.1, 0.5, [300, 700]]],
  lpBranches: 2,
  lpTimeLimit: 5,
  lpPrefix: null,
};
