// One-paragraph text reports of a simulation, an identification and an evaluation (what `x grid` prints).
import type { GridModel } from "./identify/pipeline.js";
import type { SkippedRow } from "./io/row-errors.js";
import type { ContractedTopologyMetrics, IdentificationMetrics } from "./metrics/index.js";
import type { SimulationOptions } from "./simulate/simulate.js";
import { cappedList } from "./text.js";

/** What a smart-meter simulation produced (`x grid simulate --json`). */
export interface SimulationSummary {
  readonly out: string;
  readonly feeder: string;
  readonly buses: number;
  readonly meters: number;
  readonly samples: number;
  readonly intervalMinutes: number;
  readonly seed: number;
  readonly voltageSigma: number;
  readonly powerSigma: number;
  readonly missingReadings: number;
  readonly vmin: number;
  readonly vmax: number;
  /** The preset applied ("realistic"), if any. */
  readonly preset?: string | null;
  /** The realism effects in force, described (simulationEffects); empty for a clean simulation. */
  readonly effects?: Readonly<Record<string, string>>;
  readonly seconds: number;
}

const pc = (x: number) => `${Number((100 * x).toPrecision(6))} %`;

/**
 * The realism effects a simulation's options switch on, each described in words (ZIP loads, PV, minute
 * variability, registers, junction loads, metering of every bus, clock offsets, gaps, outliers, gross errors).
 */
export function simulationEffects(o: Partial<SimulationOptions>): Record<string, string> {
  const e: Record<string, string> = {};
  if (o.zip) e.zip = `Z ${o.zip.z}, I ${o.zip.i}, P ${o.zip.p}`;
  if (o.pvFraction) e.pv = `${pc(o.pvFraction)} of the loaded buses, peak ${o.pvSize ?? 0.5} × the bus load`;
  if (o.minuteVariability) e.minuteVariability = `σ ${o.minuteVariability}`;
  if (o.voltageStepPu) e.voltageStep = `${Number(o.voltageStepPu.toPrecision(4))} pu`;
  if (o.energyStepWh) e.energyStep = `${o.energyStepWh} Wh`;
  if (o.junctionLoad) e.junctionLoad = `${pc(o.junctionLoad)} of the largest load`;
  if (o.meters === "all") e.meters = "every bus";
  if (o.clockOffsetMinutes) e.clockOffset = `±${o.clockOffsetMinutes} min`;
  if (o.missing) e.missing = `${pc(o.missing)} of the records, outages of ${o.missingRun ?? 1} interval(s)`;
  if (o.outliers) e.outliers = `${pc(o.outliers)} of the readings`;
  if (o.grossErrors?.rate)
    e.gross = `${pc(o.grossErrors.rate)} of the readings, P/Q ×${o.grossErrors.powerFactor ?? 10}, |V| ×${o.grossErrors.voltageFactor ?? 1.2}`;
  return e;
}

/** The simulation in one line: feeder, metering, samples, voltage range, noise, missing readings, time. */
export function formatSimulationSummary(s: SimulationSummary): string {
  return (
    `wrote ${s.out}: ${s.feeder}, ${s.meters}/${s.buses} buses metered, ${s.samples} × ${s.intervalMinutes} min, ` +
    `|V| ${s.vmin.toFixed(4)}–${s.vmax.toFixed(4)} pu, σ_v ${(s.voltageSigma * 100).toPrecision(3)} %, ` +
    `σ_pq ${(s.powerSigma * 100).toPrecision(3)} %, ${s.missingReadings} missing, ${s.seconds.toFixed(1)} s` +
    (s.effects && Object.keys(s.effects).length
      ? `\neffects${s.preset ? ` (${s.preset} preset)` : ""}: ${Object.entries(s.effects)
          .map(([k, v]) => `${k} ${v}`)
          .join("; ")}`
      : "")
  );
}

/** What an identification produced (`x grid identify --json`). */
export interface IdentificationSummary {
  readonly out: string;
  readonly feeder: string;
  readonly buses: number;
  readonly hiddenBuses: number;
  /** The buses without a meter, left out of the model. */
  readonly unmetered: readonly string[];
  /** Unmetered junctions inserted into the model (absent when none were looked for). */
  readonly hiddenJunctions?: readonly {
    readonly bus: string;
    readonly parent: string;
    readonly children: readonly string[];
  }[];
  readonly branches: number;
  readonly samples: number;
  readonly topology: GridModel["topology"]["method"];
  readonly design: GridModel["topology"]["design"];
  readonly method: GridModel["impedance"]["method"];
  readonly solver: string | null;
  readonly library: boolean;
  readonly exactRelaxations: number;
  readonly seconds: GridModel["seconds"];
  /** What the bad-data steps rejected; null when they were off. */
  readonly badData: BadDataSummary | null;
  /** Edges with confidence below 0.99, with the confidence when the topology read-out gives one. */
  readonly uncertainEdges: readonly { readonly edge: string; readonly confidence: number | null }[];
  /** Rows of the input left out as bad (present when bad rows were skipped rather than refused). */
  readonly skipped?: readonly SkippedRow[];
  /** Files the identified feeder was exported to (MATPOWER, OpenDSS, feeder JSON). */
  readonly exports?: readonly string[];
  /** The impedance the exports gave branches that never carried flow (null: there were none). */
  readonly placeholderImpedance?: {
    readonly rPu: number;
    readonly xPu: number;
    readonly branches: readonly string[];
  } | null;
}

