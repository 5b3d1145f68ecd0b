/** `x grid evaluate`: metrics of an identified model against a known feeder. */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";

const USAGE = "x grid evaluate model.json --truth ieee69|ieee13|ieee37|feeder.json|case.m [--json]";

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
    "(library mode). Switch branches (|z| <= 2e-5 pu) count as one node; unmetered buses are skipped.",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { truth: { type: "string" }, json: { type: "boolean" } },
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
    if (values.json) {
      console.log(JSON.stringify({ model: file, truth: truth.id, ...m }));
      return 0;
    }
    const lines = [
      `model ${file} vs ${truth.id}`,
      `  edge accuracy      ${(100 * m.edgeAccuracy).toFixed(1)} % (${m.correctEdges}/${m.edges})`,
      `  exact tree         ${m.exactTree ? "yes" : "no"}`,
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
