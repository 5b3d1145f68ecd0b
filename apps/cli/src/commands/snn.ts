/** `x snn train | cade | eval`: spiking networks (@x/snn). */
import type { Command } from "commander";
import { defineGroup } from "../kit.js";
import { cadeCommand } from "./snn/cade.js";
import { evalCommand } from "./snn/eval.js";
import { trainCommand } from "./snn/train.js";

export function build(): Command {
  return defineGroup(
    "snn",
    "spiking networks: train a SEW ResNet with surrogate gradients, fine-tune a population with CADE, evaluate a checkpoint",
    [
      "x snn train --classes 5,7,8,9 --out source.safetensors",
      "x snn cade --source source.safetensors --classes 0,1,2,3,4,6 --out cade.safetensors",
      "x snn eval --model cade.safetensors --classes 0,1,2,3,4,6 --json",
    ],
    [trainCommand(), cadeCommand(), evalCommand()],
  );
}
