/**
 * Turns the JSON files of a data folder into what each panel shows. Works in the browser (with
 * `fetch`) and in Node (tests read the files from disk): the caller passes how to read a file.
 */
import {
  BENCH_FILES,
  EvolverBenchSchema,
  GridBenchSchema,
  MergingBenchSchema,
  parseBench,
} from "./bench-schema.js";
import { DemoDataError } from "./errors.js";
import { parseTourResult, TOUR_FILE, type TourResult } from "./tour-schema.js";
import { type EvolutionView, evolutionFromBench, evolutionFromTour } from "./views/evolution.js";
import { type GridView, gridFromBench, gridFromTour } from "./views/grid.js";
import { type MergingView, mergingFromBench, mergingFromTour } from "./views/merging.js";
import { type SnnView, snnFromTour } from "./views/snn.js";

/** The list of files a data folder serves (`data/index.json`, written by the server and the export). */
export const DATA_INDEX_FILE = "index.json";

export interface DataIndex {
  readonly files: readonly string[];
  /** A live-merge bundle is served under `data/live-merge/` (the live panel fetches it only then). */
  readonly liveBundle: boolean;
}

/** One selectable source of a panel: a view, or why there is none. */
export interface PanelSource<V> {
  readonly file: string;
  readonly label: string;
  readonly view?: V;
  /** The file exists but cannot be shown (names the key and the problem). */
  readonly error?: string;
  /** The tour skipped this section; the reason it gave. */
  readonly notRun?: string;
}

export interface DemoData {
  readonly files: readonly string[];
  /** Set when tour.json exists but does not follow the contract. */
  readonly tourError?: string;
  readonly merging: readonly PanelSource<MergingView>[];
  readonly evolution: readonly PanelSource<EvolutionView>[];
  readonly snn: readonly PanelSource<SnnView>[];
  readonly grid: readonly PanelSource<GridView>[];
}

export type ReadJson = (file: string) => Promise<unknown>;

export function parseDataIndex(json: unknown): DataIndex {
  const files = (json as { files?: unknown })?.files;
  if (!Array.isArray(files) || !files.every((f) => typeof f === "string"))
    throw new DemoDataError(DATA_INDEX_FILE, "files", "must be an array of file names");
  return { files, liveBundle: (json as { liveBundle?: unknown }).liveBundle === true };
}

const TOUR_LABEL = "this tour (x demo)";

async function benchSources<V>(
  files: readonly string[],
  known: readonly string[],
  read: ReadJson,
  build: (file: string, json: unknown) => V,
): Promise<PanelSource<V>[]> {
  const out: PanelSource<V>[] = [];
  for (const file of known) {
    if (!files.includes(file)) continue;
    const label = `committed ${file}`;
    try {
      out.push({ file, label, view: build(file, await read(file)) });
    } catch (e) {
      out.push({ file, label, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

function tourSourceOf<V, K extends "merging" | "evolution" | "snn" | "grid">(
  tour: TourResult | undefined,
  key: K,
  build: (t: TourResult, file: string) => V,
): PanelSource<V>[] {
  if (!tour) return [];
  const section = tour[key];
  if (section.status === "not-run") return [{ file: TOUR_FILE, label: TOUR_LABEL, notRun: section.reason }];
  try {
    return [{ file: TOUR_FILE, label: TOUR_LABEL, view: build(tour, TOUR_FILE) }];
  } catch (e) {
    return [{ file: TOUR_FILE, label: TOUR_LABEL, error: e instanceof Error ? e.message : String(e) }];
  }
}

export async function loadDemoData(files: readonly string[], read: ReadJson): Promise<DemoData> {
  let tour: TourResult | undefined;
  let tourError: string | undefined;
  if (files.includes(TOUR_FILE)) {
    try {
      tour = parseTourResult(await read(TOUR_FILE), TOUR_FILE);
    } catch (e) {
      tourError = e instanceof Error ? e.message : String(e);
    }
  }
  // The tour's section first (the run the user just made), then the committed results.
  return {
    files,
    tourError,
    merging: [
      ...tourSourceOf(tour, "merging", (t, f) =>
        mergingFromTour(t as Parameters<typeof mergingFromTour>[0], f),
      ),
      ...(await benchSources(files, BENCH_FILES.merging, read, (f, j) =>
        mergingFromBench(f, parseBench(MergingBenchSchema, j, f)),
      )),
    ],
    evolution: [
      ...tourSourceOf(tour, "evolution", (t, f) =>
        evolutionFromTour(t as Parameters<typeof evolutionFromTour>[0], f),
      ),
      ...(await benchSources(files, BENCH_FILES.evolution, read, (f, j) =>
        evolutionFromBench(f, parseBench(EvolverBenchSchema, j, f)),
      )),
    ],
    snn: tourSourceOf(tour, "snn", (t, f) => snnFromTour(t as Parameters<typeof snnFromTour>[0], f)),
    grid: [
      ...tourSourceOf(tour, "grid", (t, f) => gridFromTour(t as Parameters<typeof gridFromTour>[0], f)),
      ...(await benchSources(files, BENCH_FILES.grid, read, (f, j) =>
        gridFromBench(f, parseBench(GridBenchSchema, j, f)),
      )),
    ],
  };
}
