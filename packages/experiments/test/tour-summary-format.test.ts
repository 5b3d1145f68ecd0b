import { describe, expect, it } from "vitest";
import { formatTourSummary, type TourSummaryRow } from "../src/tour/summary.js";

describe("formatTourSummary", () => {
  it("aligns the columns and shows values with their spread", () => {
    const rows: TourSummaryRow[] = [
      {
        section: "merging",
        item: "pcb test",
        value: 0.8123,
        std: 0.012,
        unit: "fraction",
        note: "mean over seeds",
      },
      { section: "snn", item: "cade", value: 71.234, unit: "percent", note: "test" },
      { section: "grid", item: "exact", value: 3, unit: "count", note: "feeders" },
      { section: "evolution", item: "evolver", value: null, unit: "fraction", note: "not run" },
    ];
    expect(formatTourSummary(rows).split("\n")).toEqual([
      "section    result    value        what",
      "---------  --------  -----------  ---------------",
      "merging    pcb test  81.2% ± 1.2  mean over seeds",
      "snn        cade      71.23%       test",
      "grid       exact     3            feeders",
      "evolution  evolver   -            not run",
    ]);
  });
});
