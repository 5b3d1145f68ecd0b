/** Markdown and JSON report of the Evolver experiment. */
import type { MachineInfo } from "../results.js";
import type { Comparison, ExperimentOptions, PairedStat, SeedResult } from "./experiment.js";
import { comparisons } from "./experiment.js";

export interface EvolverReport {
  readonly command: string;
  readonly machine: MachineInfo;
  readonly startedAt: string;
  readonly runSeconds: number;
  readonly options: Omit<ExperimentOptions, "log">;
  readonly seeds: readonly SeedResult[];
  readonly comparisons: readonly Comparison[];
  /** Hand-written findings (added to the JSON after a run; rendered by `--render`). */
  readonly findings?: string;
}

export function buildReport(
  command: string,
  startedAt: Date,
  machine: MachineInfo,
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
  lines.push("# Evolver experiment (Fashion-MNIST domain experts)", "");
  lines.push(
    `Command: \`${r.command}\`. Started ${r.startedAt}, ${(r.runSeconds / 60).toFixed(1)} min. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}, load average at start ${r.machine.loadAverageAtStart.join(" / ")} (the cores are shared with other jobs).`,
    "",
  );
  lines.push(
    `Setup per seed: fresh split of Fashion-MNIST; base MLP 784→256→128→10 pretrained ${o.sizes.pretrainEpochs} epoch(s) on ${o.sizes.pretrain} clean images; 5 experts (D1 flip+shift, D2 invert, D3 rotate +20°, D4 blur σ=1, D5 noise σ=0.3) fine-tuned ${o.sizes.expertEpochs} epochs on ${o.sizes.train} images each; dev = ${o.sizes.dev} per domain (concatenated, the only selection data); test = ${o.sizes.test} per domain; OOD test = ${o.sizes.oodTest} each of rotate −35°, salt-and-pepper 10 %, 14×14 down-up, 10×10 occlusion, flip+invert. Genome = all weights incl. the head (${"235,146"} floats).`,
    "",
  );
  const extras: string[] = [];
  if (o.modeAVariant)
    extras.push(
      `mode A also at F = ${o.modeAVariant.f}, CR = ${o.modeAVariant.cr}, G = ${o.modeAVariant.generations} (the reference's standalone variant, ${5 * o.modeAVariant.generations} children)`,
    );
  if (o.secondF) extras.push(`mode B also at F = ${o.secondF} (same CR and G)`);
  lines.push(
    `Evolver F = ${o.f}, CR = ${o.cr}, G = ${o.generations} (N·G = ${5 * o.generations} child evaluations)${extras.length ? `; ${extras.join("; ")}` : ""}. Every merge goes through the @x/merging method registry: mean = \`linear\`, TA = \`task_arithmetic\`, TIES = \`ties\` variant pcb (top-k 20 % over the whole model), DARE = \`dare_linear\` (p = 0.9, rescale 1/(1−p), keep-masks fixed per seed and slot), PCB = \`pcb\` reference mode (ratio 0.1), Fisher = \`fisher\` (diagonal empirical Fisher from ${o.statsSamples ?? 500} of the expert's own training images, floor 1e-10), RegMean = \`regmean\` (Gram matrices of each linear layer's inputs from the same ${o.statsSamples ?? 500} images, α = 0.1, relative ridge 1e-6 on the diagonal because dead ReLU units make Σ G singular; mode B and the random search apply RegMean as the equivalent prepared linear operator, checked against the registry merge every seed). λ of the task-vector merges tuned on dev over {${o.lambdaGrid.join(", ")}} once before evolving (mean, Fisher, RegMean merge full weights: no λ). In mode B an evolved child keeps its slot's (parent's) Fisher/Gram statistics. Random search: ${5 * o.generations} Dirichlet(1) per-model coefficient draws (scaled to mean 1) at the tuned λ, best by dev, the plain merge as incumbent; the coefficients are the per-model weights (mean, TA, DARE, Fisher), scale the task vectors (TIES, PCB) or scale each expert's term of the RegMean operator. Logit ensemble: mean of the 5 experts' logits (5× inference). Multi-task bound: θ_0 fine-tuned ${o.multiTaskEpochs ?? o.sizes.expertEpochs} epochs on the union of the 5 experts' training sets (${5 * o.sizes.train} images), same optimiser settings as the experts. Seeds: ${r.seeds.map((s) => s.seed).join(", ")}.`,
    "",
  );
  const arms = [...new Set(r.seeds.flatMap((s) => s.arms.map((a) => a.arm)))];
  lines.push("## Accuracy per arm (mean ± sd over seeds, %)", "");
  lines.push(
    "| arm | dev | in-domain test | OOD test | dev evals | accepted | seeds |",
    "|---|---|---|---|---|---|---|",
  );
  for (const arm of arms) {
    const rows = r.seeds.flatMap((s) => s.arms.filter((a) => a.arm === arm));
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
      `| ${arm} | ${ms("dev")} | ${ms("idTest")} | ${ms("oodTest")} | ${rows[0].devEvaluations} | ${acc} | ${rows.length} |`,
    );
  }
  lines.push("", "## λ chosen on dev per seed (a value at the grid's end means tuning hit the boundary)", "");
  lines.push("| merge | λ per seed |", "|---|---|");
  for (const m of o.merges) {
    if (m === "mean" || m === "fisher" || m === "regmean") continue;
    const ls = r.seeds.map((s) => s.arms.find((a) => a.arm === m)?.lambda);
    lines.push(`| ${m} | ${ls.join(", ")} |`);
  }
  const secs = r.seeds.map((s) => s.seconds).sort((a, b) => a - b);
  lines.push(
    "",
    `Wall time per seed (one worker process, cores shared with other jobs): median ${(secs[secs.length >> 1] / 60).toFixed(1)} min.`,
  );
  const curves = [...new Set(r.seeds.flatMap((s) => Object.keys(s.generationCurves ?? {})))];
  if (curves.length > 0) {
    lines.push(
      "",
      "## Dev vs test over generations (mean over seeds, %; the output's dev and test after each generation, g = 0 before evolving)",
      "",
      "Dev rises by construction (greedy on dev); a test curve that rises less, or falls, shows dev overfitting. The full per-generation series per seed are in the JSON (`generationCurves`).",
      "",
      "| arm | dev g0 → end (Δ) | ID test g0 → end (Δ) | OOD test g0 → end (Δ) | ID test at g = 1, 3, 5, 10, 15, … |",
      "|---|---|---|---|---|",
    );
    for (const arm of curves) {
      const series = (k: "dev" | "idTest" | "oodTest"): number[] => {
        const all = r.seeds.filter((s) => s.generationCurves?.[arm]).map((s) => s.generationCurves[arm][k]);
        const len = Math.min(...all.map((a) => a.length));
        return Array.from({ length: len }, (_, g) => all.reduce((a, x) => a + x[g], 0) / all.length);
      };
      const fmt = (v: number[]): string =>
        `${pct(v[0])} → ${pct(v[v.length - 1])} (${v[v.length - 1] >= v[0] ? "+" : ""}${pct(v[v.length - 1] - v[0])})`;
      const id = series("idTest");
      const marks = [1, 3, 5, 10, 15, 25, 50].filter((g) => g < id.length);
      lines.push(
        `| ${arm} | ${fmt(series("dev"))} | ${fmt(id)} | ${fmt(series("oodTest"))} | ${marks.map((g) => pct(id[g])).join(", ")} |`,
      );
    }
  }
  const rc = r.seeds.map((s) => s.regmeanPreparedMaxDiff).filter((v): v is number => v !== undefined);
  if (rc.length > 0)
    lines.push(
      "",
      `Prepared RegMean operator vs the registry's \`regmean\` merge of the experts: max |Δweight| ≤ ${Math.max(...rc).toExponential(1)} over the seeds.`,
    );
  const armSecs = r.seeds.find((s) => s.armSeconds)?.armSeconds;
  if (armSecs) {
    const keys = Object.keys(armSecs);
    const med = (k: string) => {
      const v = r.seeds.map((s) => s.armSeconds?.[k] ?? 0).sort((a, b) => a - b);
      return v[v.length >> 1];
    };
    lines.push(
      "",
      `Median seconds per seed and arm group: ${keys.map((k) => `${k} ${med(k).toFixed(0)}`).join(", ")}.`,
    );
  }
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
  if (r.findings) lines.push("## Findings", "", r.findings.trim(), "");
  return lines.join("\n");
}
