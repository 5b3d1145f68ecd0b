// The `evaluator: { zoo: DIR }` scorer of x evolve (mean validation accuracy of a zoo's tasks): @x/merging does not
// depend on @x/zoo, so the CLI installs it, in `x evolve` and in `x worker` alike.
import { registerZooScorer } from "@x/merging/evolve";

export function installZooScorer(): void {
  registerZooScorer(async (zooDir, modelDir) => {
    const { evaluateModelDir } = await import("@x/zoo");
    return (await evaluateModelDir(modelDir, { zooDir, split: "val" })).average;
  });
}
