import { type Feeder, FeederError } from "../feeder.js";
import { case69 } from "./case69.js";
import { contractIeee69 } from "./contract.js";
import { ieee13 } from "./ieee13.js";
import { ieee37 } from "./ieee37.js";

export { case69 } from "./case69.js";
export {
  type ContractedBranch,
  type ContractionCriterion,
  type ContractionOptions,
  type ContractionResult,
  contractBranches,
  contractIeee69,
  IEEE69_MERGE_DROP_PU,
  nominalBranchDrops,
} from "./contract.js";
export { ieee13 } from "./ieee13.js";
export { ieee37 } from "./ieee37.js";
export {
  type LineRow,
  type LoadRow,
  reduceUnbalancedFeeder,
  type TransformerRow,
  type UnbalancedFeederData,
} from "./reduce.js";

/** Built-in feeders by name (aliases accepted: "13", "37", "69", "case69"). */
const BUILTIN: Record<string, () => Feeder> = {
  ieee13,
  ieee37,
  ieee69: case69,
  "ieee69-merged": () => contractIeee69(case69()).feeder,
};
const ALIASES: Record<string, string> = {
  case69: "ieee69",
  "69": "ieee69",
  "69-merged": "ieee69-merged",
  "13": "ieee13",
  "37": "ieee37",
};

/** Names of the built-in feeders. */
export function builtinFeederNames(): string[] {
  return Object.keys(BUILTIN);
}

/** A built-in feeder by name; throws FeederError listing the known names. */
export function builtinFeeder(name: string): Feeder {
  const key = ALIASES[name.toLowerCase()] ?? name.toLowerCase();
  const make = BUILTIN[key];
  if (!make)
    throw new FeederError(`unknown built-in feeder "${name}" (known: ${builtinFeederNames().join(", ")})`);
  return make();
}
