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
  HIDDEN_JUNCTION_NAME,
  type IdentificationMetrics,
  type IdentifiedBranch,
  MetricsError,
  nameHiddenJunctions,
} from "./metrics.js";
