// Text reports of the zoo's results, as `x zoo build | eval | stats` print them.
import type { ExpertStatsResult } from "./expert-stats.js";
import type { ModelEvaluation } from "./store.js";
import type { Zoo } from "./types.js";

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Where the zoo is, whether it was trained or loaded, and per task the expert's and the joint model's accuracy. */
export function formatZooSummary(zoo: Pick<Zoo, "dir" | "cached" | "summary">): string {
  return [
    `zoo ${zoo.cached ? "loaded from cache" : `built in ${zoo.summary.buildSeconds.toFixed(1)} s`}: ${zoo.dir}`,
    "task                 classes  expert val  expert test  joint test",
    ...zoo.summary.tasks.map(
      (t) =>
        `${t.name.padEnd(20)} ${String(t.numClasses).padStart(7)}  ${pct(t.expertVal).padStart(10)}  ${pct(t.expertTest).padStart(11)}  ${pct(t.jointTest).padStart(10)}`,
    ),
  ].join("\n");
}

/** A model's accuracy per task of its zoo and the average, on `split`. */
export function formatModelEvaluation(res: ModelEvaluation, split: "test" | "val"): string {
  return [
    `model ${res.modelDir} with the heads of zoo ${res.zooDir} (${split} split, ${res.headSource} heads)`,
    "task                 accuracy",
    ...res.tasks.map((t) => `${t.name.padEnd(20)} ${pct(t.accuracy).padStart(8)}`),
    `${"average".padEnd(20)} ${pct(res.average).padStart(8)}`,
  ].join("\n");
}

/** The statistics files written or kept, and how `x merge` uses them (`zooDir` as the user named it). */
export function formatExpertStats(res: ExpertStatsResult, zooDir: string = res.zooDir): string {
  return [
    ...res.files.map(
      (f) =>
        `${f.status === "written" ? "wrote" : "kept "} ${f.path} (${f.tensors} tensors${f.status === "kept" ? ", same settings" : ""})`,
    ),
    `Fisher and Gram files of ${new Set(res.files.map((f) => f.task)).size} expert(s), from ${res.samples} training images each: x merge --method fisher|regmean --models ${zooDir}/experts/<task> ...`,
  ].join("\n");
}
