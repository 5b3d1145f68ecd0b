/** Markdown and JSON report of the Evolver experiment. */
import os from "node:os";
import type { Comparison, ExperimentOptions, PairedStat, SeedResult } from "./experiment.js";
import { comparisons } from "./experiment.js";

export interface EvolverReport {
  readonly command: string;
  readonly machine: {
    cpu: string;
    cores: number;
    node: string;
    loadAverageAtStart: number[];
    memoryGiB: number;
  };
  readonly startedAt: string;
  readonly runSeconds: number;
  readonly options: Omit<ExperimentOptions, "log">;
  readonly seeds: readonly SeedResult[];
  readonly comparisons: readonly Comparison[];
}

export function machineInfo(): EvolverReport["machine"] {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  };
}

export function buildReport(
  command: string,
  startedAt: Date,
  machine: EvolverReport["machine"],
  options: Omit<ExperimentOptions, "log">,
  seeds: readonly SeedResult[],
): EvolverReport {
  return {
    command,
    machine,
    startedAt: startedAt.toISOString(),
    runSeconds: (Date.now() - startedAt.getTime()) / 1000,
    options,
    seeds,
    comparisons: comparisons(seeds, options.merges),
  };
}

const pct = (v: number): string => (100 * v).toFixed(2);
const ci = (s: PairedStat): string =>
  `${s.mean >= 0 ? "+" : ""}${pct(s.mean)} [${pct(s.lo)}, ${pct(s.hi)}]${s.lo > 0 ? " ✔" : s.hi < 0 ? " ✘" : ""}`;

export function markdown(r: EvolverReport): string {
  const lines: string[] = [];
  const o = r.options;
  lines.push("# Evolver experiment (snn.md §8, Fashion-MNIST domain experts)", "");
  lines.push(
    `Command: \`${r.command}\`. Started ${r.startedAt}, ${(r.runSeconds / 60).toFixed(1)} min. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}, load average at start ${r.machine.loadAverageAtStart.join(" / ")} (the cores are shared with other jobs).`,
    "",
  );
  lines.push(
    `Setup per seed: fresh split of Fashion-MNIST; base MLP 784→256→128→10 pretrained ${o.sizes.pretrainEpochs} epoch(s) on ${o.sizes.pretrain} clean images; 5 experts (D1 flip+shift, D2 invert, D3 rotate +20°, D4 blur σ=1, D5 noise σ=0.3) fine-tuned ${o.sizes.expertEpochs} epochs on ${o.sizes.train} images each; dev = ${o.sizes.dev} per domain (concatenated, the only selection data); test = ${o.sizes.test} per domain; OOD test = ${o.sizes.oodTest} each of rotate −35°, salt-and-pepper 10 %, 14×14 down-up, 10×10 occlusion, flip+invert. Genome = all weights incl. the head (${"235,146"} floats).`,
    "",
  );
  lines.push(
    `Evolver F = ${o.f}, CR = ${o.cr}, G = ${o.generations} (N·G = ${5 * o.generations} child evaluations). Merges: λ tuned on dev over {${o.lambdaGrid.join(", ")}} once before evolving (mean: none); TIES top-k 20 %, DARE p = 0.9 (+TA, masks fixed per seed), PCB ratio 0.1. Random search: ${5 * o.generations} Dirichlet(1) per-model coefficient draws at the tuned λ, best by dev (the plain merge is the incumbent). Seeds: ${r.seeds.map((s) => s.seed).join(", ")}.`,
    "",
  );
  const arms = r.seeds[0]?.arms.map((a) => a.arm) ?? [];
  lines.push("## Accuracy per arm (mean ± sd over seeds, %)", "");
  lines.push("| arm | dev | in-domain test | OOD test | dev evals | accepted |", "|---|---|---|---|---|---|");
  for (const arm of arms) {
    const rows = r.seeds.map((s) => s.arms.find((a) => a.arm === arm)!);
    const ms = (k: "dev" | "idTest" | "oodTest"): string => {
      const v = rows.map((x) => x[k]);
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
      return `${pct(m)} ± ${pct(sd)}`;
    };
    const acc =
      rows[0].accepted === undefined
        ? ""
        : (rows.reduce((a, x) => a + (x.accepted ?? 0), 0) / rows.length).toFixed(1);
    lines.push(
      `| ${arm} | ${ms("dev")} | ${ms("idTest")} | ${ms("oodTest")} | ${rows[0].devEvaluations} | ${acc} |`,
    );
  }
  lines.push("", "## λ chosen on dev per seed (a value at the grid's end means tuning hit the boundary)", "");
  lines.push("| merge | λ per seed |", "|---|---|");
  for (const m of o.merges) {
    if (m === "mean") continue;
    const ls = r.seeds.map((s) => s.arms.find((a) => a.arm === m)?.lambda);
    lines.push(`| ${m} | ${ls.join(", ")} |`);
  }
  const secs = r.seeds.map((s) => s.seconds).sort((a, b) => a - b);
  lines.push(
    "",
    `Wall time per seed (one worker process, cores shared with other jobs): median ${(secs[secs.length >> 1] / 60).toFixed(1)} min.`,
  );
  lines.push(
    "",
    "## Paired differences (a − b, percentage points, mean [95 % t CI]; ✔ CI > 0, ✘ CI < 0)",
    "",
  );
  lines.push("| a | b | dev | in-domain test | OOD test | a wins (ID test) |", "|---|---|---|---|---|---|");
  for (const c of r.comparisons) {
    lines.push(
      `| ${c.a} | ${c.b} | ${ci(c.dev)} | ${ci(c.idTest)} | ${ci(c.oodTest)} | ${c.idTest.wins}/${c.idTest.n} |`,
    );
  }
  lines.push("");
  lines.push(
    "Notes: selection uses dev only (the reference code's test-set selection of `best_population` is not reproduced). Evolver B's output is the merge of the final population, which is also its best merged dev score (acceptance is strictly monotone). `dev evals` counts dev-set evaluations including λ tuning. Experts are retrained for every seed, so the CIs include training noise.",
    "",
  );
  return lines.join("\n");
}
