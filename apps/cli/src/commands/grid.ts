import { IEEE69_MERGE_DROP_PU } from "@x/grid-model";
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  checkOutput,
  defineCommand,
  defineGroup,
  integer,
  jsonOption,
  number,
  overwriteOption,
  printResult,
  quietOption,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";

/** "0.1%" → 0.001; "0.001" → 0.001 (fractions above `maxFraction` must carry a "%"). */
export function rate(maxFraction = 0.5) {
  return (v: string): number => {
    const m = /^([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)(%?)$/i.exec(v.trim());
    if (!m) throw new InvalidArgumentError(`expected a fraction or a percentage such as 0.1%, got '${v}'`);
    const x = Number(m[1]) / (m[2] ? 100 : 1);
    if (!m[2] && x > maxFraction)
      throw new InvalidArgumentError(`${v} is a fraction > ${maxFraction}; did you mean ${v}%?`);
    if (x >= 1) throw new InvalidArgumentError(`must be below 100%, got '${v}'`);
    return x;
  };
}

/** "15", "15min", "1h", "30m" → minutes. */
export function minutes(v: string): number {
  const m = /^([0-9]*\.?[0-9]+)\s*(min|m|h|s)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`expected a duration such as 15min or 1h, got '${v}'`);
  const unit = (m[2] ?? "min").toLowerCase();
  const x = Number(m[1]) * (unit === "h" ? 60 : unit === "s" ? 1 / 60 : 1);
  if (!(x >= 1) || x > 1440) throw new InvalidArgumentError(`must be between 1min and 24h, got '${v}'`);
  return x;
}

