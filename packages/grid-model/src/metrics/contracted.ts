import type { Feeder } from "../feeder.js";
import { type ContractionCriterion, contractBranches, IEEE69_MERGE_DROP_PU } from "../feeders/contract.js";
import { type IdentifiedBranch, MetricsError, nameHiddenJunctions } from "./metrics.js";

/**
 * "Exact up to contraction": the estimated and the true tree are compared after contracting the same set of
 * weak branches in both. The set is chosen from the TRUE feeder by a detectability criterion (default: nominal
 * drop in v = |V|² below `IEEE69_MERGE_DROP_PU`), so the estimate cannot influence what is forgiven.
 * Always report it next to the plain exact-tree metric, never instead of it.
 */
export interface ContractedTopologyMetrics {
  readonly edgeAccuracy: number;
  readonly exactTree: boolean;
  /** Edges of the contracted true tree. */
  readonly edges: number;
  readonly correctEdges: number;
  /** Distinct estimated edges between different contracted nodes (> edges when the estimate splits a group). */
  readonly estimatedEdges: number;
  /** Number of true branches contracted, and the criterion in words (for reports). */
  readonly contractedBranches: number;
  readonly criterion: string;
}

export function describeCriterion(c: ContractionCriterion): string {
  const parts: string[] = [];
  if (c.maxDropPu !== undefined) parts.push(`nominal drop in |V|² < ${c.maxDropPu} pu`);
  if (c.maxZPu !== undefined) parts.push(`|z| <= ${c.maxZPu} pu`);
  if (c.buses?.length) parts.push(`branches into ${c.buses.join(", ")}`);
  return parts.join(" or ") || "none";
}

const key = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** Topology metrics after contracting the weak branches of `truth` (selected by `criterion`) in both trees. */
export function evaluateContractedTopology(
  truth: Feeder,
  branches: readonly IdentifiedBranch[],
  criterion: ContractionCriterion = { maxDropPu: IEEE69_MERGE_DROP_PU },
): ContractedTopologyMetrics {
  branches = nameHiddenJunctions(truth, branches);
  const { feeder, contracted, busMap } = contractBranches(truth, criterion);
  const trueEdges = new Set(
    feeder.branches.map((br) => key(feeder.buses[br.from]!.name, feeder.buses[br.to]!.name)),
  );
  const est = new Set<string>();
  for (const b of branches) {
    const from = busMap.get(b.from);
    const to = busMap.get(b.to);
    if (from === undefined || to === undefined)
      throw new MetricsError(
        `identified branch ${b.from} → ${b.to} refers to a bus not in feeder "${truth.id}"`,
      );
    if (from !== to) est.add(key(from, to));
  }
  let correct = 0;
  for (const e of est) if (trueEdges.has(e)) correct++;
  const edges = trueEdges.size;
  return {
    edgeAccuracy: edges ? correct / edges : Number.NaN,
    exactTree: correct === edges && est.size === edges,
    edges,
    correctEdges: correct,
    estimatedEdges: est.size,
    contractedBranches: contracted.length,
    criterion: describeCriterion(criterion),
  };
}
