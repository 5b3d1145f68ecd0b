// Architecture definitions (mergekit's JSON format): the built-in table, user files, and their layouts.
export {
  type ArchitectureDefinition,
  ArchitectureError,
  type ModuleDefinition,
  type ModuleLayout,
  parseArchitectureDefinition,
  substituteTemplate,
  type WeightTemplate,
} from "./definition.js";
export {
  type BoundWeight,
  bindWeight,
  type ConfigJson,
  configValue,
  LayerPrefixes,
  layersKeyOf,
  moduleLayerCount,
  moduleOf,
  setConfigValue,
} from "./layout.js";
export {
  ARCHITECTURES_ENV,
  ArchitectureTable,
  architecturePathsFromEnv,
  builtinArchitectures,
  type ModelClass,
} from "./table.js";
