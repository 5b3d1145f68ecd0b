// One-paragraph text reports of a simulation, an identification and an evaluation (what `x grid` prints).
import type { GridModel } from "./identify/pipeline.js";
import type { ContractedTopologyMetrics, IdentificationMetrics } from "./metrics/index.js";

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
  readonly seconds: number;
}

/** The simulation in one line: feeder, metering, samples, voltage range, noise, missing readings, time. */
export function formatSimulationSummary(s: SimulationSummary): string {
  return (
    `wrote ${s.out}: ${s.feeder}, ${s.meters}/${s.buses} buses metered, ${s.samples} × ${s.intervalMinutes} min, ` +
    `|V| ${s.vmin.toFixed(4)}–${s.vmax.toFixed(4)} pu, σ_v ${(s.voltageSigma * 100).toPrecision(3)} %, ` +
    `σ_pq ${(s.powerSigma * 100).toPrecision(3)} %, ${s.missingReadings} missing, ${s.seconds.toFixed(1)} s`
  );
}

/** What an identification produced (`x grid identify --json`). */
export interface IdentificationSummary {
  readonly out: string;
  readonly feeder: string;
  readonly buses: number;
  readonly hiddenBuses: number;
  readonly branches: number;
  readonly samples: number;
  readonly topology: GridModel["topology"]["method"];
  readonly design: GridModel["topology"]["design"];
  readonly method: GridModel["impedance"]["method"];
  readonly solver: string | null;
  readonly library: boolean;
  readonly exactRelaxations: number;
  readonly seconds: GridModel["seconds"];
}

/** The summary of `model`, identified from `feeder`'s data and written to `out`. */
export function identificationSummary(model: GridModel, out: string, feeder: string): IdentificationSummary {
  return {
    out,
    feeder,
    buses: model.buses.length,
    hiddenBuses: model.hiddenBuses.length,
    branches: model.branches.length,
    samples: model.samples,
    topology: model.topology.method,
    design: model.topology.design,
    method: model.impedance.method,
    solver: model.impedance.solver ?? null,
    library: model.impedance.library,
    exactRelaxations: model.impedance.exactRelaxations,
    seconds: model.seconds,
  };
}

/** The identification in one line: branches and buses, topology and impedance methods with their times. */
export function formatIdentificationSummary(s: IdentificationSummary): string {
  return (
    `wrote ${s.out}: ${s.branches} branches over ${s.buses} buses` +
    `${s.hiddenBuses ? ` (${s.hiddenBuses} unmetered left out)` : ""}, ${s.samples} samples; ` +
    `topology ${s.topology} (${s.design}) ${s.seconds.topology.toFixed(2)} s, ` +
    `impedances ${s.library ? `${s.method} conductor library` : `${s.method}${s.solver ? `/${s.solver}` : ""}`} ` +
    `${s.seconds.impedance.toFixed(2)} s` +
    (s.library ? "" : `, ${s.exactRelaxations}/${s.branches} relaxations exact`)
  );
}

const pctText = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} %` : "n/a");

/**
 * An evaluation as text: edge accuracy, exact tree, the topology up to contraction (`contracted`, or why there is
 * none: `contractDrop` 0, or a model that does not cover every bus), r / x / |z| errors, conductors and lengths.
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
  return lines.join("\n");
}
