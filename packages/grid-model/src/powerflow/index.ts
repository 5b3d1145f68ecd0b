export {
  currentSquared,
  distflowResidual,
  sendingFromReceiving,
  voltageDropReceiving,
  voltageDropSending,
} from "./distflow.js";
export { type LinDistFlowResult, linDistFlow, pathSumMatrices } from "./lindistflow.js";
export {
  type BusLoadsPu,
  copyResult,
  PowerFlowError,
  type PowerFlowResult,
  RadialSweep,
  type SweepOptions,
  solvePowerFlow,
} from "./sweep.js";
