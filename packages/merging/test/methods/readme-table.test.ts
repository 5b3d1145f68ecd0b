// The README's method table lists every registered method with every one of its parameters, and its
// mergekit compatibility table has a row for every method of mergekit's registry.

import { describe, expect, it } from "vitest";
import { listMethods } from "../../src/index.js";
import { readmeSection } from "../readme.js";

/** Rows of the first Markdown table in the section starting at `heading`. */
function tableRows(heading: string): string[] {
  const section = readmeSection(heading);
  const start = section.indexOf("\n|");
  const rows: string[] = [];
  for (const line of section.slice(start + 1).split("\n")) {
    if (!line.startsWith("|")) break;
    rows.push(line);
  }
  return rows.slice(2);
}

const MERGEKIT = [
  "linear",
  "task_arithmetic",
  "ties",
  "dare_linear",
  "dare_ties",
  "breadcrumbs",
  "breadcrumbs_ties",
  "della",
  "della_linear",
  "sce",
  "slerp",
  "model_stock",
  "nuslerp",
  "nearswap",
  "passthrough",
  "karcher",
  "multislerp",
  "arcee_fusion",
  "ram",
  "ramplus_tl",
];

describe("README tables", () => {
  it("the method table names every registered method and each of its parameters", () => {
    const rows = tableRows("## Methods");
    for (const m of listMethods()) {
      const row = rows.find((r) => r.split(/(?<!\\)\|/)[1]!.includes(`\`${m.name}\``));
      expect(row, `no README row for ${m.name}`).toBeDefined();
      for (const p of m.params) expect(row, `${m.name}: ${p.name}`).toMatch(new RegExp(`\\b${p.name}\\b`));
    }
  });

  it("the mergekit compatibility table covers every mergekit method and feature", () => {
    const first = tableRows("### mergekit compatibility").map((r) => r.split(/(?<!\\)\|/)[1]!);
    for (const m of MERGEKIT)
      expect(
        first.some((c) => c.includes(`\`${m}\``)),
        m,
      ).toBe(true);
    for (const f of [
      "slices",
      "modules",
      "tokenizer_source",
      "tokenizer:",
      "chat_template",
      "pytorch_model.bin",
      "mergekit-extract-lora",
      "architectures",
    ]) {
      expect(
        first.some((c) => c.includes(f)),
        f,
      ).toBe(true);
    }
    expect(first.join(" ")).not.toMatch(/coming/);
  });
});
