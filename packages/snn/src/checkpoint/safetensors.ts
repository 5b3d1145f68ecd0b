import { type DType, openSafetensors, type SafetensorsFile, writeSafetensors } from "@x/tensor-core";
import { SnnCheckpointError, SnnConfigError } from "../errors.js";
import { SnnModel } from "../genome/layout.js";
import { type ModelSpec, paramTable, type StageSpec, validateSpec } from "../model/spec.js";
import { CADE_LIF } from "../neuron/config.js";

/** `__metadata__` key holding the model spec as JSON. */
export const SPEC_METADATA_KEY = "x-snn-model";

/** Tensor dtypes a model takes; each is decoded to float32 on load (F64 rounds to nearest). */
export const ACCEPTED_DTYPES: readonly DType[] = ["F32", "F16", "BF16", "F64"];

/**
 * Writes every tensor of the model (float32, checkpoint names and shapes, definition order) plus the spec in
 * `__metadata__`. Atomic: written under a temporary name and renamed, so a crash leaves no partial file.
 */
export async function saveModel(
  model: SnnModel,
  file: string,
  metadata: Record<string, string> = {},
): Promise<void> {
  const specs = paramTable(model.spec).map((p) => ({
    name: p.name,
    dtype: "F32" as const,
    shape: [...p.shape],
  }));
  await writeSafetensors(file, specs, (e) => model.tensor(e.name), {
    order: "given",
    metadata: { ...metadata, [SPEC_METADATA_KEY]: JSON.stringify(model.spec) },
  });
}

/** Spec fields a caller may force when a checkpoint has no `x-snn-model` metadata (or to override it). */
export interface LoadModelOptions {
  /** The full spec; takes precedence over the file's metadata. */
  readonly spec?: ModelSpec;
  /** Used only when the spec is inferred from tensor shapes (defaults: 4, CADE's LIF, ADD). */
  readonly timeSteps?: number;
  readonly neuron?: ModelSpec["neuron"];
  readonly connect?: ModelSpec["connect"];
}

async function open(file: string): Promise<SafetensorsFile> {
  try {
    return await openSafetensors(file);
  } catch (e) {
    throw new SnnCheckpointError(file, (e as Error).message.replace(`${file}: `, ""));
  }
}

/** Reads a checkpoint into a model, checking every tensor's presence, shape and dtype first. */
export async function loadModel(file: string, o: LoadModelOptions = {}): Promise<SnnModel> {
  const f = await open(file);
  try {
    const spec = o.spec ?? specFromMetadata(f) ?? inferSpec(f, o);
    try {
      validateSpec(spec);
    } catch (e) {
      throw new SnnCheckpointError(file, `model spec: ${(e as Error).message}`);
    }
    const model = new SnnModel(spec);
    const expected = new Set(model.layout.entries.map((e) => e.name));
    for (const name of f.names()) {
      if (!expected.has(name) && !name.endsWith(".num_batches_tracked")) {
        throw new SnnCheckpointError(
          file,
          `unexpected tensor: the ${spec.kind} model has no tensor of this name`,
          name,
        );
      }
    }
    for (const e of model.layout.entries) {
      const info = f.info(e.name);
      if (!info)
        throw new SnnCheckpointError(
          file,
          `missing (the ${spec.kind} model needs shape [${e.shape}])`,
          e.name,
        );
      if (!ACCEPTED_DTYPES.includes(info.dtype)) {
        throw new SnnCheckpointError(
          file,
          `dtype ${info.dtype} cannot be used: the model takes ${ACCEPTED_DTYPES.join(", ")}`,
          e.name,
        );
      }
      if (info.shape.length !== e.shape.length || info.shape.some((s, i) => s !== e.shape[i])) {
        throw new SnnCheckpointError(
          file,
          `shape [${info.shape}] does not match the model's [${e.shape}]`,
          e.name,
        );
      }
    }
    for (const e of model.layout.entries) {
      await f.readFloat32(e.name, model.genome.subarray(e.offset, e.offset + e.length));
    }
    return model;
  } finally {
    await f.close();
  }
}

function specFromMetadata(f: SafetensorsFile): ModelSpec | null {
  const raw = f.metadata?.[SPEC_METADATA_KEY];
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as ModelSpec;
  } catch {
    throw new SnnCheckpointError(f.path, `__metadata__["${SPEC_METADATA_KEY}"] is not valid JSON`);
  }
}

/**
 * The architecture from tensor names and shapes, for checkpoints written elsewhere. A conv stage whose first
 * block has a downsample is taken as stride 2 (pass `spec` when that is not so).
 */
export function inferSpec(
  f: { path: string; info(name: string): { shape: readonly number[] } | undefined; names(): string[] },
  o: LoadModelOptions = {},
): ModelSpec {
  const shape = (n: string) => f.info(n)?.shape;
  const fc = shape("fc.weight");
  if (fc?.length !== 2)
    throw new SnnCheckpointError(f.path, "missing or not 2-D; cannot infer the model", "fc.weight");
  const common = {
    classes: fc[0],
    timeSteps: o.timeSteps ?? 4,
    connect: o.connect ?? "ADD",
    neuron: o.neuron ?? CADE_LIF,
  } as const;
  const conv = shape("conv1.weight");
  if (conv && conv.length === 4) {
    const stages: StageSpec[] = [];
    for (let s = 1; shape(`layer${s}.0.conv1.weight`); s++) {
      let blocks = 0;
      while (shape(`layer${s}.${blocks}.conv1.weight`)) blocks++;
      stages.push({
        channels: shape(`layer${s}.0.conv1.weight`)![0],
        blocks,
        stride: shape(`layer${s}.0.downsample.0.weight`) ? 2 : 1,
      });
    }
    return { kind: "sew-resnet", stemChannels: conv[0], stages, ...common };
  }
  const stem = shape("fc1.weight");
  if (stem && stem.length === 2) {
    let blocks = 0;
    while (shape(`blocks.${blocks}.fc1.weight`)) blocks++;
    return { kind: "sew-mlp", hidden: stem[0], blocks, ...common };
  }
  throw new SnnCheckpointError(
    f.path,
    'neither "conv1.weight" (4-D) nor "fc1.weight" (2-D) is present: not a SEW model this package knows',
  );
}

/** Throws a config error unless `spec` describes the same tensors as `model` (for resume checks). */
export function assertSameArchitecture(a: ModelSpec, b: ModelSpec, what: string): void {
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new SnnConfigError(
      `${what}: model spec differs\n  expected: ${JSON.stringify(a)}\n  found:    ${JSON.stringify(b)}`,
    );
  }
}
