export {
  type ContractedTopologyMetrics,
  describeCriterion,
  evaluateContractedTopology,
} from "./contracted.js";
export {
  type BranchError,
  conductorKey,
  type EvaluateOptions,
  evaluateIdentification,
  type IdentificationMetrics,
  type IdentifiedBranch,
  MetricsError,
} from "./metrics.js";
