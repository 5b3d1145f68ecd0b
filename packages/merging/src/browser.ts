// @x/merging/browser: model merging in a browser (no Node built-ins on this file's import graph). The
// in-memory API (`mergeFlat` on flat task vectors, `mergeTensors` on named tensors), the method
// registry with every built-in method registered, and PCB / TIES on in-memory task vectors. The same
// modules as the package entry (one implementation of each method and kernel); what needs Node stays
// out: checkpoint merges, threads, spill files, mergekit YAML files, search over checkpoints. Without
// Node, `pcb` in its default mode (streaming-global) computes through its reference session: the same
// output. `test/browser-entry.test.ts` bundles this file for the browser and fails on any Node built-in.

import "./methods/builtin.js";

export {
  type FlatTensor,
  type MergeAuxDicts,
  type MergeFlatAux,
  type MergeFlatInput,
  type MergeSettings,
  type MergeTensor,
  type MergeTensorsInput,
  mergeFlat,
  mergeTensors,
  type RawParams,
  type TensorDict,
} from "./engine/merge-tensors.js";
export { countNonFinite } from "./engine/nonfinite.js";
export { MergeInputError, NonFiniteInputError } from "./errors.js";
export {
  getMethod,
  hasMethod,
  listMethods,
  type MergeMethod,
  MergeMethodError,
  type ParamSpec,
  type ParamValue,
  registerMethod,
  resolveParams,
} from "./method.js";
export { BUILTIN_METHODS } from "./methods/builtin.js";
export type { PcbMode } from "./methods/pcb.js";
export { type TiesPcbOptions, tiesPcbMerge } from "./methods/ties-pcb.js";
export {
  type NanGuard,
  PCB_DEFAULTS,
  PcbError,
  type PcbInter,
  type PcbOptions,
} from "./pcb/options.js";
export { type PcbIntermediates, PcbPrepared, pcbMerge, pcbPrepare } from "./pcb/reference.js";