/** The bad-data report in counts: flagged readings by test and by quantity, and the meters flagged as a whole. */
export interface BadDataSummary {
  readonly flagged: number;
  readonly byTest: { readonly spike: number; readonly residual: number };
  readonly byQuantity: { readonly v: number; readonly p: number; readonly q: number };
  readonly meters: readonly { readonly bus: string; readonly flagged: number; readonly readings: number }[];
  /** The (at most 3) rejected readings with the largest normalised residuals, largest first. */
  readonly largest: readonly {
    readonly bus: string;
    readonly quantity: "v" | "p" | "q";
    readonly sample: number;
    readonly z: number;
    readonly test: "spike" | "residual";
  }[];
  readonly missing: number;
  readonly branchRejections: number;
}

function badDataSummary(r: NonNullable<GridModel["badData"]>): BadDataSummary {
  const byTest = { spike: 0, residual: 0 };
  const byQuantity = { v: 0, p: 0, q: 0 };
  for (const f of r.readings) {
    byTest[f.test]++;
    byQuantity[f.quantity]++;
  }
  return {
    flagged: r.readings.length,
    byTest,
    byQuantity,
    meters: r.meters.map((m) => ({ bus: m.bus, flagged: m.flagged, readings: m.readings })),
    largest: [...r.readings]
      .sort((a, b) => b.z - a.z)
      .slice(0, 3)
      .map((f) => ({ bus: f.bus, quantity: f.quantity, sample: f.sample, z: f.z, test: f.test })),
    missing: r.missing,
    branchRejections: r.branchRejections,
  };
}

/** The summary of `model`, identified from `feeder`'s data and written to `out`. */
export function identificationSummary(model: GridModel, out: string, feeder: string): IdentificationSummary {
  return {
    out,
    feeder,
    buses: model.buses.length,
    hiddenBuses: model.hiddenBuses.length,
    unmetered: [...model.hiddenBuses],
    ...(model.hiddenJunctions
      ? {
          hiddenJunctions: model.hiddenJunctions.map((j) => ({
            bus: j.bus,
            parent: j.parent,
            children: [...j.children],
          })),
        }
      : {}),
    branches: model.branches.length,
    samples: model.samples,
    topology: model.topology.method,
    design: model.topology.design,
    method: model.impedance.method,
    solver: model.impedance.solver ?? null,
    library: model.impedance.library,
    exactRelaxations: model.impedance.exactRelaxations,
    seconds: model.seconds,
    badData: model.badData ? badDataSummary(model.badData) : null,
    uncertainEdges: model.uncertainEdges.map((edge) => {
      const b = model.branches.find((x) => `${x.from}-${x.to}` === edge || `${x.to}-${x.from}` === edge);
      return { edge, confidence: b?.confidence ?? null };
    }),
  };
}

/**
 * The identification: one line with branches and buses, topology and impedance methods with their times, then
 * what the bad-data steps rejected and the uncertain edges (capped lists).
 */
export function formatIdentificationSummary(s: IdentificationSummary): string {
  return (
    `wrote ${s.out}: ${s.branches} branches over ${s.buses} buses` +
    `${s.hiddenBuses ? (s.hiddenJunctions?.length ? ` (${s.hiddenBuses} unmetered, ${s.hiddenJunctions.length} inserted as junctions)` : ` (${s.hiddenBuses} unmetered left out)`) : ""}, ${s.samples} samples; ` +
    `topology ${s.topology} (${s.design}) ${s.seconds.topology.toFixed(2)} s, ` +
    `impedances ${s.library ? `${s.method} conductor library` : `${s.method}${s.solver ? `/${s.solver}` : ""}`} ` +
    `${s.seconds.impedance.toFixed(2)} s` +
    (s.library ? "" : `, ${s.exactRelaxations}/${s.branches} relaxations exact`) +
    (s.unmetered?.length
      ? s.hiddenJunctions?.length
        ? `\nunmetered buses: ${cappedList(s.unmetered, 8)}; junctions inserted: ${cappedList(
            s.hiddenJunctions.map((j) => `${j.bus} under ${j.parent} (${j.children.join(", ")})`),
            4,
          )} (their voltages are estimated; the other unmetered buses are left out)`
        : `\nunmetered buses left out: ${cappedList(s.unmetered, 8)} (the tree joins the metered buses directly; ${s.hiddenJunctions ? "no unmetered junction found" : "the branches around an unmetered junction are approximations; --hidden-junctions looks for such junctions"})`
      : "") +
    badDataLine(s.badData) +
    (s.uncertainEdges.length
      ? `\nuncertain edges: ${cappedList(
          s.uncertainEdges.map((u) =>
            u.confidence === null ? u.edge : `${u.edge} (${u.confidence.toFixed(2)})`,
          ),
          8,
        )}`
      : "") +
    skippedLine(s.skipped) +
    (s.placeholderImpedance
      ? `\nplaceholder impedance r=${s.placeholderImpedance.rPu}, x=${s.placeholderImpedance.xPu} pu (never carried flow) on ${s.placeholderImpedance.branches.join(", ")} in ${(s.exports ?? []).join(", ")}`
      : "")
  );
}

