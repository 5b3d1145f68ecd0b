import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { openSafetensors, type RngState, writeSafetensors } from "@x/tensor-core";
import { SnnCheckpointError } from "../errors.js";
import type { SnnModel } from "../genome/layout.js";

/** Name of the training-state file inside a checkpoint directory. */
export const TRAIN_STATE_FILE = "train-state.safetensors";
const META_KEY = "x-snn-train";

export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number;
  readonly lr: number;
  /** Validation accuracy in [0, 1] after the epoch (when a validation set was given). */
  readonly valAccuracy: number | null;
}

/** Everything besides tensors needed to continue a training run exactly. */
export interface TrainStateMeta {
  readonly fingerprint: string;
  readonly epoch: number;
  /** Steps done in `epoch`. */
  readonly step: number;
  readonly globalStep: number;
  readonly optimizerStep: number;
  /** RNG state at the start of `epoch` (replays its permutation) and now. */
  readonly epochRng: RngState;
  readonly rng: RngState;
  readonly history: readonly EpochRecord[];
  readonly lossSum: number;
  readonly elapsedMs: number;
  readonly done: boolean;
  /** Epoch and validation accuracy of the best model kept so far (keepBest). */
  readonly best: { epoch: number; valAccuracy: number } | null;
}

export interface TrainState {
  readonly meta: TrainStateMeta;
  /** Model tensors by name (genome order), optimizer slots by slot name, best-model tensors. */
  readonly model: Map<string, Float32Array>;
  readonly best: Map<string, Float32Array> | null;
  readonly slots: Map<string, { data: Float32Array; shape: number[] }>;
}

/** Writes the state atomically (one safetensors file: temporary name, then rename). */
export async function writeTrainState(
  dir: string,
  meta: TrainStateMeta,
  model: SnnModel,
  best: SnnModel | null,
  slots: Map<string, { data: Float32Array; shape: number[] }>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const data = new Map<string, Float32Array>();
  const specs: { name: string; dtype: "F32"; shape: number[] }[] = [];
  for (const e of model.layout.entries) {
    specs.push({ name: `model/${e.name}`, dtype: "F32", shape: [...e.shape] });
    data.set(`model/${e.name}`, model.tensor(e.name));
    if (best) {
      specs.push({ name: `best/${e.name}`, dtype: "F32", shape: [...e.shape] });
      data.set(`best/${e.name}`, best.tensor(e.name));
    }
  }
  for (const [k, s] of slots) {
    specs.push({ name: `opt/${k}`, dtype: "F32", shape: s.shape });
    data.set(`opt/${k}`, s.data);
  }
  await writeSafetensors(join(dir, TRAIN_STATE_FILE), specs, (e) => data.get(e.name)!, {
    order: "given",
    metadata: { [META_KEY]: JSON.stringify(meta) },
    durable: true,
  });
}

/** Removes temporary state files left by a process killed while writing. */
async function removeStaleTemporaries(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const f of names)
    if (f.startsWith(`.${TRAIN_STATE_FILE}.`) && f.endsWith(".tmp")) await rm(join(dir, f), { force: true });
}

/** Reads a state file, or null when the directory has none (temporaries of killed writers are removed first). */
export async function readTrainState(dir: string): Promise<TrainState | null> {
  await removeStaleTemporaries(dir);
  const path = join(dir, TRAIN_STATE_FILE);
  let f: Awaited<ReturnType<typeof openSafetensors>>;
  try {
    f = await openSafetensors(path);
  } catch (e) {
    if ((e as { code?: string }).code === "NOT_FOUND") return null;
    throw new SnnCheckpointError(path, (e as Error).message);
  }
  try {
    const raw = f.metadata?.[META_KEY];
    if (!raw) throw new SnnCheckpointError(path, `no "${META_KEY}" metadata: not a training state`);
    const meta = JSON.parse(raw) as TrainStateMeta;
    const model = new Map<string, Float32Array>();
    const best = new Map<string, Float32Array>();
    const slots = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const name of f.names()) {
      const data = await f.readFloat32(name);
      if (name.startsWith("model/")) model.set(name.slice(6), data);
      else if (name.startsWith("best/")) best.set(name.slice(5), data);
      else if (name.startsWith("opt/")) slots.set(name.slice(4), { data, shape: [...f.info(name)!.shape] });
    }
    return { meta, model, best: best.size > 0 ? best : null, slots };
  } finally {
    await f.close();
  }
}
