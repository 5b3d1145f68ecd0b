/**
 * The zoo on disk: Hugging Face style model directories (config.json + model.safetensors) written and read
 * through @x/tensor-core, so the same files feed `x merge` and `x zoo eval`.
 *
 *   <zoo>/zoo.json                         configuration, summary (accuracies, build time)
 *   <zoo>/pretrained/                      backbone.* + head.* (20-way pretraining head)
 *   <zoo>/experts/<task>/                  backbone.* + head.* (the task's head)
 *   <zoo>/joint/                           backbone.* + heads.<task>.*
 *   <zoo>/stats/<task>.safetensors         fisher.<param> and gram.<layer>.weight of that expert
 *
 * The whole directory is written under a temporary name and renamed into place, so a crash never leaves a
 * half-written zoo in the cache.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DatasetError } from "@x/datasets";
import { openCheckpoint, saveSafetensors, Tensor } from "@x/tensor-core";
import { configHash, type ZooConfig } from "./config.js";
import { evaluateTasks } from "./evaluate.js";
import { type Head, layerShapes, type MlpArch, type Params } from "./model.js";
import { buildZooData } from "./tasks.js";
import type { Expert, Zoo, ZooSummary } from "./types.js";

export class ZooStoreError extends Error {
  override readonly name: string = "ZooStoreError";
}

interface ModelConfigJson {
  architectures: string[];
  model_type: string;
  input_size: number;
  hidden_sizes: number[];
  task: string;
  num_classes: number | Record<string, number>;
  zoo_dir: string;
  zoo_hash: string;
}

function tensorsOf(backbone: Params, heads: [string, Head][]): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  for (const [k, p] of backbone) m.set(k, new Tensor("F32", p.shape, p.data));
  for (const [prefix, h] of heads) {
    m.set(`${prefix}.weight`, new Tensor("F32", h.weight.shape, h.weight.data));
    m.set(`${prefix}.bias`, new Tensor("F32", h.bias.shape, h.bias.data));
  }
  return m;
}

async function writeModelDir(
  dir: string,
  cfg: ZooConfig,
  finalZooDir: string,
  task: string,
  numClasses: ModelConfigJson["num_classes"],
  tensors: Map<string, Tensor>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const config: ModelConfigJson = {
    architectures: ["XZooMlp"],
    model_type: "x-zoo-mlp",
    input_size: cfg.arch.input,
    hidden_sizes: [...cfg.arch.hidden],
    task,
    num_classes: numClasses,
    zoo_dir: finalZooDir,
    zoo_hash: configHash(cfg),
  };
  await writeFile(join(dir, "config.json"), `${JSON.stringify(config, null, 2)}\n`);
  await saveSafetensors(join(dir, "model.safetensors"), tensors, {
    metadata: { zoo_hash: config.zoo_hash, task },
  });
}

export async function saveZooFiles(zoo: Zoo): Promise<void> {
  const final = resolve(zoo.dir);
  const tmp = join(dirname(final), `.${basename(final)}.${process.pid}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  try {
    const cfg = zoo.config;
    await writeModelDir(
      join(tmp, "pretrained"),
      cfg,
      final,
      "pretrain",
      zoo.pretrained.head.bias.data.length,
      tensorsOf(zoo.pretrained.backbone, [["head", zoo.pretrained.head]]),
    );
    for (const e of zoo.experts) {
      await writeModelDir(
        join(tmp, "experts", e.name),
        cfg,
        final,
        e.name,
        e.head.bias.data.length,
        tensorsOf(e.backbone, [["head", e.head]]),
      );
      const stats = new Map<string, Tensor>();
      for (const [k, p] of e.fisher) stats.set(`fisher.${k}`, new Tensor("F32", p.shape, p.data));
      for (const [k, p] of e.grams) stats.set(`gram.${k}`, new Tensor("F32", p.shape, p.data));
      await mkdir(join(tmp, "stats"), { recursive: true });
      await saveSafetensors(join(tmp, "stats", `${e.name}.safetensors`), stats);
    }
    await writeModelDir(
      join(tmp, "joint"),
      cfg,
      final,
      "joint",
      Object.fromEntries(zoo.experts.map((e) => [e.name, e.head.bias.data.length])),
      tensorsOf(
        zoo.joint.backbone,
        zoo.experts.map((e, k) => [`heads.${e.name}`, zoo.joint.heads[k]!]),
      ),
    );
    await writeFile(
      join(tmp, "zoo.json"),
      `${JSON.stringify({ config: cfg, summary: zoo.summary }, null, 2)}\n`,
    );
    await rm(final, { recursive: true, force: true });
    await mkdir(dirname(final), { recursive: true });
    await rename(tmp, final);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Reads `names` of a model directory / safetensors file as float32 params with shape checks. */
