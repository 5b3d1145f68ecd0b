/**
 * Builds (or loads from the cache) one seeded zoo: a briefly pretrained backbone, one fine-tuned expert per task
 * (own head, Fisher diagonal, Gram matrices) and a jointly trained multi-task model (the upper bound).
 */
import { existsSync } from "node:fs";
import { Rng } from "@x/tensor-core";
import { configHash, ZOO_BUILD_WORKERS, type ZooConfig, zooCacheRoot, zooDir } from "./config.js";
import { evaluateTasks } from "./evaluate.js";
import type { TrainJob } from "./jobs.js";
import { cloneHead, initBackbone, initHead } from "./model.js";
import { runJobs } from "./pool.js";
import { loadZooFiles, saveZooFiles } from "./store.js";
import { buildZooData, PRETRAIN_CLASSES, type ZooData } from "./tasks.js";
import { stepsPerEpoch } from "./train.js";
import type { BuildOptions, Expert, Zoo, ZooSummary } from "./types.js";

export async function buildZoo(cfg: ZooConfig, opts: BuildOptions = {}): Promise<Zoo> {
  const dir = zooDir(cfg, opts.root ?? zooCacheRoot());
  const data = buildZooData(cfg.tasks, cfg.sizes, cfg.seed);
  const persist = opts.persist ?? true;
  if (persist && !opts.force && existsSync(`${dir}/zoo.json`)) {
    const files = await loadZooFiles(dir, cfg);
    return { config: cfg, dir, data, ...files, cached: true };
  }
  const t0 = performance.now();
  const workers = opts.workers ?? ZOO_BUILD_WORKERS;
  const rng = new Rng(`zoo-init-${cfg.seed}`);
  const backbone0 = initBackbone(cfg.arch, rng);
  const pretrainHead = initHead(cfg.arch, PRETRAIN_CLASSES, rng);
  // Every task head starts from the same seeded init in its expert and in the joint model.
  const heads0 = data.tasks.map((t) =>
    initHead(cfg.arch, t.spec.numClasses, new Rng(`zoo-head-${cfg.seed}-${t.spec.name}`)),
  );

  const [pre] = await runJobs(
    [
      {
        id: "pretrain",
        arch: cfg.arch,
        backbone: backbone0,
        tasks: [{ name: "pretrain", head: pretrainHead, numClasses: PRETRAIN_CLASSES, train: data.pretrain }],
        options: { ...phase(cfg.pretrain), seed: `zoo-pretrain-${cfg.seed}` },
      },
    ],
    Math.min(workers, 1),
    (_id, d, t) => opts.progress?.("pretrain", d, t),
  );

  const jobs: TrainJob[] = [
    {
      id: "joint",
      arch: cfg.arch,
      backbone: pre!.backbone,
      tasks: data.tasks.map((t, k) => ({
        name: t.spec.name,
        head: cloneHead(heads0[k]!),
        numClasses: t.spec.numClasses,
        train: t.train,
      })),
      options: { ...phase(cfg.joint), seed: `zoo-joint-${cfg.seed}` },
    },
    ...data.tasks.map((t, k) => ({
      id: `expert:${t.spec.name}`,
      arch: cfg.arch,
      backbone: pre!.backbone,
      tasks: [
        {
          name: t.spec.name,
          head: cloneHead(heads0[k]!),
          numClasses: t.spec.numClasses,
          train: t.train,
          stats: subset(t.train, cfg.statsSamples),
        },
      ],
      options: { ...phase(cfg.finetune), seed: `zoo-expert-${cfg.seed}-${t.spec.name}` },
    })),
  ];
  // Progress over all jobs' optimizer steps, known up front.
  const total = jobs.reduce(
    (s, j) =>
      s +
      stepsPerEpoch(
        j.tasks.map((t) => ({ head: t.head, numClasses: t.numClasses, data: t.train })),
        j.options.batchSize,
      ) *
        j.options.epochs,
    0,
  );
  const steps = new Map<string, number>();
  const results = await runJobs(jobs, workers, (id, d) => {
    steps.set(id, d);
    let done = 0;
    for (const dd of steps.values()) done += dd;
    opts.progress?.("experts+joint", done, total);
  });
  const joint = { backbone: results[0]!.backbone, heads: results[0]!.heads };
  const experts: Expert[] = results.slice(1).map((r, k) => ({
    name: data.tasks[k]!.spec.name,
    backbone: r.backbone,
    head: r.heads[0]!,
    fisher: r.fisher!,
    grams: r.grams!,
  }));

  const tasks = [];
  for (let k = 0; k < data.tasks.length; k++) {
    const t = data.tasks[k]!;
    const e = experts[k]!;
    const [expertVal, expertTest] = await evaluateTasks(cfg.arch, e.backbone, [
      { head: e.head, data: t.val },
      { head: e.head, data: t.test },
    ]);
    const [jointTest] = await evaluateTasks(cfg.arch, joint.backbone, [
      { head: joint.heads[k]!, data: t.test },
    ]);
    tasks.push({
      name: t.spec.name,
      description: t.spec.description,
      numClasses: t.spec.numClasses,
      expertVal: expertVal!,
      expertTest: expertTest!,
      jointTest: jointTest!,
    });
  }
  const summary: ZooSummary = {
    hash: configHash(cfg),
    tasks,
    buildSeconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
  };
  const zoo: Zoo = {
    config: cfg,
    dir,
    data,
    pretrained: { backbone: pre!.backbone, head: pre!.heads[0]! },
    experts,
    joint,
    summary,
    cached: false,
  };
  if (persist) await saveZooFiles(zoo);
  return zoo;
}

function phase(p: ZooConfig["pretrain"]) {
  return {
    epochs: p.epochs,
    lr: p.lr,
    batchSize: p.batchSize,
    headOnlyEpochs: p.headOnlyEpochs ?? 0,
    freezeHead: p.freezeHead ?? false,
  };
}

function subset(set: ZooData["pretrain"], n: number): ZooData["pretrain"] {
  const count = Math.min(n, set.count);
  return { images: set.images.slice(0, count * 784), labels: set.labels.slice(0, count), count };
}
