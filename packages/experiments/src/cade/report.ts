import { cpus, loadavg } from "node:os";
import { writeResultFiles } from "../results.js";
import type { CadeScale, SeedResult } from "./experiment.js";
import { type MeanCi, meanCi, pairedDiff } from "./stats.js";

export interface MethodRow {
  readonly method: string;
  readonly test: MeanCi;
  readonly val: MeanCi;
  /** Paired test difference to the best initial individual (pp). */
  readonly vsBestInitial: MeanCi;
  /** Paired test difference to CADE (pp); null for CADE itself. */
  readonly vsCade: MeanCi | null;
  /** Paired fitness-set difference to the best initial individual (pp), when the method has a fitness score. */
  readonly fitnessGain: MeanCi | null;
}

export interface CurvePoint {
  readonly evaluations: number;
  readonly bestVal: MeanCi;
  readonly bestFitness: number;
}

export interface TaskSummary {
  readonly task: SeedResult["task"];
  readonly seeds: number[];
  readonly rows: MethodRow[];
  /** Mean best-validation accuracy vs fitness evaluations per arm (the convergence curve). */
  readonly curves: Record<string, CurvePoint[]>;
  /** Area under the best-val curve (mean val over the curve's points), paired vs CADE. */
  readonly auc: Record<string, { mean: number; vsCade: MeanCi | null }>;
  readonly diversity: { l2: MeanCi; disagreement: MeanCi };
  readonly scratch: null | {
    bestInitial: MeanCi;
    cade: MeanCi;
    cadeGain: MeanCi;
    transferMinusScratchCade: MeanCi;
    transferMinusScratchBestInitial: MeanCi;
    diversity: { l2: MeanCi; disagreement: MeanCi };
    memberFitness: MeanCi;
    memberTest: MeanCi;
  };
}

export interface CadeExperimentResult {
  readonly experiment: "cade";
  readonly scale: CadeScale;
  readonly machine: { cpus: number; model: string; loadavg: number[]; node: string };
  readonly wallSeconds: number | null;
  readonly tasks: TaskSummary[];
  readonly perSeed: SeedResult[];
  readonly notes: string[];
}

function summarise(task: SeedResult["task"], rs: SeedResult[]): TaskSummary {
  const bi = rs.map((r) => r.bestInitial.test);
  const biFit = rs.map((r) => r.bestInitial.fitness ?? 0);
  const cadeTest = rs.map((r) => r.arms[0].test);
  const rows: MethodRow[] = [];
  const add = (method: string, test: number[], val: number[], fit: (number | null)[], isCade = false) =>
    rows.push({
      method,
      test: meanCi(test),
      val: meanCi(val),
      vsBestInitial: pairedDiff(test, bi),
      vsCade: isCade ? null : pairedDiff(test, cadeTest),
      fitnessGain: fit.every((f) => f !== null) ? pairedDiff(fit as number[], biFit) : null,
    });
  add(
    "best initial individual (by val)",
    bi,
    rs.map((r) => r.bestInitial.val),
    biFit,
  );
  rs[0].arms.forEach((a, k) => {
    add(
      a.arm,
      rs.map((r) => r.arms[k].test),
      rs.map((r) => r.arms[k].val),
      rs.map((r) => r.arms[k].fitness),
      k === 0,
    );
  });
  for (const b of Object.keys(rs[0].baselines)) {
    add(
      b,
      rs.map((r) => r.baselines[b].test),
      rs.map((r) => r.baselines[b].val),
      rs.map((r) => r.baselines[b].fitness),
    );
  }
  const curves: TaskSummary["curves"] = {};
  const auc: TaskSummary["auc"] = {};
  const cadeAuc = rs.map((r) => r.arms[0].curve.reduce((a, c) => a + c.bestVal, 0) / r.arms[0].curve.length);
  rs[0].arms.forEach((a, k) => {
    curves[a.arm] = a.curve.map((c, p) => ({
      evaluations: c.evaluations,
      bestVal: meanCi(rs.map((r) => r.arms[k].curve[p].bestVal)),
      bestFitness: rs.reduce((s, r) => s + r.arms[k].curve[p].bestFitness, 0) / rs.length,
    }));
    const au = rs.map((r) => r.arms[k].curve.reduce((s, c) => s + c.bestVal, 0) / r.arms[k].curve.length);
    auc[a.arm] = { mean: meanCi(au).mean, vsCade: k === 0 ? null : pairedDiff(au, cadeAuc) };
  });
  const diversity = {
    l2: meanCi(rs.map((r) => r.diversity.l2)),
    disagreement: meanCi(rs.map((r) => r.diversity.disagreement)),
  };
  let scratch: TaskSummary["scratch"] = null;
  if (rs.every((r) => r.scratch)) {
    const sc = rs.map((r) => r.scratch!);
    scratch = {
      bestInitial: meanCi(sc.map((s) => s.bestInitial.test)),
      cade: meanCi(sc.map((s) => s.cade.test)),
      cadeGain: pairedDiff(
        sc.map((s) => s.cade.test),
        sc.map((s) => s.bestInitial.test),
      ),
      transferMinusScratchCade: pairedDiff(
        cadeTest,
        sc.map((s) => s.cade.test),
      ),
      transferMinusScratchBestInitial: pairedDiff(
        bi,
        sc.map((s) => s.bestInitial.test),
      ),
      diversity: {
        l2: meanCi(sc.map((s) => s.diversity.l2)),
        disagreement: meanCi(sc.map((s) => s.diversity.disagreement)),
      },
      memberFitness: meanCi(sc.flatMap((s) => s.members.map((m) => m.fitness))),
      memberTest: meanCi(sc.flatMap((s) => s.members.map((m) => m.test))),
    };
  }
  return { task, seeds: rs.map((r) => r.seed), rows, curves, auc, diversity, scratch };
}

