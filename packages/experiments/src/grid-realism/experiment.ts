import os from "node:os";
import {
  accuracyClassSigma,
  builtinFeeder,
  evaluateIdentification,
  type IdentifyOptions,
  identifyGrid,
  REALISTIC,
  type SimulationOptions,
  simulateSmartMeters,
} from "@x/grid-model";
import { writeResultFiles } from "../results.js";

/** Each effect as simulation options added to the baseline. */
export const GRID_REALISM_EFFECTS: Readonly<
  Record<string, { what: string; options: Partial<SimulationOptions>; identify?: Partial<IdentifyOptions> }>
> = {
  baseline: { what: "clean case: every bus metered, junctions 2 % load, 15-min means", options: {} },
  zip: { what: "ZIP loads 40/30/30 % (Z/I/P)", options: { zip: REALISTIC.zip! } },
  pv: {
    what: "PV at 30 % of loaded buses, 1.5× their load (reverse flow)",
    options: { pvFraction: 0.3, pvSize: 1.5 },
  },
  "interval-means": {
    what: "15-min means of loads varying minute to minute (σ 0.3)",
    options: { minuteVariability: 0.3 },
  },
  quantisation: {
    what: "0.1 V voltage registers (230 V base), 10 Wh energy registers",
    options: { voltageStepPu: 0.1 / 230, energyStepWh: 10 },
  },
  "zero-injection": {
    what: "junctions without load, metered for |V| (P = Q = 0)",
    options: { junctionLoad: 0 },
  },
  "unmetered-junctions": {
    what: "junctions without load and without meter",
    options: { junctionLoad: 0, meters: "load" },
  },
  "unmetered-junctions-placed": {
    what: "unmetered junctions as above, identified with hiddenJunctions: true (unmetered junctions inserted)",
    options: { junctionLoad: 0, meters: "load" },
    identify: { hiddenJunctions: true },
  },
  clocks: { what: "meter clocks off by up to ±2 min", options: { clockOffsetMinutes: 2 } },
  "gaps-gross": {
    what: "5 % missing records (outages of 4 intervals), 0.1 % gross readings (P/Q ×10, |V| ×1.2)",
    options: { missing: 0.05, missingRun: 4, grossErrors: { rate: 0.001 } },
  },
  all: { what: "all of the above (REALISTIC preset; junctions metered)", options: { ...REALISTIC } },
};

export interface GridRealismOptions {
  /** Feeder → sample counts. */
  readonly plan?: Readonly<Record<string, readonly number[]>>;
  readonly seeds?: readonly number[];
  /** Seeds per feeder, overriding `seeds` for the feeders listed. */
  readonly seedsFor?: Readonly<Record<string, readonly number[]>>;
  readonly effects?: readonly string[];
  readonly log?: (line: string) => void;
}

export interface GridRealismCell {
  readonly feeder: string;
  readonly effect: string;
  readonly samples: number;
  readonly seed: number;
  readonly exactTree: boolean;
  readonly edgeAccuracy: number;
  readonly medianApeZ: number;
  readonly uncertainEdges: number;
  readonly flaggedReadings: number;
  readonly seconds: number;
}

