import type { Command } from "commander";

/**
 * Every top-level command of `x`, in help order. Only the invoked one is loaded (so `x grid ...` never pays for
 * TensorFlow.js); the others appear in `x --help` with their summary. To add a command: write a module whose
 * `build()` returns a commander Command (see grid.ts), and add one line here.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<{ build(): Command }>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "quickstart",
    summary: "the main job on built-in defaults: tensors, merging on a small zoo, grid identification",
    load: () => import("./quickstart.js"),
  },
  {
    name: "demo",
    summary: "a short tour of real runs of every package, then the demo web page of its results on localhost",
    load: () => import("./demo.js"),
  },
  {
    name: "merge",
    summary: "merge safetensors checkpoints (PCB, TIES, DARE, task arithmetic, ...), mergekit-style YAML",
    load: () => import("./merge.js"),
  },
  {
    name: "safetensors",
    summary:
      "inspect a checkpoint (safetensors or PyTorch .bin), convert dtypes or .bin to safetensors, streaming",
    load: () => import("./safetensors.js"),
  },
  {
    name: "zoo",
    summary:
      "the MNIST / Fashion-MNIST model zoo: build (train or load from cache), evaluate a model, Fisher / Gram statistics",
    load: () => import("./zoo.js"),
  },
  {
    name: "evolve",
    summary:
      "Evolver or CMA-ES over a population of model checkpoints, resumable, locally or on x worker processes",
    load: () => import("./evolve.js"),
  },
  {
    name: "worker",
    summary:
      "evaluate candidates of x evolve and x snn cade runs (and any @x/evolution/distributed run) from a Redis queue",
    load: () => import("./worker.js"),
  },
  {
    name: "extract-lora",
    summary:
      "extract a PEFT LoRA adapter from a fine-tuned model and its base (per-module truncated SVD of model − base)",
    load: () => import("./extract-lora.js"),
  },
  {
    name: "grid",
    summary: "smart-meter data: simulate, identify topology + impedances, evaluate against the truth",
    load: () => import("./grid.js"),
  },
  {
    name: "snn",
    summary: "spiking networks: train a SEW ResNet, CADE over a population, evaluate",
    load: () => import("./snn.js"),
  },
  {
    name: "bench",
    summary: "the reproduction experiments behind bench/results (merging, evolver, grid, cade)",
    load: () => import("./bench.js"),
  },
];
