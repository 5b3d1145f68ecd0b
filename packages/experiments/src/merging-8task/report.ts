/** Aggregation over zoo seeds (mean ± sample std) and the JSON / markdown outputs of `x bench merging`. */
import type { MachineInfo } from "../results.js";
import type { SeedResult } from "./run.js";

export const ROW_ORDER: { id: string; label: string }[] = [
  { id: "pretrained", label: "Pretrained backbone + expert heads" },
  { id: "expert", label: "Individual experts" },
  { id: "joint", label: "Joint multi-task training" },
  { id: "averaging", label: "Weight averaging" },
  { id: "task_arithmetic", label: "Task arithmetic" },
  { id: "ties", label: "TIES-Merging" },
  { id: "dare_ta", label: "DARE + TA" },
  { id: "dare_ties", label: "DARE + TIES" },
  { id: "fisher", label: "Fisher merging" },
  { id: "regmean", label: "RegMean" },
  { id: "pcb", label: "PCB-Merging (reference, grid)" },
  { id: "pcb_es", label: "PCB-Merging + CMA-ES per-task λ" },
];

export interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

export function stat(xs: readonly number[]): Stat {
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1) : 0;
  return { mean: m, std: Math.sqrt(v), n };
}

export interface RowSummary {
  readonly label: string;
  readonly perTask: Stat[];
  readonly avg: Stat;
  readonly normalizedAvg: Stat;
  readonly params: unknown[];
}

/** Per-method statistics over the seeds: the table rows and the accuracy-vs-number-of-tasks curve. */
export interface BenchSummary {
  /** Method id -> its row. */
  readonly rows: Record<string, RowSummary>;
  /** Method id -> number of tasks k -> mean test accuracy over the k-task subsets. */
  readonly curve: Record<string, Record<string, { avg: Stat; normalizedAvg: Stat }>>;
}

export function summarize(seeds: readonly SeedResult[]): BenchSummary {
  const rows: Record<string, RowSummary> = {};
  for (const { id, label } of ROW_ORDER) {
    const present = seeds.filter((s) => s.rows[id]);
    if (present.length === 0) continue;
    const nTasks = present[0]!.rows[id]!.test.length;
    rows[id] = {
      label,
      perTask: Array.from({ length: nTasks }, (_, k) => stat(present.map((s) => s.rows[id]!.test[k]!))),
      avg: stat(present.map((s) => s.rows[id]!.testAvg)),
      normalizedAvg: stat(present.map((s) => s.rows[id]!.normalizedAvg)),
      params: present.map((s) => s.rows[id]!.params ?? null),
    };
  }
  const curve: Record<string, Record<string, { avg: Stat; normalizedAvg: Stat }>> = {};
  for (const s of seeds) {
    for (const [k, methods] of Object.entries(s.curve)) {
      for (const m of Object.keys(methods)) {
        curve[m] ??= {};
        curve[m]![k] ??= {
          avg: stat(seeds.filter((x) => x.curve[k]?.[m]).map((x) => x.curve[k]![m]!.testAvg)),
          normalizedAvg: stat(seeds.filter((x) => x.curve[k]?.[m]).map((x) => x.curve[k]![m]!.normalizedAvg)),
        };
      }
    }
  }
  return { rows, curve };
}

const pct = (s: Stat) => `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std).toFixed(1)}`;

/** The paper's ordering averaging < TA < TIES < PCB, checked on the mean test average. */
export function orderingCheck(rows: Record<string, RowSummary>): string {
  const chain = ["averaging", "task_arithmetic", "ties", "pcb"].filter((id) => rows[id]);
  const pairs = chain.slice(1).map((id, i) => {
    const a = rows[chain[i]!]!.avg;
    const b = rows[id]!.avg;
    return `${chain[i]} ${a.mean < b.mean ? "<" : "≥"} ${id} (${(100 * a.mean).toFixed(1)} vs ${(100 * b.mean).toFixed(1)}; Δ = ${(100 * (b.mean - a.mean)).toFixed(1)} pp, seed std ${(100 * Math.max(a.std, b.std)).toFixed(1)})`;
  });
  return pairs.join("; ");
}

/**
 * The main result (markdown): a table of test accuracy (%) per task, average and normalized per method, then a
 * blank line and the paper's ordering checked.
 */