const f2 = (x: number) => x.toFixed(2);
const ci = (m: MeanCi) => `${m.mean >= 0 ? "+" : ""}${f2(m.mean)} [${f2(m.lo)}, ${f2(m.hi)}]`;

function markdown(r: CadeExperimentResult): string {
  const s = r.scale;
  const out: string[] = [];
  out.push("# Experiment C: CADE on a transfer-learned SEW-MLP population (small scale)", "");
  out.push(
    `Scale: SEW-MLP H = ${s.hidden}, K = ${s.blocks}, T = ${s.timeSteps} (ADD, CADE's LIF); population N = ${s.populationSize}; G = ${s.generations} generations; ` +
      `fitness set ${s.fitnessSetSize} images of the target train set; budget per arm N + N·G = ${s.populationSize * (1 + s.generations)} fitness evaluations ` +
      `(every child costs one, identical children included; parent scores cached — the fitness set is fixed, so re-evaluation would return the same number). ` +
      `F0 = CR0 = ${s.f0} (Fmin = F0/10, half-period round(0.4·G) = ${Math.round(0.4 * s.generations)}). Target: ${s.trainPerClass}/class train, ${s.valPerClass}/class val, 1,000/class test; ` +
      `source pretraining ${s.pretrainEpochs} epochs on ${s.sourcePerClass}/class, members fine-tuned ${s.memberEpochs} epochs. Seeds: main ${s.seeds.length}, variant ${s.variantSeeds.length}.`,
    "",
  );
  out.push(
    `Machine: ${r.machine.cpus} × ${r.machine.model}, load average at the end ${r.machine.loadavg.map((x) => x.toFixed(2)).join(" / ")}; wall time ${r.wallSeconds === null ? "n/a" : `${(r.wallSeconds / 60).toFixed(1)} min`}.`,
    "",
  );
  for (const t of r.tasks) {
    out.push(
      `## ${t.task === "fashion-split" ? "Main: Fashion-MNIST {5,7,8,9} → {0,1,2,3,4,6}" : "Variant: MNIST (10) → Fashion-MNIST (10)"} (${t.seeds.length} seeds)`,
      "",
    );
    out.push(
      "Test top-1 % (mean over seeds ± 95 % t interval); paired differences in percentage points.",
      "",
    );
    out.push(
      "| method | test | val | Δtest vs best initial | Δtest vs CADE | Δfitness-set vs best initial |",
      "|---|---|---|---|---|---|",
    );
    for (const row of t.rows) {
      out.push(
        `| ${row.method} | ${f2(row.test.mean)} ± ${f2(row.test.hi - row.test.mean)} | ${f2(row.val.mean)} | ${ci(row.vsBestInitial)} | ${row.vsCade ? ci(row.vsCade) : "—"} | ${row.fitnessGain ? ci(row.fitnessGain) : "—"} |`,
      );
    }
    const cade = t.rows[1];
    const side = (m: MeanCi) => (m.hi < 0 ? "below" : m.lo > 0 ? "above" : "not distinguishable from");
    const best = [...t.rows].sort((a, b) => b.test.mean - a.test.mean)[0];
    out.push(
      "",
      `**Headline.** CADE − best initial individual on test: ${ci(cade.vsBestInitial)} pp over ${t.seeds.length} seeds ` +
        `(the paper reports +0.52 pp for SEW-ResNet-34 on CIFAR-100; here the difference is ${side(cade.vsBestInitial)} zero). ` +
        `On the fitness set the same selection gains ${cade.fitnessGain ? ci(cade.fitnessGain) : "n/a"} pp, so the fitness-set vs test gap is ` +
        `${cade.fitnessGain ? f2(cade.fitnessGain.mean - cade.vsBestInitial.mean) : "n/a"} pp. Best method on test: ${best.method} (${f2(best.test.mean)} %).`,
    );
    out.push(
      "",
      "Area under the best-val-vs-evaluations curve (mean val % over the curve points), paired vs CADE:",
      "",
    );
    out.push("| arm | AUC | Δ vs CADE |", "|---|---|---|");
    for (const [arm, a] of Object.entries(t.auc))
      out.push(`| ${arm} | ${f2(a.mean)} | ${a.vsCade ? ci(a.vsCade) : "—"} |`);
    out.push(
      "",
      `Population diversity (transfer-learned): mean pairwise L2 ${f2(t.diversity.l2.mean)}, prediction disagreement on val ${f2(t.diversity.disagreement.mean)} %.`,
    );
    if (t.scratch) {
      const sc = t.scratch;
      out.push(
        "",
        "Transfer-learned vs from-scratch population (same member training budget):",
        "",
        "| | transfer-learned | from scratch | paired Δ (TL − scratch) |",
        "|---|---|---|---|",
        `| best initial individual, test | ${f2(t.rows[0].test.mean)} | ${f2(sc.bestInitial.mean)} | ${ci(sc.transferMinusScratchBestInitial)} |`,
        `| CADE, test | ${f2(t.rows[1].test.mean)} | ${f2(sc.cade.mean)} | ${ci(sc.transferMinusScratchCade)} |`,
        `| CADE − best initial | ${ci(t.rows[1].vsBestInitial)} | ${ci(sc.cadeGain)} | |`,
        `| mean pairwise L2 | ${f2(t.diversity.l2.mean)} | ${f2(sc.diversity.l2.mean)} | |`,
        `| prediction disagreement (val, %) | ${f2(t.diversity.disagreement.mean)} | ${f2(sc.diversity.disagreement.mean)} | |`,
      );
    }
    out.push(
      "",
      "Convergence (mean best-val % of the population member a run would return, vs fitness evaluations):",
      "",
    );
    const arms = Object.keys(t.curves);
    out.push(`| evaluations | ${arms.join(" | ")} |`, `|---|${arms.map(() => "---").join("|")}|`);
    const pts = t.curves[arms[0]];
    for (let p = 0; p < pts.length; p += Math.max(1, Math.floor(pts.length / 6))) {
      out.push(`| ${pts[p].evaluations} | ${arms.map((a) => f2(t.curves[a][p].bestVal.mean)).join(" | ")} |`);
    }
    const last = pts.length - 1;
    out.push(
      `| ${pts[last].evaluations} | ${arms.map((a) => f2(t.curves[a][last].bestVal.mean)).join(" | ")} |`,
      "",
    );
  }
  out.push("## Notes", "", ...r.notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}

export function aggregate(
  scale: CadeScale,
  perSeed: SeedResult[],
  wallSeconds: number | null,
  notes: string[],
): CadeExperimentResult {
  const tasks: TaskSummary[] = [];
  for (const task of ["fashion-split", "mnist-to-fashion"] as const) {
    const rs = perSeed.filter((r) => r.task === task);
    if (rs.length) tasks.push(summarise(task, rs));
  }
  const c = cpus();
  return {
    experiment: "cade",
    scale,
    machine: { cpus: c.length, model: c[0]?.model ?? "unknown", loadavg: loadavg(), node: process.version },
    wallSeconds,
    tasks,
    perSeed,
    notes,
  };
}

/** Writes `cade.json` and `cade.md` into `outDir` (temporary names, then renamed). */
export function writeReport(r: CadeExperimentResult, outDir: string): string[] {
  return writeResultFiles(outDir, "cade", [
    [".json", `${JSON.stringify(r, null, 1)}\n`],
    [".md", markdown(r)],
  ]);
}