async function readParams(path: string, shapes: Map<string, readonly number[]>): Promise<Params> {
  const ckpt = await openCheckpoint(path);
  try {
    const out: Params = new Map();
    for (const [name, shape] of shapes) {
      const info = ckpt.info(name);
      if (!info) throw new ZooStoreError(`${path}: tensor '${name}' is missing`);
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new ZooStoreError(
          `${path}: tensor '${name}' has shape [${info.shape.join(", ")}], expected [${shape.join(", ")}]`,
        );
      }
      out.set(name, { shape: [...shape], data: await ckpt.readFloat32(name) });
    }
    return out;
  } finally {
    await ckpt.close();
  }
}

function backboneShapes(arch: MlpArch): Map<string, readonly number[]> {
  const m = new Map<string, readonly number[]>();
  for (const l of layerShapes(arch)) {
    m.set(`${l.name}.weight`, [l.outDim, l.inDim]);
    m.set(`${l.name}.bias`, [l.outDim]);
  }
  return m;
}

/** Reads a model directory's backbone (any checkpoint layout openCheckpoint accepts). */
export function readBackbone(path: string, arch: MlpArch): Promise<Params> {
  return readParams(path, backboneShapes(arch));
}

/** Reads head `prefix`.weight / `prefix`.bias of a model directory. */
export async function readHead(
  path: string,
  prefix: string,
  arch: MlpArch,
  numClasses: number,
): Promise<Head> {
  const f = arch.hidden[arch.hidden.length - 1]!;
  const p = await readParams(
    path,
    new Map([
      [`${prefix}.weight`, [numClasses, f]],
      [`${prefix}.bias`, [numClasses]],
    ]),
  );
  return { weight: p.get(`${prefix}.weight`)!, bias: p.get(`${prefix}.bias`)! };
}

function stripPrefix(p: Params, prefix: string): Params {
  return new Map([...p].map(([k, v]) => [k.slice(prefix.length), v]));
}

export interface ZooJson {
  config: ZooConfig;
  summary: ZooSummary;
}

/** A zoo directory's zoo.json (configuration and summary); a ZooStoreError when it is not a zoo. */
export async function readZooJson(dir: string): Promise<ZooJson> {
  try {
    return JSON.parse(await readFile(join(dir, "zoo.json"), "utf8")) as ZooJson;
  } catch (err) {
    throw new ZooStoreError(`${dir}: not a zoo directory (zoo.json: ${(err as Error).message})`);
  }
}