/** "0.1V" (on a 230 V low-voltage base) or a per-unit step. */
export function voltageStep(v: string): number {
  const m = /^([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(V|pu)?$/i.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`expected e.g. 0.1V or 0.0004pu, got '${v}'`);
  return m[2]?.toLowerCase() === "v" ? Number(m[1]) / 230 : Number(m[1]);
}

// ---------------------------------------------------------------- simulate

interface SimulateOpts {
  out: string;
  feeder: string;
  samples: number;
  noise: number;
  pqNoise?: number;
  noiseModel: "class" | "sigma";
  resolution: number;
  substeps?: number;
  v0?: number;
  missing: number;
  missingRun: number;
  outliers: number;
  meters: "load" | "all";
  seed: number;
  pv: number;
  pvSize: number;
  pfSigma?: number;
  vStep: number;
  eStep: number;
  loads?: string;
  loadModel: "households" | "lognormal";
  junctionLoad: number;
  voltage: "mean" | "instant";
  precision?: number;
  overwrite?: boolean;
  quiet?: boolean;
  json?: boolean;
}

async function simulate(o: SimulateOpts): Promise<void> {
  if (o.loadModel === "lognormal" && o.loads)
    throw new UsageError("--loads and --load-model lognormal exclude each other");
  checkOutput(o.out, { overwrite: o.overwrite, inputs: o.loads ? [o.loads] : [] });
  const grid = await import("@x/grid-model");
  const feeder = await grid.loadFeeder(o.feeder);
  let loadSource: Record<string, unknown> = {};
  if (o.loads) {
    const table = await grid.readShapeCsv(o.loads);
    try {
      loadSource = grid.loadProfilesFor(feeder, table);
    } catch (e) {
      throw e instanceof grid.ProfileError ? new UsageError(`--loads ${o.loads}: ${e.message}`) : e;
    }
  }
  const pqNoise = o.pqNoise ?? Math.min(5 * o.noise, 0.2);
  const toSigma = (x: number) => (o.noiseModel === "class" ? x / 3 : x);
  const progress = createProgress(o.quiet === true || o.json === true);
  const t0 = Date.now();
  let data: ReturnType<typeof grid.simulateSmartMeters>;
  try {
    data = grid.simulateSmartMeters(feeder, {
      samples: o.samples,
      seed: o.seed,
      intervalMinutes: o.resolution,
      ...(o.v0 !== undefined ? { v0: o.v0 } : {}),
      ...(o.substeps !== undefined ? { substeps: o.substeps } : {}),
      meters: o.meters,
      voltageReading: o.voltage,
      voltageSigma: toSigma(o.noise),
      powerSigma: toSigma(pqNoise),
      voltageStepPu: o.vStep,
      energyStepWh: o.eStep,
      missing: o.missing,
      missingRun: o.missingRun,
      outliers: o.outliers,
      pvFraction: o.pv,
      pvSize: o.pvSize,
      model: o.loadModel,
      junctionLoad: o.junctionLoad,
      ...(o.pfSigma !== undefined ? { pfVariation: o.pfSigma } : {}),
      ...loadSource,
      onProgress: (done) => progress.update(`simulate ${feeder.id}`, done, o.samples),
    });
  } finally {
    progress.stop();
  }
  const meta = data.meta as Record<string, string>;
  meta.noise_model = o.noiseModel;
  meta.noise_class_or_sigma = `v=${o.noise} pq=${pqNoise}`;
  await grid.writeSmartMeterCsv(o.out, data, o.precision ? { precision: o.precision } : {});
  const { missing, vmin, vmax } = grid.meteredVoltageRange(data);
  const summary = {
    out: o.out,
    feeder: feeder.id,
    buses: feeder.buses.length,
    meters: data.metered.filter(Boolean).length,
    samples: o.samples,
    intervalMinutes: data.intervalMinutes,
    seed: o.seed,
    voltageSigma: toSigma(o.noise),
    powerSigma: toSigma(pqNoise),
    missingReadings: missing,
    vmin,
    vmax,
    seconds: (Date.now() - t0) / 1000,
  };
  printResult(
    o.json,
    summary,
    () =>
      `wrote ${o.out}: ${feeder.id}, ${summary.meters}/${summary.buses} buses metered, ${o.samples} × ${data.intervalMinutes} min, ` +
      `|V| ${vmin.toFixed(4)}–${vmax.toFixed(4)} pu, σ_v ${(summary.voltageSigma * 100).toPrecision(3)} %, ` +
      `σ_pq ${(summary.powerSigma * 100).toPrecision(3)} %, ${missing} missing, ${summary.seconds.toFixed(1)} s`,
  );
}

function simulateCommand(): Command {
  const choice = (flag: string, desc: string, choices: string[]) =>
    new Option(flag, desc).choices(choices).default(choices[0]);
  return defineCommand(
    "simulate",
    "simulate smart-meter data on a radial feeder (household loads, AC power flow, meter noise) as CSV",
    [
      "x grid simulate --out sm.csv",
      "x grid simulate --feeder ieee13 --samples 2880 --noise 0.1% --meters all --out ieee13.csv --json",
      "x grid simulate --feeder case.m --loads profiles.csv --resolution 1h --out sm.csv",
    ],
  )
    .description(
      "Simulates smart-meter data on a radial feeder: balanced positive-sequence, constant-power loads from per-bus " +
        "household profiles (daily/weekly shapes, heterogeneity, varying power factors, optional PV), an AC " +
        "backward/forward-sweep power flow per substep, interval averages, meter noise by accuracy class (class c% = " +
        "3σ unless --noise-model sigma; --pq-noise defaults to 5 × --noise, at most 20 %), register quantisation, " +
        "missing readings and gross outliers. Writes the x-grid-smartmeter CSV. --loads takes a CSV with a time column " +
        "and one column per bus name (kW; '<bus>:q' for kvar) or household profiles.",
    )
    .requiredOption("-o, --out <file>", "output CSV")
    .option(
      "--feeder <name|file>",
      "ieee69, ieee69-merged, ieee13, ieee37, a feeder JSON or a MATPOWER case",
      "ieee69",
    )
    .option("--samples <n>", "intervals", integer(1, 1e6), 2000)
    .option("--noise <rate>", "|V| meter class (or σ), e.g. 0.1%", rate(0.05), 0)
    .option("--pq-noise <rate>", "P/Q meter class (or σ) (default: 5 × --noise, at most 20 %)", rate(0.05))
    .addOption(
      choice("--noise-model <model>", "class: the rate is a 3σ accuracy class; sigma: it is σ", [
        "class",
        "sigma",
      ]),
    )
    .option("--resolution <duration>", "interval, e.g. 15min or 1h", minutes, 15)
    .option(
      "--substeps <n>",
      "power flows per interval (default min(interval, 15); 1 = snapshot data)",
      integer(1, 1440),
    )
    .option("--v0 <pu>", "substation voltage (default: the simulator's)", number(0.8, 1.2))
    .option("--missing <rate>", "share of missing readings", rate(), 0)
    .option("--missing-run <n>", "mean outage length in intervals", number(1, 1e6), 1)
    .option("--outliers <rate>", "share of gross outliers", rate(), 0)
    .addOption(
      choice("--meters <which>", "load: buses with load are metered; all: every bus", ["load", "all"]),
    )
    .option("--seed <n>", "seed", integer(0, 2 ** 31), 1)
    .option("--pv <rate>", "share of buses with PV", rate(1), 0)
    .option("--pv-size <x>", "PV peak relative to the bus's peak load", number(0, 10), 0.5)
    .option("--pf-sigma <x>", "spread of the power factor (default: the simulator's)", number(0, 2))
    .option("--v-step <step>", "voltage register step, e.g. 0.1V or 0.0004pu (0 = none)", voltageStep, 0)
    .option("--e-step <wh>", "energy register step in Wh (0 = none)", number(0, 1e6), 0)
    .option("--loads <csv>", "load profiles CSV (per bus or households)")
    .addOption(
      choice("--load-model <model>", "households, or i.i.d. lognormal loads on a daily sine shape", [
        "households",
        "lognormal",
      ]),
    )
    .option("--junction-load <rate>", "zero-load buses get this share of the largest bus load", rate(), 0)
    .addOption(
      choice("--voltage <reading>", "mean over the interval or the instant value", ["mean", "instant"]),
    )
    .option("--precision <digits>", "significant digits in the CSV (default: shortest exact)", integer(4, 17))
    .addOption(overwriteOption())
    .addOption(quietOption())
    .addOption(jsonOption())
    .action(simulate);
}

// ---------------------------------------------------------------- identify

interface IdentifyOpts {
  out: string;
  method: "lad" | "ls" | "joint";
  library?: boolean;
  libraryFamily: "ieee" | "pandapower" | "all";
  topology: "likelihood" | "tree-metric" | "laplacian" | "variance";
  solver: "highs" | "glpk";
  overwrite?: boolean;
  json?: boolean;
}

async function identify(csv: string, o: IdentifyOpts): Promise<void> {
  checkOutput(o.out, { overwrite: o.overwrite, inputs: [csv] });
  const grid = await import("@x/grid-model");
  const data = await grid.readSmartMeterCsv(csv);
  const zBaseOhm = (data.baseKvLl * data.baseKvLl) / data.baseMva;
  const family = o.libraryFamily === "all" ? {} : { family: o.libraryFamily };
  const library = o.library ? grid.conductorsPu({ zBaseOhm }, grid.selectConductors(family)) : undefined;
  const solver = o.method === "lad" && !library ? await grid.createLpSolver(o.solver) : undefined;
  const model = grid.identifyGrid(data, {
    method: o.method,
    topology: { method: o.topology },
    ...(solver ? { solver } : {}),
    ...(library ? { library } : {}),
    zBaseOhm,
  });
  await grid.writeGridModelFile(o.out, model, { feeder: data.feederId, source: csv });
  const summary = {
    out: o.out,
    feeder: data.feederId,
    buses: model.buses.length,
    hiddenBuses: model.hiddenBuses.length,
    branches: model.branches.length,
    samples: model.samples,
    topology: model.topology.method,
    design: model.topology.design,
    method: o.method,
    solver: model.impedance.solver ?? null,
    library: model.impedance.library,
    exactRelaxations: model.impedance.exactRelaxations,
    seconds: model.seconds,
  };
  printResult(
    o.json,
    summary,
    () =>
      `wrote ${o.out}: ${summary.branches} branches over ${summary.buses} buses` +
      `${summary.hiddenBuses ? ` (${summary.hiddenBuses} unmetered left out)` : ""}, ${summary.samples} samples; ` +
      `topology ${summary.topology} (${summary.design}) ${model.seconds.topology.toFixed(2)} s, ` +
      `impedances ${library ? `${o.method} conductor library` : `${o.method}${solver ? `/${solver.name}` : ""}`} ` +
      `${model.seconds.impedance.toFixed(2)} s` +
      (library ? "" : `, ${summary.exactRelaxations}/${summary.branches} relaxations exact`),
  );
}

function identifyCommand(): Command {
  return defineCommand(
    "identify",
    "identify a radial feeder's topology and branch impedances from smart-meter data; writes the model JSON",
    [
      "x grid identify sm.csv --out model.json",
      "x grid identify sm.csv --out model.json --method ls --json",
      "x grid identify sm.csv --out model.json --library",
    ],
  )
    .description(
      "Stage 1 recovers the topology (likelihood tree search from the loss-corrected tree metric by default; the " +
        "plain Laplacian inversion and Var-MinST as options), stage 2 the branch impedances by a leaves-to-root sweep of " +
        "per-branch LAD (LP with tangent cuts) or LS fits on the DistFlow branch equation. --library picks a conductor " +
        "type and length per branch from the conductor library instead.",
    )
    .argument("<csv>", "smart-meter CSV (x grid simulate writes one)")
    .requiredOption("-o, --out <file>", "output model JSON")
    .addOption(new Option("--method <m>", "impedance fit").choices(["lad", "ls", "joint"]).default("lad"))
    .option("--library", "fit conductor types and lengths from the conductor library")
    .addOption(
      new Option("--library-family <f>", "conductor family")
        .choices(["ieee", "pandapower", "all"])
        .default("ieee"),
    )
    .addOption(
      new Option("--topology <t>", "topology read-out")
        .choices(["likelihood", "tree-metric", "laplacian", "variance"])
        .default("likelihood"),
    )
    .addOption(
      new Option("--solver <s>", "LP solver of the LAD fits (glpk needs glpk.js)")
        .choices(["highs", "glpk"])
        .default("highs"),
    )
    .addOption(overwriteOption())
    .addOption(jsonOption())
    .action(identify);
}

// ---------------------------------------------------------------- evaluate

const fmtPct = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} %` : "n/a");

async function evaluate(
  file: string,
  o: { truth: string; contractDrop?: number; json?: boolean },
): Promise<void> {
  const grid = await import("@x/grid-model");
  const branches = await grid.readGridModelBranches(file);
  const truth = await grid.loadFeeder(o.truth);
  const m = grid.evaluateIdentification(truth, branches);
  const drop = o.contractDrop ?? IEEE69_MERGE_DROP_PU;
  const covered = new Set(branches.flatMap((b) => [b.from, b.to]));
  const mc =
    drop > 0 && truth.buses.every((b) => covered.has(b.name))
      ? grid.evaluateContractedTopology(truth, branches, { maxDropPu: drop })
      : undefined;
  printResult(o.json, { model: file, truth: truth.id, ...m, ...(mc ? { contracted: mc } : {}) }, () => {
    const lines = [
      `model ${file} vs ${truth.id}`,
      `  edge accuracy      ${(100 * m.edgeAccuracy).toFixed(1)} % (${m.correctEdges}/${m.edges})`,
      `  exact tree         ${m.exactTree ? "yes" : "no"}`,
      mc
        ? `  up to contraction  edges ${(100 * mc.edgeAccuracy).toFixed(1)} % (${mc.correctEdges}/${mc.edges}), exact ${mc.exactTree ? "yes" : "no"} ` +
          `[${mc.contractedBranches} true branches contracted: ${mc.criterion}]`
        : `  up to contraction  n/a (${drop > 0 ? "model does not cover every bus" : "--contract-drop 0"})`,
      `  MAPE r / x         ${fmtPct(m.mapeR)} / ${fmtPct(m.mapeX)}`,
      `  median APE r / x   ${fmtPct(m.medianApeR)} / ${fmtPct(m.medianApeX)}`,
      `  median |z| error   ${fmtPct(m.medianApeZ)} (within 5 %: ${(100 * m.within5).toFixed(0)} % of edges)`,
    ];
    if (m.unidentified > 0) lines.push(`  unidentifiable     ${m.unidentified} flow-free branch(es)`);
    if (m.conductorAccuracy !== null)
      lines.push(`  conductor accuracy ${(100 * m.conductorAccuracy).toFixed(1)} %`);
    if (m.lengthMape !== null) lines.push(`  length MAPE        ${fmtPct(m.lengthMape)}`);
    return lines.join("\n");
  });
}

function evaluateCommand(): Command {
  return defineCommand(
    "evaluate",
    "compare an identified model with the true feeder: edge accuracy, exact tree, r/x errors, conductors",
    [
      "x grid evaluate model.json --truth ieee69",
      "x grid evaluate model.json --truth ieee13 --json",
      "x grid evaluate model.json --truth feeder.json --contract-drop 0",
    ],
  )
    .description(
      "Edge accuracy, exact tree, r/x MAPE and median errors over the recovered edges, |z| median error, conductor " +
        "accuracy and length MAPE (library mode). Switch branches (|z| <= 2e-5 pu) count as one node; unmetered buses " +
        "are skipped. Next to the plain exact tree it prints the topology 'up to contraction': both trees compared " +
        "after contracting the true feeder's branches whose nominal-load drop in |V|² is below --contract-drop.",
    )
    .argument("<model>", "model JSON from x grid identify")
    .requiredOption(
      "--truth <feeder>",
      "ieee69, ieee13, ieee37, ieee69-merged, a feeder JSON or a MATPOWER case",
    )
    .addOption(
      new Option("--contract-drop <pu>", "contraction threshold in pu, 0 = off")
        .argParser(number(0))
        .default(IEEE69_MERGE_DROP_PU),
    )
    .addOption(jsonOption())
    .action(evaluate);
}

export function build(): Command {
  return defineGroup(
    "grid",
    "smart-meter data: simulate, identify topology + impedances, evaluate against the truth",
    [
      "x grid simulate --feeder ieee13 --samples 2880 --noise 0.1% --meters all --out sm.csv",
      "x grid identify sm.csv --out model.json",
      "x grid evaluate model.json --truth ieee13",
    ],
    [simulateCommand(), identifyCommand(), evaluateCommand()],
  );
}
