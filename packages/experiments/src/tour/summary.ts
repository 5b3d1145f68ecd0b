/**
 * A short summary of a demo tour: one row per headline number (mean over seeds, with the spread), for the text
 * table and the JSON summary `x demo` prints.
 */
import type { DemoTour } from "./types.js";

export interface TourSummaryRow {
  readonly section: "merging" | "grid" | "evolution" | "snn";
  readonly item: string;
  /** The number (a fraction for accuracies), or null for a section that did not run. */
  readonly value: number | null;
  /** Standard deviation over seeds, when there are several. */
  readonly std?: number;
  readonly unit: "fraction" | "percent" | "count";
  /** What `value` is, or why the section did not run. */
  readonly note: string;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: readonly number[]) => {
  if (xs.length < 2) return undefined;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

export function demoTourSummary(t: DemoTour): TourSummaryRow[] {
  const rows: TourSummaryRow[] = [];
  const notRun = (section: TourSummaryRow["section"], reason: string) =>
    rows.push({ section, item: "not run", value: null, unit: "count", note: reason });

  if (t.merging.status === "ok") {
    const n = t.merging.seeds.length;
    for (const m of t.merging.methods) {
      const avgs = m.perSeed.map((s) => mean(s.testAccuracy));
      rows.push({
        section: "merging",
        item: m.label,
        value: mean(avgs),
        std: std(avgs),
        unit: "fraction",
        note: `test accuracy, mean of ${t.merging.tasks.length} tasks, ${n} seed${n === 1 ? "" : "s"}`,
      });
    }
  } else notRun("merging", t.merging.reason);

  if (t.grid.status === "ok") {
    const g = t.grid;
    const wrong = g.identifiedTree.filter((e) => e.wrong).length;
    rows.push({
      section: "grid",
      item: `${g.feeder.id} branches identified`,
      value: g.metrics.edgeAccuracy,
      unit: "fraction",
      note: `${wrong} wrong branch${wrong === 1 ? "" : "es"}, ${g.conditions.samples} samples, meters ${g.conditions.vClassPct} % / ${g.conditions.pqClassPct} %`,
    });
    rows.push({
      section: "grid",
      item: "median r error",
      value: g.metrics.medianApeRPct,
      unit: "percent",
      note: "over correctly identified branches (LAD)",
    });
    rows.push({
      section: "grid",
      item: "median x error",
      value: g.metrics.medianApeXPct,
      unit: "percent",
      note: "over correctly identified branches (LAD)",
    });
  } else notRun("grid", t.grid.reason);

  if (t.evolution.status === "ok") {
    const byLabel = new Map<string, number[]>();
    for (const r of t.evolution.runs) {
      const best = r.curve.best.at(-1);
      if (best === undefined) continue;
      byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), best]);
    }
    const evals = t.evolution.runs[0]?.curve.evaluations.at(-1) ?? 0;
    for (const [label, finals] of byLabel)
      rows.push({
        section: "evolution",
        item: label,
        value: mean(finals),
        std: std(finals),
        unit: "fraction",
        note: `best ${t.evolution.fitness.label} after ${evals} evaluations, ${finals.length} seed${finals.length === 1 ? "" : "s"}`,
      });
  } else notRun("evolution", t.evolution.reason);

  if (t.snn.status === "ok") {
    for (const a of t.snn.arms) {
      const tests = a.perSeed.map((s) => s.testAccuracy);
      rows.push({
        section: "snn",
        item: a.label,
        value: mean(tests),
        std: std(tests),
        unit: "fraction",
        note: `test accuracy, ${tests.length} seed${tests.length === 1 ? "" : "s"}`,
      });
    }
  } else notRun("snn", t.snn.reason);
  return rows;
}

/** A row's value as text: a fraction or a percent with its spread (± one std), `-` when missing. */
function formatSummaryValue(r: TourSummaryRow): string {
  if (r.value === null) return "-";
  const spread = (s: number | undefined, k: number) => (s === undefined ? "" : ` ± ${(k * s).toFixed(1)}`);
  if (r.unit === "fraction") return `${(100 * r.value).toFixed(1)}%${spread(r.std, 100)}`;
  if (r.unit === "percent") return `${r.value.toFixed(2)}%${spread(r.std, 1)}`;
  return String(r.value);
}

/** The summary rows as an aligned text table (section, result, value, what), as `x demo` prints it. */
export function formatTourSummary(rows: readonly TourSummaryRow[]): string {
  const cells = rows.map((r) => [r.section, r.item, formatSummaryValue(r), r.note]);
  const head = ["section", "result", "value", "what"];
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(width[i]!)))
      .join("  ")
      .trimEnd();
  return [line(head), line(width.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}
