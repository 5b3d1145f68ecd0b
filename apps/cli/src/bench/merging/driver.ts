/** Runs the benchmark over several zoo seeds and assembles the report. */
import { defaultZooConfig, type ZooConfig } from "../../zoo/config.js";
import { type BenchReport, machineInfo, summarize } from "./report.js";
import { type BenchOptions, runSeed, type SeedResult } from "./run.js";

/** The reduced configuration for CI: few tasks, few samples, a smaller MLP, short training. */
export function quickZooConfig(seed: number, tasks = 3): ZooConfig {
  return defaultZooConfig({
    seed,
    tasks,
    arch: { input: 784, hidden: [96, 48] },
    sizes: { train: 240, val: 80, test: 120, pretrainPerSource: 240 },
    pretrain: { epochs: 2, lr: 2e-3, batchSize: 32 },
    finetune: { epochs: 3, lr: 2e-3, batchSize: 32, headOnlyEpochs: 1 },
    joint: { epochs: 3, lr: 2e-3, batchSize: 32, headOnlyEpochs: 1 },
    statsSamples: 64,
  });
}

export async function runBenchmark(opts: BenchOptions & { readonly command: string }): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const t0 = performance.now();
  const perSeed: SeedResult[] = [];
  for (const seed of opts.seeds) perSeed.push(await runSeed(opts, seed));
  const cfg = opts.zooConfig(opts.seeds[0]!);
  return {
    command: opts.command,
    startedAt,
    runSeconds: (performance.now() - t0) / 1000,
    machine,
    seeds: [...opts.seeds],
    tasks: perSeed[0]?.tasks ?? [],
    setting: settingNotes(cfg),
    config: { ...cfg, seed: undefined },
    summary: summarize(perSeed),
    perSeed,
  };
}

function settingNotes(cfg: ZooConfig): string[] {
  const ft = cfg.finetune;
  const probe = ft.headOnlyEpochs ?? 0;
  return [
    `Backbone: MLP 784 → ${cfg.arch.hidden.join(" → ")} (ReLU); the merged vector is the whole backbone (all weights and biases, flattened in sorted key order). One linear head per task, never merged (the paper's vision setup also keeps per-task heads). An MLP rather than a CNN: the 3-seed run needs ~1,000 merge evaluations per seed plus 30 training runs on 2 shared cores.`,
    `Pretraining: 20-way classification (10 digits + 10 Fashion classes) on ${cfg.sizes.pretrainPerSource} + ${cfg.sizes.pretrainPerSource} clean images, ${cfg.pretrain.epochs} epochs, Adam lr ${cfg.pretrain.lr} (deliberately brief).`,
    `Experts: from the pretrained backbone, ${probe} head-only epoch(s)${ft.headLr ? ` at lr ${ft.headLr}` : ""}, then ${ft.epochs - probe} epoch(s) of fine-tuning${ft.freezeHead ? " of the backbone against the fixed head" : " of backbone and head"}, ${ft.optimizer === "sgd" ? "SGD with momentum 0.9" : "Adam"} lr ${ft.lr}, batch ${ft.batchSize}; per task ${cfg.sizes.train} train / ${cfg.sizes.val} val / ${cfg.sizes.test} test images, disjoint across splits, tasks and the pretraining set.`,
    "Joint multi-task model (upper bound): the same schedule on the union of the task training sets (one mini-batch per task per step, mean loss).",
    `Fisher: empirical diagonal Fisher (squared per-sample gradients of the true-label log-likelihood) of each expert on ${cfg.statsSamples} of its training images; RegMean: Gram matrices XᵀX/n of each linear layer's inputs on the same images, with a 1e-6 × mean-diagonal ridge so that pixels that are zero in every sample (MNIST borders) do not make Σ G singular.`,
    "Grids: one λ grid 0.1–2.2 (step 0.1) for every λ-method, the union of the spec's TA grid (0.1–1.2) and TIES/PCB grid (0.8–2.2; merging spec §1.9), because the best TIES/PCB λ here lies at or below 0.8; TIES (PCB-repo semantics: global top-k, mass sign election, disjoint mean) top-k ∈ {5, 10, 20} %; DARE drop p ∈ {0.5, 0.7, 0.9} with 1/(1−p) rescaling, then TA, or TIES sign election + disjoint sum; RegMean α ∈ {0.6, 0.7, 0.8, 0.9, 0.95}; PCB (reference mode, canonical inter term, q = 0.01) r ∈ {0.05, 0.1, 0.2}; PCB+ES: CMA-ES (@x/evolution) over per-task λ_i ∈ [0.1, 3.0] (the spec's NLP bounds [0.5, 3.0] with the lower bound moved to this grid's minimum, since the best grid λ here is ≤ 0.5), σ₀ = 0.3, budget 100 validation evaluations, started at the best grid (r, λ).",
    "Selection: every hyperparameter by mean validation accuracy over the merged tasks (first best in grid order); test accuracy reported once, at the selected point.",
  ];
}
