// Backend selection for TensorFlow.js in Node: tfjs-node ("tensorflow") when it
// resolves, else wasm, else cpu; `X_TF_BACKEND` or the `backend` option picks one explicitly. Also
// registers gradients (tfjs-core's Node bundle has none; tfjs-layers registers them all) and the own
// Conv2DBackpropFilter kernel for wasm and cpu. Backends must be ready before any tensor exists.
import * as tf from "@tensorflow/tfjs-core";
import { registerConv2DBackpropFilter } from "./conv2d-backprop-filter.js";
import { TfBridgeError } from "./errors.js";

export type TfBackendName = "tensorflow" | "wasm" | "cpu";
const AUTO_ORDER: TfBackendName[] = ["tensorflow", "wasm", "cpu"];
const MODULES: Record<TfBackendName, string> = {
  tensorflow: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs-backend-cpu",
};

export interface InitTfOptions {
  /** Backend to use; default: env X_TF_BACKEND, else "auto" (tensorflow > wasm > cpu). */
  backend?: TfBackendName | "auto";
}

export interface TfRuntime {
  tf: typeof tf;
  /** The active backend name. */
  backend: TfBackendName;
  /** Whether gradients are registered (tfjs-layers resolved). */
  gradients: boolean;
  /** Backends that were tried and failed, with the reason. */
  skipped: { backend: TfBackendName; reason: string }[];
}

const loaded = new Map<TfBackendName, Promise<string | undefined>>();
let gradientsLoaded: Promise<boolean> | undefined;

/** Imports a backend package once; resolves to an error message if it cannot be loaded. */
function loadBackend(name: TfBackendName): Promise<string | undefined> {
  let p = loaded.get(name);
  if (!p) {
    const spec = MODULES[name];
    p = import(spec).then(
      () => {
        if (name !== "tensorflow") registerConv2DBackpropFilter(name);
        return undefined;
      },
      (e: unknown) => `cannot load ${spec}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`,
    );
    loaded.set(name, p);
  }
  return p;
}

function requestedBackend(opts: InitTfOptions): TfBackendName | "auto" {
  const raw = opts.backend ?? process.env.X_TF_BACKEND?.trim() ?? "auto";
  const v = raw === "" ? "auto" : raw.toLowerCase();
  if (v === "auto" || v === "tensorflow" || v === "wasm" || v === "cpu") return v;
  if (v === "node" || v === "tfjs-node") return "tensorflow";
  throw new TfBridgeError(
    `unknown TensorFlow.js backend "${raw}" (X_TF_BACKEND / backend option): use auto, tensorflow, wasm or cpu`,
  );
}

/**
 * Initialises TensorFlow.js and makes the chosen backend active. Safe to call repeatedly (e.g. to
 * switch backend between runs); create tensors only after it resolves.
 */
export async function initTf(opts: InitTfOptions = {}): Promise<TfRuntime> {
  const requested = requestedBackend(opts);
  gradientsLoaded ??= import("@tensorflow/tfjs-layers").then(
    () => true,
    () => false,
  );
  const gradients = await gradientsLoaded;
  const order = requested === "auto" ? AUTO_ORDER : [requested];
  const skipped: TfRuntime["skipped"] = [];
  for (const name of order) {
    const loadError = await loadBackend(name);
    if (loadError) {
      skipped.push({ backend: name, reason: loadError });
      continue;
    }
    let ok = false;
    try {
      ok = await tf.setBackend(name);
    } catch (e) {
      skipped.push({ backend: name, reason: e instanceof Error ? e.message : String(e) });
      continue;
    }
    if (!ok) {
      skipped.push({ backend: name, reason: `tf.setBackend("${name}") failed` });
      continue;
    }
    await tf.ready();
    return { tf, backend: name, gradients, skipped };
  }
  throw new TfBridgeError(
    `no TensorFlow.js backend could be initialised (${skipped.map((s) => `${s.backend}: ${s.reason}`).join("; ")})`,
  );
}