/** The input rows left out as bad: the count and the first five with file:line:column and reason. */
function skippedLine(skipped: readonly SkippedRow[] | undefined): string {
  if (!skipped) return "";
  if (skipped.length === 0) return "\nskipped 0 bad rows";
  const shown = skipped.slice(0, 5).map((r) => `${r.file}:${r.line}:${r.column} ${r.reason}`);
  return `\nskipped ${skipped.length} bad row(s): ${shown.join("; ")}${skipped.length > 5 ? `; +${skipped.length - 5} more (all in --json)` : ""}`;
}

function badDataLine(b: BadDataSummary | null): string {
  if (!b) return "";
  const nonzero = (pairs: [string, number][]) =>
    pairs
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
  const head =
    b.flagged === 0
      ? "\nbad data: no readings rejected"
      : `\nbad data: ${b.flagged} reading(s) rejected (${nonzero([
          ["spike test", b.byTest.spike],
          ["residual test", b.byTest.residual],
        ])}; ${nonzero([
          ["|V|", b.byQuantity.v],
          ["P", b.byQuantity.p],
          ["Q", b.byQuantity.q],
        ])})`;
  const meters = b.meters.length
    ? `; meters flagged: ${cappedList(
        b.meters.map((m) => `${m.bus} (${m.flagged}/${m.readings})`),
        5,
      )}`
    : "";
  const branch = b.branchRejections ? `; ${b.branchRejections} sample(s) rejected by the branch fits` : "";
  const name = { v: "|V|", p: "P", q: "Q" } as const;
  const largest = b.largest.length
    ? `; largest: ${b.largest
        .map((f) => `${f.bus} ${name[f.quantity]} sample ${f.sample} (${f.z.toFixed(1)} σ, ${f.test})`)
        .join(", ")}`
    : "";
  return head + meters + largest + branch;
}

const pctText = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} %` : "n/a");

/**
 * An evaluation as text: edge accuracy, exact tree, the topology up to contraction (`contracted`, or why there is
 * none: `contractDrop` 0, or a model that does not cover every bus), r / x / |z| errors, conductors and lengths,
 * then the wrong and missed edges (capped) and the three branches with the largest |z| errors.
 */
export function formatEvaluation(
  model: string,
  truth: string,
  m: IdentificationMetrics,
  contracted: ContractedTopologyMetrics | undefined,
  contractDrop: number,
): string {
  const mc = contracted;
  const lines = [
    `model ${model} vs ${truth}`,
    `  edge accuracy      ${(100 * m.edgeAccuracy).toFixed(1)} % (${m.correctEdges}/${m.edges})`,
    `  exact tree         ${m.exactTree ? "yes" : "no"}`,
    mc
      ? `  up to contraction  edges ${(100 * mc.edgeAccuracy).toFixed(1)} % (${mc.correctEdges}/${mc.edges}), exact ${mc.exactTree ? "yes" : "no"} ` +
        `[${mc.contractedBranches} true branches contracted: ${mc.criterion}]`
      : `  up to contraction  n/a (${contractDrop > 0 ? "model does not cover every bus" : "--contract-drop 0"})`,
    `  MAPE r / x         ${pctText(m.mapeR)} / ${pctText(m.mapeX)}`,
    `  median APE r / x   ${pctText(m.medianApeR)} / ${pctText(m.medianApeX)}`,
    `  median |z| error   ${pctText(m.medianApeZ)} (within 5 %: ${(100 * m.within5).toFixed(0)} % of edges)`,
  ];
  if (m.unidentified > 0) lines.push(`  unidentifiable     ${m.unidentified} flow-free branch(es)`);
  if (m.conductorAccuracy !== null)
    lines.push(`  conductor accuracy ${(100 * m.conductorAccuracy).toFixed(1)} %`);
  if (m.lengthMape !== null) lines.push(`  length MAPE        ${pctText(m.lengthMape)}`);
  const edges = (es: readonly { from: string; to: string }[]) =>
    cappedList(
      es.map((e) => `${e.from}-${e.to}`),
      6,
    );
  if (m.wrongEdges.length) lines.push(`  wrong edges        ${edges(m.wrongEdges)}`);
  if (m.missedEdges.length) lines.push(`  missed true edges  ${edges(m.missedEdges)}`);
  if (m.worstBranches.length)
    lines.push(
      `  worst |z| errors   ${m.worstBranches
        .slice(0, 3)
        .map((b) => `${b.from}-${b.to} ${pctText(b.apeZ)}`)
        .join(", ")}`,
    );
  return lines.join("\n");
}
