/** `x grid evaluate`: metrics of an identified model against a known feeder. */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";

const USAGE =
  "x grid evaluate model.json --truth ieee69|ieee13|ieee37|ieee69-merged|feeder.json|case.m [--contract-drop PU] [--json]";

interface ModelDoc {
  format?: string;
  branches?: {
    from: string;
    to: string;
    rPu: number | null;
    xPu: number | null;
    conductor?: string;
    ties?: string[];
    lengthKm?: number;
  }[];
}

const pct = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} %` : "n/a");

export const gridEvaluate: Command = {
  name: "grid evaluate",
  summary:
    "Compares an identified model (from x grid identify) with the true feeder: edge accuracy, exact tree, r/x MAPE " +
    "and median errors over the recovered edges, |z| median error, conductor-type accuracy and length MAPE " +
    "(library mode). Switch branches (|z| <= 2e-5 pu) count as one node; unmetered buses are skipped. Next to the plain " +
    "exact tree it prints the topology 'up to contraction': both trees compared after contracting the true feeder's " +
    "branches whose nominal-load drop in |V|² is below --contract-drop (pu, default 1.5e-4; 0 = off; needs a model " +
    "covering every bus).",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { truth: { type: "string" }, json: { type: "boolean" }, "contract-drop": { type: "string" } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new UsageError("expected exactly one model JSON");
    if (!values.truth) throw new UsageError("--truth is required");
    const file = positionals[0]!;
    let doc: ModelDoc;
    try {
      doc = JSON.parse(await readFile(file, "utf8")) as ModelDoc;
    } catch (err) {
      throw new Error(`${file}: not a readable model JSON (${(err as Error).message})`);
    }
    if (doc.format !== "x-grid-model/1" || !Array.isArray(doc.branches))
      throw new Error(`${file}: not an x-grid-model/1 document (format: ${String(doc.format)})`);
    const grid = await import("@x/grid-model");
    const truth = await grid.loadFeeder(values.truth);
    const branches = doc.branches.map((b) => ({
      ...b,
      // JSON null = an unidentifiable (flow-free) branch.
      rPu: b.rPu ?? Number.NaN,
      xPu: b.xPu ?? Number.NaN,
    }));
    const m = grid.evaluateIdentification(truth, branches);
    const drop =
      values["contract-drop"] === undefined ? grid.IEEE69_MERGE_DROP_PU : Number(values["contract-drop"]);
    if (!(Number.isFinite(drop) && drop >= 0))
      throw new UsageError(`--contract-drop must be a number >= 0 (pu), got '${values["contract-drop"]}'`);
    const covered = new Set(branches.flatMap((b) => [b.from, b.to]));
    const mc =
      drop > 0 && truth.buses.every((b) => covered.has(b.name))
        ? grid.evaluateContractedTopology(truth, branches, { maxDropPu: drop })
        : undefined;
    if (values.json) {
      console.log(JSON.stringify({ model: file, truth: truth.id, ...m, ...(mc ? { contracted: mc } : {}) }));
      return 0;
    }
    const lines = [
      `model ${file} vs ${truth.id}`,
      `  edge accuracy      ${(100 * m.edgeAccuracy).toFixed(1)} % (${m.correctEdges}/${m.edges})`,
      `  exact tree         ${m.exactTree ? "yes" : "no"}`,
      mc
        ? `  up to contraction  edges ${(100 * mc.edgeAccuracy).toFixed(1)} % (${mc.correctEdges}/${mc.edges}), exact ${mc.exactTree ? "yes" : "no"} ` +
          `[${mc.contractedBranches} true branches contracted: ${mc.criterion}]`
        : `  up to contraction  n/a (${drop > 0 ? "model does not cover every bus" : "--contract-drop 0"})`,
      `  MAPE r / x         ${pct(m.mapeR)} / ${pct(m.mapeX)}`,
      `  median APE r / x   ${pct(m.medianApeR)} / ${pct(m.medianApeX)}`,
      `  median |z| error   ${pct(m.medianApeZ)} (within 5 %: ${(100 * m.within5).toFixed(0)} % of edges)`,
    ];
    if (m.unidentified > 0) lines.push(`  unidentifiable     ${m.unidentified} flow-free branch(es)`);
    if (m.conductorAccuracy !== null)
      lines.push(`  conductor accuracy ${(100 * m.conductorAccuracy).toFixed(1)} %`);
    if (m.lengthMape !== null) lines.push(`  length MAPE        ${pct(m.lengthMape)}`);
    console.log(lines.join("\n"));
    return 0;
  },
};
