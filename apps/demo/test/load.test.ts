import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadDemoData } from "../src/data/load.js";
import type { Num } from "../src/data/num.js";
import { TOUR_FILE } from "../src/data/tour-schema.js";
import { makeTourFixture } from "./fixtures/make-tour.js";
import { checkNum } from "./helpers/resolve-num.js";

const RESULTS = fileURLToPath(new URL("../../../bench/results/", import.meta.url));
const COMMITTED = [
  "merging-8task.json",
  "merging-8task-sgd.json",
  "evolver.json",
  "evolver-lambda-check.json",
  "grid.json",
];
const readCommitted = async (f: string) => JSON.parse(readFileSync(`${RESULTS}${f}`, "utf8"));

/** Every Num (an object with value, format and json) inside a view. */
function nums(x: unknown, out: Num[] = []): Num[] {
  if (Array.isArray(x)) for (const v of x) nums(v, out);
  else if (x && typeof x === "object") {
    const o = x as Record<string, unknown>;
    if (typeof o.value === "number" && typeof o.format === "string") out.push(o as unknown as Num);
    else for (const v of Object.values(o)) nums(v, out);
  }
  return out;
}

function mismatches(views: unknown, docs: Record<string, unknown>): string[] {
  return nums(views)
    .filter((n) => n.json)
    .flatMap((n) =>
      checkNum(
        {
          value: String(n.value),
          format: n.format,
          file: n.file,
          json: n.json,
          agg: n.agg ?? "one",
          text: "",
        },
        docs,
      ),
    )
    .filter((p) => !p.includes('shows ""'));
}

describe("loadDemoData on the committed results", async () => {
  const docs = Object.fromEntries(
    await Promise.all(COMMITTED.map(async (f) => [f, await readCommitted(f)] as const)),
  );
  const data = await loadDemoData(COMMITTED, async (f) => docs[f]);

  it("builds every committed source without errors", () => {
    for (const panel of [data.merging, data.evolution, data.grid])
      for (const s of panel) expect(s.error, `${s.file}: ${s.error}`).toBeUndefined();
    expect(data.merging.map((s) => s.file)).toEqual(["merging-8task.json", "merging-8task-sgd.json"]);
    expect(data.evolution.map((s) => s.file)).toEqual(["evolver.json", "evolver-lambda-check.json"]);
    expect(data.snn).toEqual([]);
  });

  it("takes its numbers from the files (every number resolves to its JSON)", () => {
    const views = [data.merging, data.evolution, data.grid].flat().map((s) => s.view);
    expect(nums(views).length).toBeGreaterThan(500);
    expect(mismatches(views, docs)).toEqual([]);
  });

  it("shows the 8-task summary as the file states it", () => {
    const m = data.merging[0].view!;
    const pcb = m.methods.find((x) => x.id === "pcb")!;
    expect(pcb.avg.mean.value).toBe(docs["merging-8task.json"].summary.rows.pcb.avg.mean);
    expect(m.curve.map((c) => c.id)).toEqual(["averaging", "task_arithmetic", "ties", "fisher", "pcb"]);
    expect(data.merging[1].view!.curve).toEqual([]);
  });

  it("compares Evolver with random search for every core merge, three splits each", () => {
    const e = data.evolution[0].view!;
    expect(new Set(e.versus.map((r) => r.label))).toEqual(
      new Set(["mean", "ta", "ties", "dare", "pcb", "fisher", "regmean"]),
    );
    expect(e.versus).toHaveLength(21);
    // Arms every seed ran: Evolver A and the seven Evolver B arms at F 0.5.
    expect(e.curves.map((c) => c.seeds)).toEqual(Array(8).fill(12));
    expect(e.schedule.fromRun).toBe(false);
  });

  it("reports a file that lacks a key the page needs, naming the file and the key", async () => {
    const broken = structuredClone(docs["grid.json"]);
    delete broken.cells[3].feeder;
    const d = await loadDemoData(["grid.json"], async () => broken);
    expect(d.grid[0].error).toMatch(/^grid\.json: cells\[3\]\.feeder: /);
  });
});

describe("loadDemoData with a tour", async () => {
  const tour = JSON.parse(JSON.stringify(makeTourFixture()));
  const docs: Record<string, unknown> = { [TOUR_FILE]: tour, "grid.json": await readCommitted("grid.json") };
  const data = await loadDemoData([TOUR_FILE, "grid.json"], async (f) => docs[f]);

  it("puts the tour's sections first and resolves every number", () => {
    expect(data.grid.map((s) => s.file)).toEqual([TOUR_FILE, "grid.json"]);
    expect(data.snn[0].view?.arms).toHaveLength(3);
    const views = [data.merging, data.evolution, data.snn, data.grid].flat().map((s) => s.view);
    expect(mismatches(views, docs)).toEqual([]);
    expect(data.grid[0].view!.trees!.wrongEdges.value).toBe(1);
    expect(data.evolution[0].view!.versus[0].label).toBe("Evolver − random search");
  });

  it("says which section did not run, and reports a broken tour without hiding the committed results", async () => {
    const notRun = await loadDemoData([TOUR_FILE], async () => makeTourFixture({ snnNotRun: true }));
    expect(notRun.snn).toEqual([
      { file: TOUR_FILE, label: "this tour (x demo)", notRun: "the @x/snn package is not in this build" },
    ]);
    const broken = await loadDemoData([TOUR_FILE, "grid.json"], async (f) =>
      f === TOUR_FILE ? { format: "nope" } : docs[f],
    );
    expect(broken.tourError).toMatch(/^tour\.json: format: /);
    expect(broken.grid.map((s) => s.file)).toEqual(["grid.json"]);
  });
});
