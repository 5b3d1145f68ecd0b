export {
  type CheckpointSearchOptions,
  type CheckpointSearchResult,
  searchCheckpointCoefficients,
} from "./checkpoint-search.js";
export {
  type CoefficientObjective,
  type CoefficientSearchOptions,
  type CoefficientSearchResult,
  type SearchRecord,
  searchCoefficients,
} from "./cmaes-search.js";
export {
  type CommandEvaluatorOptions,
  commandEvaluator,
  type DirectoryEvaluator,
  EvaluatorError,
  parseScore,
  type Split,
} from "./evaluator.js";
export { type PcbLambdaSearchInput, type PcbLambdaSearchResult, searchPcbLambdas } from "./pcb-search.js";
