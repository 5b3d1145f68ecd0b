/** The zoo's build configuration: everything that determines the weights, hashed into the cache key. */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { DEFAULT_ARCH, type MlpArch } from "./model.js";
import { type SplitSizes, TASKS } from "./tasks.js";

export interface PhaseConfig {
  readonly epochs: number;
  readonly lr: number;
  readonly batchSize: number;
  /** Head-only epochs before full fine-tuning (linear probe, then fine-tune). */
  readonly headOnlyEpochs?: number;
  /** Fix the heads after the head-only epochs (fine-tune the backbone against a fixed classifier). */
  readonly freezeHead?: boolean;
  /** Learning rate of the head-only epochs (default `lr`). */
  readonly headLr?: number;
  /** Optimizer of the full epochs: "adam" (default) or "sgd" (momentum 0.9). */
  readonly optimizer?: "adam" | "sgd";
}

export interface ZooConfig {
  /** Bumped when training code changes in a way that changes weights. */
  readonly version: number;
  readonly seed: number;
  readonly tasks: number;
  readonly arch: MlpArch;
  readonly sizes: SplitSizes;
  readonly pretrain: PhaseConfig;
  readonly finetune: PhaseConfig;
  readonly joint: PhaseConfig;
  /** Training samples per task used for the Fisher diagonal and the RegMean Gram matrices. */
  readonly statsSamples: number;
}

export const ZOO_VERSION = 1;

export function defaultZooConfig(overrides: Partial<ZooConfig> = {}): ZooConfig {
  return {
    version: ZOO_VERSION,
    seed: 1,
    tasks: TASKS.length,
    arch: DEFAULT_ARCH,
    sizes: { train: 1000, val: 250, test: 500, pretrainPerSource: 1000 },
    pretrain: { epochs: 2, lr: 1e-3, batchSize: 64 },
    finetune: { epochs: 6, lr: 1e-3, batchSize: 64, headOnlyEpochs: 1 },
    joint: { epochs: 6, lr: 1e-3, batchSize: 64, headOnlyEpochs: 1 },
    statsSamples: 256,
    ...overrides,
  };
}

/**
 * The reduced configuration for tests, CI smoke runs and the quickstart: few tasks, few samples, a smaller MLP,
 * short training (seconds instead of minutes).
 */
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

/** Short stable hash of the configuration (key order fixed by construction). */
export function configHash(cfg: ZooConfig): string {
  return createHash("sha256").update(JSON.stringify(cfg)).digest("hex").slice(0, 12);
}

/** Training threads of buildZoo when `workers` is not given (0 = in the calling thread; results are identical). */
export const ZOO_BUILD_WORKERS = 2;

/** The cache folder under the current directory when `$X_ZOO_CACHE` is not set (gitignored at the repo root). */
export const ZOO_CACHE_DIR = ".zoo-cache";

/** `$X_ZOO_CACHE`, else `.zoo-cache/` in the current directory. */
export function zooCacheRoot(): string {
  return resolve(process.env.X_ZOO_CACHE ?? ZOO_CACHE_DIR);
}

export function zooDir(cfg: ZooConfig, root = zooCacheRoot()): string {
  return resolve(root, `zoo-s${cfg.seed}-t${cfg.tasks}-${configHash(cfg)}`);
}

/** The same zoo with experts and the joint model fine-tuned by another optimizer / learning rate. */
export function withFinetuneOptimizer(cfg: ZooConfig, optimizer: "adam" | "sgd", lr: number): ZooConfig {
  return { ...cfg, finetune: { ...cfg.finetune, optimizer, lr }, joint: { ...cfg.joint, optimizer, lr } };
}
