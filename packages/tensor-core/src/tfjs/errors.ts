/** Thrown by the TensorFlow.js bridge: no usable backend, bad env override, unsupported conv layout, bad shapes. */
export class TfBridgeError extends Error {
  override name = "TfBridgeError";
}
