// Runs experiment C from the command line until the CLI's `x bench cade` lands:
//   node packages/experiments/dist/cade/main.js [--shard i/n] [--only TASK] [--reverse] [--run-only] [--work DIR]
//     [--out DIR] [--wall SECONDS] [--quick]
import { runCadeExperiment } from "./index.js";

const args = process.argv.slice(2);
const get = (k: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : undefined;
};
const shard = get("--shard");
const quick = args.includes("--quick");
const r = await runCadeExperiment({
  workDir: get("--work"),
  outDir: get("--out"),
  runOnly: args.includes("--run-only"),
  reverse: args.includes("--reverse"),
  only: get("--only") as "fashion-split" | "mnist-to-fashion" | undefined,
  wallSeconds: get("--wall") ? Number(get("--wall")) : undefined,
  shard: shard ? { index: Number(shard.split("/")[0]), count: Number(shard.split("/")[1]) } : undefined,
  scale: quick
    ? {
        seeds: [1],
        variantSeeds: [1],
        generations: 3,
        populationSize: 4,
        trainPerClass: 100,
        valPerClass: 50,
        fitnessSetSize: 100,
        sourcePerClass: 200,
        pretrainEpochs: 1,
        memberEpochs: 1,
        f0Sweep: [],
      }
    : undefined,
});
console.log(
  JSON.stringify(
    r.tasks.map((t) => ({
      task: t.task,
      rows: t.rows.map((row) => [row.method, row.test.mean.toFixed(2), row.vsBestInitial.mean.toFixed(2)]),
    })),
  ),
);
