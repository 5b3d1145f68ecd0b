// Worker-thread entry for `threads > 1` merges (see workers.ts): rebuilds the prepared merge from the
// config and answers tensor requests with the encoded output bytes.

import { parentPort, workerData } from "node:worker_threads";
import "../methods/index.js";
import { NonFiniteInputError } from "../errors.js";
import { prepareCheckpointMerge } from "./prepared.js";
import type { FromWorker, MergeWorkerData, ToWorker } from "./workers.js";

const data = workerData as MergeWorkerData;
const port = parentPort!;
const send = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

try {
  const prepared = await prepareCheckpointMerge(data.config, data.prepare);
  const config = prepared.withModelParameters(data.modelParameters);
  port.on("message", async (msg: ToWorker) => {
    if (msg.type === "close") {
      await prepared.close();
      port.close();
      return;
    }
    try {
      // A fresh buffer to transfer (the encoded view may be a reused scratch or read buffer).
      const bytes = (await prepared.computeEncoded(msg.index, config)).slice();
      send({ type: "done", index: msg.index, bytes, nonFinite: prepared.drainNonFinite() }, [bytes.buffer]);
    } catch (err) {
      const nonFinite =
        err instanceof NonFiniteInputError
          ? { model: err.model, tensor: err.tensor, count: err.count }
          : undefined;
      send({ type: "error", message: (err as Error).message, nonFinite });
    }
  });
  send({ type: "ready", count: prepared.tensors.length });
} catch (err) {
  send({ type: "error", message: (err as Error).message });
}
