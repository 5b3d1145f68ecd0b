// @x/merging/pcb: PCB-Merging on in-memory task vectors (reference mode), its options and index
// rules, and the whole-model statistics the streaming modes compute (docs/pcb.md).

export {
  clampIndices,
  dropIndex,
  type NanGuard,
  PCB_DEFAULTS,
  PcbError,
  type PcbInter,
  type PcbOptions,
  type ResolvedPcbOptions,
  resolvePcbOptions,
} from "./options.js";
export { type PcbIntermediates, PcbPrepared, pcbMerge, pcbPrepare } from "./reference.js";
export { MagnitudeStats, ScoreStats } from "./score.js";
