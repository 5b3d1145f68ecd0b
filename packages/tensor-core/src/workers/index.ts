// @x/tensor-core/workers: the one worker harness of the x packages (docs/workers.md).
export {
  defineWorker,
  type SlotInfo,
  type WorkerContext,
  type WorkerDefinition,
  type WorkerMethod,
  type WorkerMethods,
} from "./define.js";
export {
  type RemoteError,
  WorkerError,
  type WorkerErrorCode,
  WorkerTaskError,
} from "./errors.js";
export {
  type ModulePool,
  type ModulePoolOptions,
  openModulePool,
  startModulePool,
} from "./module-pool.js";
export type { ModuleTask, ModuleWorkerDefinition, ModuleWorkerInit } from "./module-worker.js";
export {
  type AnyDefinition,
  type CallOptions,
  type InitOf,
  type MethodArg,
  type MethodName,
  type MethodResult,
  type MethodsOf,
  type PostedCall,
  terminateAllWorkerPools,
  WorkerPool,
  type WorkerPoolOptions,
} from "./pool.js";
export { workerScript } from "./script.js";