export interface GridRealismResult {
  readonly name: "grid-realism";
  readonly machine: {
    cpu: string;
    cores: number;
    node: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  readonly started: string;
  readonly seeds: readonly number[];
  /** Seeds per feeder (present when they differ between feeders). */
  readonly seedsFor?: Readonly<Record<string, readonly number[]>>;
  readonly effects: Readonly<Record<string, string>>;
  readonly cells: readonly GridRealismCell[];
}

export const GRID_REALISM_PLAN: Readonly<Record<string, readonly number[]>> = {
  ieee13: [1440, 2880, 5760],
  ieee37: [5000, 10000],
};

export function runGridRealism(opts: GridRealismOptions = {}): GridRealismResult {
  const plan = opts.plan ?? GRID_REALISM_PLAN;
  const seeds = opts.seeds ?? [1, 2, 3];
  const effects = opts.effects ?? Object.keys(GRID_REALISM_EFFECTS);
  const loadAverageAtStart = os.loadavg().map((v) => Number(v.toFixed(2)));
  const started = new Date().toISOString();
  const cells: GridRealismCell[] = [];
  for (const [fid, counts] of Object.entries(plan)) {
    const f = builtinFeeder(fid);
    for (const samples of counts)
      for (const effect of effects) {
        const e = GRID_REALISM_EFFECTS[effect];
        if (!e)
          throw new Error(
            `unknown effect "${effect}" (known: ${Object.keys(GRID_REALISM_EFFECTS).join(", ")})`,
          );
        for (const seed of opts.seedsFor?.[fid] ?? seeds) {
          const d = simulateSmartMeters(f, {
            samples,
            seed,
            meters: "all",
            junctionLoad: 0.02,
            voltageSigma: accuracyClassSigma(0.1),
            powerSigma: accuracyClassSigma(0.5),
            ...e.options,
          });
          const t0 = performance.now();
          const model = identifyGrid(d, e.identify ?? {});
          const seconds = (performance.now() - t0) / 1000;
          const m = evaluateIdentification(f, model.branches);
          const cell: GridRealismCell = {
            feeder: fid,
            effect,
            samples,
            seed,
            exactTree: m.exactTree,
            edgeAccuracy: m.edgeAccuracy,
            medianApeZ: m.medianApeZ,
            uncertainEdges: model.uncertainEdges.length,
            flaggedReadings: model.badData?.readings.length ?? 0,
            seconds,
          };
          cells.push(cell);
          opts.log?.(
            `${fid} T=${samples} ${effect} seed ${seed}: ${m.exactTree ? "exact" : `edges ${m.edgeAccuracy.toFixed(3)}`}, |z| ${m.medianApeZ.toFixed(2)} %, ${seconds.toFixed(1)} s`,
          );
        }
      }
  }
  return {
    name: "grid-realism",
    machine: {
      cpu: os.cpus()[0]?.model ?? "unknown",
      cores: os.cpus().length,
      node: process.version,
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg().map((v) => Number(v.toFixed(2))),
    },
    started,
    seeds,
    ...(opts.seedsFor ? { seedsFor: opts.seedsFor } : {}),
    effects: Object.fromEntries(effects.map((k) => [k, GRID_REALISM_EFFECTS[k]!.what])),
    cells,
  };
}

const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : "n/a");

export function gridRealismMarkdown(r: GridRealismResult): string {
  const feeders = [...new Set(r.cells.map((c) => c.feeder))];
  const lines = [
    "# Identification under realistic meter data (grid-realism)",
    "",
    `Measured ${r.started} on ${r.machine.cores} shared cores (${r.machine.cpu}, Node ${r.machine.node}); load average ${r.machine.loadAverageAtStart.join(" / ")} at the start, ${r.machine.loadAverageAtEnd.join(" / ")} at the end, so the seconds are pessimistic. Seeds ${Object.keys(r.seedsFor ?? {}).length ? feeders.map((f) => `${f}: ${(r.seedsFor?.[f] ?? r.seeds).join(", ")}`).join("; ") : r.seeds.join(", ")}.`,
    "",
    "Simulation: balanced positive-sequence AC power flow every minute, household load profiles, 15-min meter intervals. Baseline = every bus metered, junctions given 2 % of the largest load, 0.1 %-class |V| and 0.5 %-class P/Q meters. Each row adds one effect to the baseline; `all` is the `REALISTIC` preset. Identification: `identifyGrid` with its defaults (likelihood topology, bad-data screens, LAD with rejection), except `unmetered-junctions-placed`, which turns on the hidden-junction step. Cells: exact trees over seeds · mean edge accuracy · mean median |z| error over the correctly found edges (%).",
    "",
    "| effect | what |",
    "|---|---|",
    ...Object.entries(r.effects).map(([k, v]) => `| ${k} | ${v} |`),
    "",
  ];
  for (const fid of feeders) {
    const counts = [...new Set(r.cells.filter((c) => c.feeder === fid).map((c) => c.samples))];
    lines.push(
      `## ${fid}`,
      "",
      `| effect | ${counts.map((t) => `T = ${t}`).join(" | ")} |`,
      `|---|${counts.map(() => "---|").join("")}`,
    );
    for (const effect of Object.keys(r.effects)) {
      const row = counts.map((t) => {
        const cs = r.cells.filter((c) => c.feeder === fid && c.samples === t && c.effect === effect);
        if (!cs.length) return "–";
        const exact = cs.filter((c) => c.exactTree).length;
        const acc = cs.reduce((s, c) => s + c.edgeAccuracy, 0) / cs.length;
        const z = cs.reduce((s, c) => s + c.medianApeZ, 0) / cs.length;
        return `${exact}/${cs.length} · ${fmt(acc, 3)} · ${fmt(z)} %`;
      });
      lines.push(`| ${effect} | ${row.join(" | ")} |`);
    }
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

/** Writes `<dir>/grid-realism.json` and `.md` (temporary file, then rename). */
export function writeGridRealism(r: GridRealismResult, dir = "bench/results"): string[] {
  return writeResultFiles(dir, "grid-realism", [
    [".json", `${JSON.stringify(r, null, 2)}\n`],
    [".md", gridRealismMarkdown(r)],
  ]);
}
