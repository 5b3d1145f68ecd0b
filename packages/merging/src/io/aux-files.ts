// Per-model statistics beside the checkpoints, for the data-dependent methods (docs/aux-inputs.md):
//   <model dir>/fisher.safetensors   diagonal Fisher information: the model's tensor names and shapes
//   <model dir>/gram.safetensors     for each linear weight W [out, in], a tensor of the same name of
//                                    shape [in, in]: the Gram matrix XᵀX/N of that layer's inputs
// For a single-file model `path/name.safetensors` they are `path/name.fisher.safetensors` and
// `path/name.gram.safetensors`. Any float dtype; decoded to float32.

import { stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type Checkpoint, openCheckpoint } from "@x/tensor-core";
import { MergeInputError } from "../errors.js";
import type { AuxInput, TensorAux } from "../method.js";

/** File names of the statistics beside a model directory. */
export const AUX_FILES = { fisher: "fisher.safetensors", gram: "gram.safetensors" } as const;

/** Where statistic `kind` of the model at `modelPath` (a directory or a .safetensors file) lives. */
export async function auxPathOf(modelPath: string, kind: AuxInput["kind"]): Promise<string> {
  if ((await stat(modelPath)).isDirectory()) return join(modelPath, AUX_FILES[kind]);
  const stem = basename(modelPath).replace(/\.safetensors$/, "");
  return join(dirname(modelPath), `${stem}.${kind}.safetensors`);
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The statistics files a merge reads, opened once. */
export class AuxFiles {
  private constructor(
    /** Per declared kind, per merged model: its open file (undefined when absent and optional). */
    private readonly files: Map<AuxInput["kind"], { path: string; ckpt?: Checkpoint }[]>,
    private readonly labels: readonly string[],
  ) {}

  /**
   * Opens the files `declared` asks for beside each model (`paths[i]`, `labels[i]` for messages). A
   * required statistic missing for a model is a MergeInputError naming the file expected.
   */
  static async open(
    declared: readonly AuxInput[],
    paths: readonly string[],
    labels: readonly string[],
  ): Promise<AuxFiles | undefined> {
    if (declared.length === 0) return undefined;
    const files = new Map<AuxInput["kind"], { path: string; ckpt?: Checkpoint }[]>();
    try {
      for (const d of declared) {
        const list: { path: string; ckpt?: Checkpoint }[] = [];
        files.set(d.kind, list);
        for (let i = 0; i < paths.length; i++) {
          const path = await auxPathOf(paths[i]!, d.kind);
          if (await exists(path)) list.push({ path, ckpt: await openCheckpoint(path) });
          else if (d.required === "every") {
            throw new MergeInputError(
              `model ${labels[i]}: no ${d.kind === "fisher" ? "Fisher weights" : "Gram matrices"} (expected ${path}, with the model's tensor names; see the package docs, aux-inputs)`,
            );
          } else list.push({ path });
        }
      }
    } catch (err) {
      for (const list of files.values()) for (const f of list) await f.ckpt?.close();
      throw err;
    }
    return new AuxFiles(files, labels);
  }

  /**
   * The statistics of tensor `name` (merged shape `shape`) for merged models `models` (indices), cut
   * by `cut` like the tensor itself (embedding blocks). Fisher must be present for every model; a Gram
   * matrix is used only when every model's file has one for this tensor.
   */
  async read(
    name: string,
    shape: readonly number[],
    models: readonly number[],
    cut: (data: Float32Array, storedShape: readonly number[]) => Float32Array,
  ): Promise<TensorAux | undefined> {
    const aux: { fisher?: Float32Array[]; gram?: Float32Array[] } = {};
    const fisher = this.files.get("fisher");
    if (fisher) {
      aux.fisher = await Promise.all(
        models.map(async (mi) => {
          const f = fisher[mi]!;
          const info = f.ckpt?.info(name);
          if (!f.ckpt || !info)
            throw new MergeInputError(
              `${f.path} (Fisher weights of ${this.labels[mi]}) has no tensor '${name}'`,
            );
          return cut(await f.ckpt.fileOf(name).readFloat32(name), info.shape);
        }),
      );
    }
    const gram = this.files.get("gram");
    if (gram) {
      const have = models.map((mi) => gram[mi]!.ckpt?.info(name) !== undefined);
      if (have.some(Boolean) && !have.every(Boolean)) {
        const missing = models.filter((_, j) => !have[j]).map((mi) => gram[mi]!.path);
        throw new MergeInputError(
          `Gram matrices of '${name}' are missing from ${missing.join(", ")} (present for other models)`,
        );
      }
      if (have.every(Boolean) && have.length > 0) {
        const inDim = shape[1];
        aux.gram = await Promise.all(
          models.map(async (mi) => {
            const g = gram[mi]!;
            const info = g.ckpt!.info(name)!;
            if (
              shape.length !== 2 ||
              info.shape.length !== 2 ||
              info.shape[0] !== inDim ||
              info.shape[1] !== inDim
            ) {
              throw new MergeInputError(
                `${g.path}: Gram matrix '${name}' has shape [${info.shape.join(", ")}], the weight [${shape.join(", ")}] needs [${inDim}, ${inDim}]`,
              );
            }
            return g.ckpt!.fileOf(name).readFloat32(name);
          }),
        );
      }
    }
    return aux.fisher || aux.gram ? aux : undefined;
  }

  /** Whether any model's file of statistic `kind` has any of the tensors `names`. */
  covers(kind: AuxInput["kind"], names: readonly string[]): boolean {
    const list = this.files.get(kind) ?? [];
    return list.some((f) => f.ckpt !== undefined && names.some((n) => f.ckpt!.info(n) !== undefined));
  }

  /** Where statistic `kind` was looked for, for messages: the files that are missing, those without the tensors. */
  describe(kind: AuxInput["kind"]): string {
    const list = this.files.get(kind) ?? [];
    const missing = list.filter((f) => !f.ckpt).map((f) => f.path);
    const present = list.filter((f) => f.ckpt).map((f) => f.path);
    return [
      missing.length ? `expected ${missing.join(", ")}: missing` : "",
      present.length ? `${present.join(", ")}: none of the merged tensors` : "",
    ]
      .filter(Boolean)
      .join("; ");
  }

  async close(): Promise<void> {
    for (const list of this.files.values()) for (const f of list) await f.ckpt?.close();
  }
}
