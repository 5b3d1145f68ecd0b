import { describe, expect, it } from "vitest";
import { type Merging8TaskReport, merging8TaskMarkdown, merging8TaskTable } from "../src/index.js";

const s = (mean: number, std = 0) => ({ mean, std, n: 2 });
const row = (label: string, a: number, b: number) => ({
  label,
  perTask: [s(a), s(b)],
  avg: s((a + b) / 2, 0.01),
  normalizedAvg: s((a + b) / 2 + 0.1, 0.02),
  params: [null],
});
const report = {
  command: "x bench merging",
  startedAt: "2026-01-01T00:00:00Z",
  runSeconds: 60,
  machine: { cpu: "cpu", cores: 2, node: "v22", loadAverageAtStart: [1, 1, 1] },
  seeds: [1, 2],
  tasks: ["mnist", "fashion"],
  setting: ["quick"],
  config: {},
  summary: {
    rows: { ties: row("TIES-Merging", 0.8, 0.6), averaging: row("Weight averaging", 0.7, 0.5) },
    curve: {},
  },
  perSeed: [],
} as unknown as Merging8TaskReport;

describe("merging8TaskTable", () => {
  it("is the accuracy table in row order, a blank line and the ordering check", () => {
    expect(merging8TaskTable(report)).toBe(
      [
        "| method | mnist | fashion | avg | normalized |",
        "|---|---:|---:|---:|---:|",
        "| Weight averaging | 70.0 | 50.0 | 60.0 ± 1.0 | 70.0 ± 2.0 |",
        "| TIES-Merging | 80.0 | 60.0 | 70.0 ± 1.0 | 80.0 ± 2.0 |",
        "",
        "Ordering (paper: averaging < TA < TIES < PCB): averaging < ties (60.0 vs 70.0; Δ = 10.0 pp, seed std 1.0)",
      ].join("\n"),
    );
  });

  it("is the markdown's table, between the introduction and the selected hyperparameters", () => {
    expect(merging8TaskMarkdown(report)).toContain(
      `validation only.\n\n${merging8TaskTable(report)}\n\n## Selected hyperparameters`,
    );
  });
});
