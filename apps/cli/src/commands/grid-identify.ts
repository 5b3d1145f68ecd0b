/** `x grid identify`: topology and line impedances from a smart-meter CSV (two-stage identification). */
import { rename, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";

const USAGE =
  "x grid identify sm.csv --out model.json [--method lad|ls|joint] [--library] [--library-family ieee|pandapower|all] " +
  "[--topology likelihood|tree-metric|laplacian|variance] [--solver highs|glpk] [--json]";

export const gridIdentify: Command = {
  name: "grid identify",
  summary:
    "Identifies a radial feeder from smart-meter data (x-grid-smartmeter CSV): stage 1 recovers the topology " +
    "(loss-corrected tree metric on the regressed voltage sensitivities by default; the plain Laplacian inversion " +
    "and Var-MinST as options), stage 2 the branch impedances by a leaves-to-root sweep of per-branch LAD (LP with " +
    "tangent cuts, default solver HiGHS) or LS fits on the DistFlow branch equation. --library picks a conductor " +
    "type and length per branch from the package's conductor library instead. Writes the model JSON.",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        out: { type: "string", short: "o" },
        method: { type: "string" },
        library: { type: "boolean" },
        "library-family": { type: "string" },
        topology: { type: "string" },
        solver: { type: "string" },
        json: { type: "boolean" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new UsageError("expected exactly one smart-meter CSV");
    if (!values.out) throw new UsageError("--out is required");
    const method = values.method ?? "lad";
    if (method !== "lad" && method !== "ls" && method !== "joint")
      throw new UsageError(`--method must be lad, ls or joint, got '${method}'`);
    const topology = values.topology ?? "likelihood";
    if (
      topology !== "likelihood" &&
      topology !== "tree-metric" &&
      topology !== "laplacian" &&
      topology !== "variance"
    )
      throw new UsageError(
        `--topology must be likelihood, tree-metric, laplacian or variance, got '${topology}'`,
      );
    const solverName = values.solver ?? "highs";
    if (solverName !== "highs" && solverName !== "glpk")
      throw new UsageError(`--solver must be highs or glpk, got '${solverName}'`);
    const family = values["library-family"] ?? "ieee";
    if (family !== "ieee" && family !== "pandapower" && family !== "all")
      throw new UsageError(`--library-family must be ieee, pandapower or all, got '${family}'`);

    const grid = await import("@x/grid-model");
    const data = await grid.readSmartMeterCsv(positionals[0]!);
    const zBaseOhm = (data.baseKvLl * data.baseKvLl) / data.baseMva;
    const library = values.library
      ? grid.conductorsPu({ zBaseOhm }, grid.selectConductors({ ...(family === "all" ? {} : { family }) }))
      : undefined;
    const solver = method === "lad" && !library ? await grid.createLpSolver(solverName) : undefined;
    const model = grid.identifyGrid(data, {
      method,
      topology: { method: topology },
      ...(solver ? { solver } : {}),
      ...(library ? { library } : {}),
      zBaseOhm,
    });
    const doc = { ...model, feeder: data.feederId, source: positionals[0] };
    const tmp = `${values.out}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`);
    await rename(tmp, values.out);
    const summary = {
      out: values.out,
      feeder: data.feederId,
      buses: model.buses.length,
      hiddenBuses: model.hiddenBuses.length,
      branches: model.branches.length,
      samples: model.samples,
      topology: model.topology.method,
      design: model.topology.design,
      method,
      solver: model.impedance.solver ?? null,
      library: model.impedance.library,
      exactRelaxations: model.impedance.exactRelaxations,
      seconds: model.seconds,
    };
    if (values.json) console.log(JSON.stringify(summary));
    else
      console.log(
        `wrote ${values.out}: ${summary.branches} branches over ${summary.buses} buses` +
          `${summary.hiddenBuses ? ` (${summary.hiddenBuses} unmetered left out)` : ""}, ${summary.samples} samples; ` +
          `topology ${summary.topology} (${summary.design}) ${model.seconds.topology.toFixed(2)} s, ` +
          `impedances ${library ? `${method} conductor library` : `${method}${solver ? `/${solver.name}` : ""}`} ` +
          `${model.seconds.impedance.toFixed(2)} s` +
          (library ? "" : `, ${summary.exactRelaxations}/${summary.branches} relaxations exact`),
      );
    return 0;
  },
};
