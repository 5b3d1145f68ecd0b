import type { MergeWarning } from "../plan/tensors.js";

/** Progress of a checkpoint merge. Global-scope methods report one "pass" phase per statistics pass first. */
export interface MergeProgressEvent {
  readonly phase: "pass" | "merge";
  /** The pass label (global methods) or "merge". */
  readonly label: string;
  /** 1-based index of this phase and the number of phases. */
  readonly phaseIndex: number;
  readonly phaseCount: number;
  readonly tensor: string;
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
  /** Input bytes read (pass phases) or output bytes produced (merge phase) so far in this phase. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export type { MergeWarning };