export async function loadZooFiles(
  dir: string,
  cfg: ZooConfig,
): Promise<Pick<Zoo, "pretrained" | "experts" | "joint" | "summary">> {
  const json = await readZooJson(dir);
  if (configHash(json.config) !== configHash(cfg)) {
    throw new ZooStoreError(
      `${dir}: zoo.json was built with a different configuration (hash ${configHash(json.config)}, wanted ${configHash(cfg)})`,
    );
  }
  const arch = cfg.arch;
  const pretrained = {
    backbone: await readBackbone(join(dir, "pretrained"), arch),
    head: await readHead(join(dir, "pretrained"), "head", arch, 20),
  };
  const experts: Expert[] = [];
  for (const t of json.summary.tasks) {
    const path = join(dir, "experts", t.name);
    const statsPath = join(dir, "stats", `${t.name}.safetensors`);
    const fisherShapes = new Map([...backboneShapes(arch)].map(([k, s]) => [`fisher.${k}`, s]));
    const gramShapes = new Map(
      layerShapes(arch).map((l) => [`gram.${l.name}.weight`, [l.inDim, l.inDim] as const]),
    );
    experts.push({
      name: t.name,
      backbone: await readBackbone(path, arch),
      head: await readHead(path, "head", arch, t.numClasses),
      fisher: stripPrefix(await readParams(statsPath, fisherShapes), "fisher."),
      grams: stripPrefix(await readParams(statsPath, gramShapes), "gram."),
    });
  }
  const joint = {
    backbone: await readBackbone(join(dir, "joint"), arch),
    heads: await Promise.all(
      json.summary.tasks.map((t) => readHead(join(dir, "joint"), `heads.${t.name}`, arch, t.numClasses)),
    ),
  };
  return { pretrained, experts, joint, summary: json.summary };
}

export interface ModelEvaluation {
  readonly modelDir: string;
  readonly zooDir: string;
  readonly headSource: "model" | "expert";
  readonly tasks: { name: string; accuracy: number }[];
  readonly average: number;
}

/**
 * Evaluates a model directory's backbone with every task head of its zoo: the model's own `heads.<task>.*`
 * when it has them (the joint model), else each expert's head (merged backbones, as in the paper's setup).
 */
export async function evaluateModelDir(
  modelDir: string,
  opts: { zooDir?: string; split?: "val" | "test" } = {},
): Promise<ModelEvaluation> {
  let zooDir = opts.zooDir;
  if (!zooDir) {
    let cfgJson: Partial<ModelConfigJson>;
    try {
      cfgJson = JSON.parse(await readFile(join(modelDir, "config.json"), "utf8")) as Partial<ModelConfigJson>;
    } catch (err) {
      throw new ZooStoreError(
        `${modelDir}: cannot read config.json (${(err as Error).message}); pass --zoo ZOO_DIR`,
      );
    }
    if (!cfgJson.zoo_dir)
      throw new ZooStoreError(`${modelDir}/config.json names no zoo_dir; pass --zoo ZOO_DIR`);
    zooDir = cfgJson.zoo_dir;
  }
  const json = await readZooJson(zooDir);
  const cfg = json.config;
  const backbone = await readBackbone(modelDir, cfg.arch);
  const data = buildZooData(cfg.tasks, cfg.sizes, cfg.seed);
  const ckpt = await openCheckpoint(modelDir);
  const own = json.summary.tasks.every((t) => ckpt.has(`heads.${t.name}.weight`));
  await ckpt.close();
  const heads: Head[] = [];
  for (const t of json.summary.tasks) {
    heads.push(
      own
        ? await readHead(modelDir, `heads.${t.name}`, cfg.arch, t.numClasses)
        : await readHead(join(zooDir, "experts", t.name), "head", cfg.arch, t.numClasses),
    );
  }
  if (data.tasks.length !== heads.length) throw new DatasetError(`${zooDir}: task count mismatch`);
  const split = opts.split ?? "test";
  const acc = await evaluateTasks(
    cfg.arch,
    backbone,
    data.tasks.map((t, k) => ({ head: heads[k]!, data: t[split] })),
  );
  const tasks = json.summary.tasks.map((t, k) => ({ name: t.name, accuracy: acc[k]! }));
  return {
    modelDir,
    zooDir,
    headSource: own ? "model" : "expert",
    tasks,
    average: acc.reduce((a, b) => a + b, 0) / acc.length,
  };
}