export function accuracyTable(result: BenchReport): string {
  const { rows } = result.summary;
  const lines = [
    `| method | ${result.tasks.join(" | ")} | avg | normalized |`,
    `|---|${result.tasks.map(() => "---:").join("|")}|---:|---:|`,
  ];
  for (const { id } of ROW_ORDER) {
    const r = rows[id];
    if (!r) continue;
    lines.push(
      `| ${r.label} | ${r.perTask.map((s) => (100 * s.mean).toFixed(1)).join(" | ")} | ${pct(r.avg)} | ${pct(r.normalizedAvg)} |`,
    );
  }
  lines.push("", `Ordering (paper: averaging < TA < TIES < PCB): ${orderingCheck(rows)}`);
  return lines.join("\n");
}

export function markdown(result: BenchReport): string {
  const { rows, curve } = result.summary;
  const lines: string[] = [];
  lines.push(`# 8-task model-merging benchmark (MNIST / Fashion-MNIST zoo)`, "");
  lines.push(`Command: \`${result.command}\`  `);
  lines.push(
    `Run time: ${(result.runSeconds / 60).toFixed(1)} min (${result.startedAt}); seeds ${result.seeds.join(", ")}  `,
  );
  lines.push(
    `Machine: ${result.machine.cpu}, ${result.machine.cores} cores (shared with other jobs), Node ${result.machine.node}, load average at start ${(result.machine.loadAverageAtStart ?? (result.machine as unknown as { loadAvgAtStart: number[] }).loadAvgAtStart).join(" / ")}`,
    "",
  );
  lines.push(
    `Test accuracy (%) per task and average, mean ± std over ${result.seeds.length} zoo seeds; normalized = merged / expert accuracy per task, averaged. Every hyperparameter selected on validation only.`,
    "",
  );
  lines.push(accuracyTable(result), "");
  lines.push("## Selected hyperparameters (per seed, on validation)", "");
  for (const { id } of ROW_ORDER) {
    const r = rows[id];
    if (!r || r.params.every((p) => p === null)) continue;
    lines.push(`- ${r.label}: ${r.params.map((p) => `\`${JSON.stringify(p)}\``).join(", ")}`);
  }
  const methods = Object.keys(curve);
  if (methods.length > 0) {
    const ks = [...new Set(methods.flatMap((m) => Object.keys(curve[m]!)))].sort(
      (a, b) => Number(a) - Number(b),
    );
    lines.push("", "## Average test accuracy (%) vs number of merged tasks", "");
    lines.push(
      "Subsets: the first k tasks of a seeded random task order per zoo seed; mean ± std over seeds.",
      "",
    );
    lines.push(`| method | ${ks.map((k) => `k=${k}`).join(" | ")} |`);
    lines.push(`|---|${ks.map(() => "---:").join("|")}|`);
    for (const m of methods)
      lines.push(
        `| ${rows[m]?.label ?? m} | ${ks.map((k) => (curve[m]![k] ? pct(curve[m]![k]!.avg) : "")).join(" | ")} |`,
      );
  }
  const tv = result.perSeed.flatMap((s) => s.taskVectors ?? []);
  if (tv.length > 0) {
    const avg = (f: (x: (typeof tv)[number]) => number) => tv.reduce((a, x) => a + f(x), 0) / tv.length;
    lines.push(
      "",
      `Task-vector concentration (all experts, all seeds): the largest 5 % of entries hold ${(100 * avg((x) => x.top5)).toFixed(1)} % and the largest 20 % hold ${(100 * avg((x) => x.top20)).toFixed(1)} % of ‖τ‖² (mean ‖τ‖₂ = ${avg((x) => x.l2).toFixed(2)}); trimming methods (TIES, PCB) assume most of a task vector's effect sits in few entries.`,
    );
  }
  lines.push("", "## Setting", "", ...result.setting.map((s) => `- ${s}`), "");
  if (result.notes?.length)
    lines.push("## Notes (written after the run)", "", ...result.notes.flatMap((n) => [n, ""]));
  return `${lines.join("\n")}\n`;
}

export interface BenchReport {
  readonly command: string;
  readonly startedAt: string;
  readonly runSeconds: number;
  readonly machine: MachineInfo;
  readonly seeds: number[];
  readonly tasks: string[];
  readonly setting: string[];
  readonly config: unknown;
  readonly summary: BenchSummary;
  readonly perSeed: SeedResult[];
  /** Findings written after the run (rendered at the end of the markdown). */
  readonly notes?: readonly string[];
}
