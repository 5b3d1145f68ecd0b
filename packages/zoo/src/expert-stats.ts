/**
 * Statistics files beside each expert of a zoo, for the checkpoint merges that need data (`x zoo stats`, then
 * `x merge --method fisher` / `--method regmean` over the expert directories). For each expert, on the first
 * `samples` images of its own task's training split:
 * - Fisher: the diagonal empirical Fisher (mean over samples of the squared per-sample gradient of the true
 *   label's log-likelihood) of every tensor of the expert's model directory (backbone.* and head.*), same names
 *   and shapes;
 * - Gram: for each linear weight [out, in] (backbone layers and head.weight), XᵀX / n of that layer's inputs,
 *   [in, in], plus the relative ridge of `gramWithRidge` (pixels that are zero in every sample, e.g. MNIST
 *   borders, would otherwise make RegMean's summed Gram matrix singular).
 * Where the files go is the caller's (the merging package's layout, `auxPathOf`): this package does not depend
 * on it. Files are written through tensor-core's writer (temporary file + rename) with metadata recording how
 * they were computed; a file with the same metadata is kept as it is.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { IMAGE_SIZE, type ImageSet } from "@x/datasets";
import { openCheckpoint, saveSafetensors, Tensor } from "@x/tensor-core";
import { configHash } from "./config.js";
import type { Params } from "./model.js";
import { fisherDiagonal, GRAM_RIDGE, gramWithRidge, layerGrams } from "./stats.js";
import { readBackbone, readHead, readZooJson, ZooStoreError } from "./store.js";
import { buildZooData } from "./tasks.js";

export type ExpertStatKind = "fisher" | "gram";

/** The options cannot be honoured: an unknown task, a bad sample count, a file computed otherwise (without overwrite). */
export class ExpertStatsOptionError extends ZooStoreError {
  override readonly name = "ExpertStatsOptionError";
}

export interface ExpertStatsOptions {
  /** Where statistic `kind` of the model directory `modelDir` goes (e.g. @x/merging's `auxPathOf`). */
  readonly pathOf: (modelDir: string, kind: ExpertStatKind) => string | Promise<string>;
  /** Training images per expert (default: the zoo's `statsSamples`, as its own stats/ files). */
  readonly samples?: number;
  /** Only these tasks (default: every task of the zoo). */
  readonly tasks?: readonly string[];
  /** Replace files computed with other settings (default: such a file is an error). */
  readonly overwrite?: boolean;
  readonly progress?: (done: number, total: number) => void;
}

export interface ExpertStatsFile {
  readonly task: string;
  readonly modelDir: string;
  readonly kind: ExpertStatKind;
  readonly path: string;
  readonly tensors: number;
  /** "kept": the file was there with the same settings. */
  readonly status: "written" | "kept";
}

export interface ExpertStatsResult {
  readonly zooDir: string;
  /** Training images each expert's statistics come from. */
  readonly samples: number;
  readonly files: ExpertStatsFile[];
}

/** Bumped when what the files hold changes (their metadata then no longer matches). */
const FORMAT = "1";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The metadata and tensor count of an existing file, or null when it is unreadable as safetensors. */
async function describeFile(
  path: string,
): Promise<{ metadata: Readonly<Record<string, string>>; tensors: number } | null> {
  try {
    const ck = await openCheckpoint(path);
    try {
      return { metadata: ck.metadata ?? {}, tensors: ck.names().length };
    } finally {
      await ck.close();
    }
  } catch {
    return null;
  }
}

function firstSamples(set: ImageSet, n: number): ImageSet {
  const count = Math.min(n, set.count);
  return { images: set.images.subarray(0, count * IMAGE_SIZE), labels: set.labels.subarray(0, count), count };
}

const tensorsOf = (p: Params) => [...p].map(([k, v]) => [k, new Tensor("F32", v.shape, v.data)] as const);

/** Computes and writes the Fisher and Gram files of a zoo's experts (see the module comment). */
export async function writeExpertStats(
  zooDir: string,
  options: ExpertStatsOptions,
): Promise<ExpertStatsResult> {
  const json = await readZooJson(zooDir);
  const cfg = json.config;
  const samples = options.samples ?? cfg.statsSamples;
  if (!Number.isInteger(samples) || samples < 1)
    throw new ExpertStatsOptionError(`samples must be a positive integer, got ${samples}`);
  const names = json.summary.tasks.map((t) => t.name);
  for (const t of options.tasks ?? [])
    if (!names.includes(t))
      throw new ExpertStatsOptionError(`${zooDir}: no task '${t}' (the zoo has ${names.join(", ")})`);
  const tasks = json.summary.tasks.filter((t) => !options.tasks || options.tasks.includes(t.name));
  const data = buildZooData(cfg.tasks, cfg.sizes, cfg.seed);
  const files: ExpertStatsFile[] = [];
  let done = 0;
  for (const t of tasks) {
    const k = names.indexOf(t.name);
    const modelDir = join(zooDir, "experts", t.name);
    const set = firstSamples(data.tasks[k]!.train, samples);
    const meta = (kind: ExpertStatKind): Record<string, string> => ({
      format: `x-zoo-stats-${FORMAT}`,
      kind,
      zoo_hash: configHash(cfg),
      task: t.name,
      samples: String(set.count),
      split: "train",
      ...(kind === "fisher"
        ? { fisher: "empirical diagonal: mean of squared per-sample gradients of log p(y_true | x)" }
        : {
            gram: "X^T X / n of each linear layer's inputs, + ridge * mean(diag) * I",
            ridge: String(GRAM_RIDGE),
          }),
    });
    const targets = await Promise.all(
      (["fisher", "gram"] as const).map(async (kind) => ({
        kind,
        path: await options.pathOf(modelDir, kind),
      })),
    );
    const todo: typeof targets = [];
    for (const target of targets) {
      const found = (await isFile(target.path)) ? await describeFile(target.path) : undefined;
      if (found === undefined) todo.push(target);
      else if (found && Object.entries(meta(target.kind)).every(([k, v]) => found.metadata[k] === v))
        files.push({ task: t.name, modelDir, ...target, tensors: found.tensors, status: "kept" });
      else if (options.overwrite) todo.push(target);
      else
        throw new ExpertStatsOptionError(
          `${target.path} exists and was not computed with these settings (${set.count} samples of ${t.name}'s training data, zoo ${configHash(cfg)}); pass overwrite (x zoo stats --overwrite) to replace it`,
        );
    }
    if (todo.length > 0) {
      const backbone = await readBackbone(modelDir, cfg.arch);
      const head = await readHead(modelDir, "head", cfg.arch, t.numClasses);
      for (const { kind, path } of todo) {
        let stats: Params;
        if (kind === "fisher") stats = await fisherDiagonal(cfg.arch, backbone, head, set, { head: true });
        else {
          stats = await layerGrams(cfg.arch, backbone, set, { head: true });
          for (const [name, g] of stats)
            stats.set(name, { shape: g.shape, data: gramWithRidge(g.data, g.shape[0]!) });
        }
        await saveSafetensors(path, tensorsOf(stats), { metadata: meta(kind) });
        files.push({ task: t.name, modelDir, kind, path, tensors: stats.size, status: "written" });
      }
    }
    options.progress?.(++done, tasks.length);
  }
  return { zooDir, samples: Math.min(samples, ...data.tasks.map((t) => t.train.count)), files };
}
