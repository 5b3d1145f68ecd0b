// `x grid evaluate` as a library call: a model file against the true feeder.

import type { Feeder } from "../feeder.js";
import { IEEE69_MERGE_DROP_PU } from "../feeders/index.js";
import { readGridModelBranches } from "../identify/model-file.js";
import { loadFeeder } from "../io/load.js";
import { type ContractedTopologyMetrics, evaluateContractedTopology } from "../metrics/contracted.js";
import { evaluateIdentification, type IdentificationMetrics } from "../metrics/metrics.js";

/** A model file scored against the truth, as `x grid evaluate --json` prints it. */
export interface ModelFileEvaluation extends IdentificationMetrics {
  /** The model file. */
  readonly model: string;
  /** The true feeder's id. */
  readonly truth: string;
  /** The topology up to contraction (absent with contractDrop 0 or a model that does not cover every bus). */
  readonly contracted?: ContractedTopologyMetrics;
}

export interface EvaluateModelFileOptions {
  /**
   * Contract the true feeder's branches whose nominal-load drop in |V|² is below this (pu) for the topology
   * "up to contraction"; 0 = off (default IEEE69_MERGE_DROP_PU).
   */
  readonly contractDrop?: number;
}

/**
 * Scores the model JSON at `path` (x grid identify, writeGridModelFile) against `truth` (a name or file for
 * loadFeeder, or a Feeder): evaluateIdentification, and evaluateContractedTopology when the drop threshold is
 * positive and the model covers every true bus.
 */
export async function evaluateModelFile(
  path: string,
  truth: string | Feeder,
  opts: EvaluateModelFileOptions = {},
): Promise<ModelFileEvaluation> {
  const branches = await readGridModelBranches(path);
  const feeder = typeof truth === "string" ? await loadFeeder(truth) : truth;
  const m = evaluateIdentification(feeder, branches);
  const drop = opts.contractDrop ?? IEEE69_MERGE_DROP_PU;
  const covered = new Set(branches.flatMap((b) => [b.from, b.to]));
  const contracted =
    drop > 0 && feeder.buses.every((b) => covered.has(b.name))
      ? evaluateContractedTopology(feeder, branches, { maxDropPu: drop })
      : undefined;
  return { model: path, truth: feeder.id, ...m, ...(contracted ? { contracted } : {}) };
}
