import { resolve } from "node:path";
import {
  formatEvaluation,
  formatIdentificationSummary,
  formatSimulationSummary,
  GridUnitError,
  IEEE69_MERGE_DROP_PU,
  identificationSummary,
  meterNoiseSigmas,
  parseMinutes,
  parseRate,
  parseVoltageStep,
} from "@x/grid-model";
import { writeFileAtomic } from "@x/tensor-core";
import type { Command } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  defineGroup,
  integer,
  jsonOption,
  number,
  outputOptions,
  overwriteOption,
  parsedBy,
  printResult,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";

/** "0.1%" → 0.001; "0.001" → 0.001 (fractions above `maxFraction` must carry a "%"). */
export const rate = (maxFraction = 0.5) => parsedBy((v: string) => parseRate(v, maxFraction), GridUnitError);
/** "15", "15min", "1h", "30m" → minutes. */
export const minutes = parsedBy(parseMinutes, GridUnitError);
/** "0.1V" (on a 230 V low-voltage base) or a per-unit step. */
const voltageStep = parsedBy(parseVoltageStep, GridUnitError);

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
  const { pqNoise, voltageSigma, powerSigma } = meterNoiseSigmas(o.noise, o.pqNoise, o.noiseModel);
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
      voltageSigma,
      powerSigma,
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
    voltageSigma,
    powerSigma,
    missingReadings: missing,
    vmin,
    vmax,
    seconds: (Date.now() - t0) / 1000,
  };
  printResult(o.json, summary, () => formatSimulationSummary(summary));
}

function simulateCommand(): Command {
  const cmd = defineCommand(
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
    .requiredOption("-o, --out <file>", "output CSV");
  return addOptions(cmd, [
    [
      "--feeder <name|file>",
      "ieee69, ieee69-merged, ieee13, ieee37, a feeder JSON or a MATPOWER case",
      undefined,
      "ieee69",
    ],
    ["--samples <n>", "intervals", integer(1, 1e6), 2000],
    ["--noise <rate>", "|V| meter class (or σ), e.g. 0.1%", rate(0.05), 0],
    ["--pq-noise <rate>", "P/Q meter class (or σ) (default: 5 × --noise, at most 20 %)", rate(0.05)],
    [
      "--noise-model <model>",
      "class: the rate is a 3σ accuracy class; sigma: it is σ",
      ["class", "sigma"],
      "class",
    ],
    ["--resolution <duration>", "interval, e.g. 15min or 1h", minutes, 15],
    [
      "--substeps <n>",
      "power flows per interval (default min(interval, 15); 1 = snapshot data)",
      integer(1, 1440),
    ],
    ["--v0 <pu>", "substation voltage (default: the simulator's)", number(0.8, 1.2)],
    ["--missing <rate>", "share of missing readings", rate(), 0],
    ["--missing-run <n>", "mean outage length in intervals", number(1, 1e6), 1],
    ["--outliers <rate>", "share of gross outliers", rate(), 0],
    ["--meters <which>", "load: buses with load are metered; all: every bus", ["load", "all"], "load"],
    ["--seed <n>", "seed", integer(0, 2 ** 31), 1],
    ["--pv <rate>", "share of buses with PV", rate(1), 0],
    ["--pv-size <x>", "PV peak relative to the bus's peak load", number(0, 10), 0.5],
    ["--pf-sigma <x>", "spread of the power factor (default: the simulator's)", number(0, 2)],
    ["--v-step <step>", "voltage register step, e.g. 0.1V or 0.0004pu (0 = none)", voltageStep, 0],
    ["--e-step <wh>", "energy register step in Wh (0 = none)", number(0, 1e6), 0],
    ["--loads <csv>", "load profiles CSV (per bus or households)"],
    [
      "--load-model <model>",
      "households, or i.i.d. lognormal loads on a daily sine shape",
      ["households", "lognormal"],
      "households",
    ],
    ["--junction-load <rate>", "zero-load buses get this share of the largest bus load", rate(), 0],
    ["--voltage <reading>", "mean over the interval or the instant value", ["mean", "instant"], "mean"],
    ["--precision <digits>", "significant digits in the CSV (default: shortest exact)", integer(4, 17)],
    ...outputOptions(),
  ]).action(simulate);
}

// ---------------------------------------------------------------- identify

interface IdentifyOpts {
  out: string;
  method: "lad" | "ls" | "joint";
  library?: boolean;
  libraryFamily: "ieee" | "pandapower" | "all";
  topology: "likelihood" | "tree-metric" | "laplacian" | "variance";
  solver: "highs" | "glpk";
  matpower?: string;
  dss?: string;
  overwrite?: boolean;
  json?: boolean;
}

async function identify(csv: string, o: IdentifyOpts): Promise<void> {
  const outs = [o.out, o.matpower, o.dss].filter((f): f is string => f !== undefined);
  if (new Set(outs.map((f) => resolve(f))).size < outs.length)
    throw new UsageError("--out, --matpower and --dss must name different files");
  for (const f of outs) checkOutput(f, { overwrite: o.overwrite, inputs: [csv] });
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
  if (o.matpower || o.dss) {
    const feeder = grid.modelToFeeder(model, {
      id: `${data.feederId}-identified`,
      baseKvLl: data.baseKvLl,
      baseMva: data.baseMva,
      loadsFrom: data,
    });
    if (o.matpower) await writeFileAtomic(o.matpower, grid.feederToMatpower(feeder));
    if (o.dss) await writeFileAtomic(o.dss, grid.feederToOpenDss(feeder));
  }
  const summary = identificationSummary(model, o.out, data.feederId);
  printResult(o.json, summary, () => formatIdentificationSummary(summary));
}

function identifyCommand(): Command {
  const cmd = defineCommand(
    "identify",
    "identify a radial feeder's topology and branch impedances from smart-meter data; writes the model JSON",
    [
      "x grid identify sm.csv --out model.json",
      "x grid identify sm.csv --out model.json --method ls --json",
      "x grid identify sm.csv --out model.json --library",
      "x grid identify sm.csv --out model.json --matpower model.m --dss model.dss",
    ],
  )
    .description(
      "Stage 1 recovers the topology (likelihood tree search from the loss-corrected tree metric by default; the " +
        "plain Laplacian inversion and Var-MinST as options), stage 2 the branch impedances by a leaves-to-root sweep of " +
        "per-branch LAD (LP with tangent cuts) or LS fits on the DistFlow branch equation. --library picks a conductor " +
        "type and length per branch from the conductor library instead. --matpower / --dss also write the " +
        "identified feeder (tree, impedances, mean measured loads) as a MATPOWER case / OpenDSS script.",
    )
    .argument("<csv>", "smart-meter CSV (x grid simulate writes one)")
    .requiredOption("-o, --out <file>", "output model JSON");
  return addOptions(cmd, [
    ["--method <m>", "impedance fit", ["lad", "ls", "joint"], "lad"],
    ["--library", "fit conductor types and lengths from the conductor library"],
    ["--library-family <f>", "conductor family", ["ieee", "pandapower", "all"], "ieee"],
    [
      "--topology <t>",
      "topology read-out",
      ["likelihood", "tree-metric", "laplacian", "variance"],
      "likelihood",
    ],
    ["--solver <s>", "LP solver of the LAD fits (glpk needs glpk.js)", ["highs", "glpk"], "highs"],
    ["--matpower <file>", "also write the identified feeder as a MATPOWER case (.m)"],
    ["--dss <file>", "also write the identified feeder as an OpenDSS script (.dss)"],
    overwriteOption(),
    jsonOption(),
  ]).action(identify);
}

// ---------------------------------------------------------------- evaluate

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
  printResult(o.json, { model: file, truth: truth.id, ...m, ...(mc ? { contracted: mc } : {}) }, () =>
    formatEvaluation(file, truth.id, m, mc, drop),
  );
}

function evaluateCommand(): Command {
  const cmd = defineCommand(
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
        "accuracy and length MAPE (library mode), the wrong and missed edges and the worst |z| errors. Switch branches (|z| <= 2e-5 pu) count as one node; unmetered buses " +
        "are skipped. Next to the plain exact tree it prints the topology 'up to contraction': both trees compared " +
        "after contracting the true feeder's branches whose nominal-load drop in |V|² is below --contract-drop.",
    )
    .argument("<model>", "model JSON from x grid identify")
    .requiredOption(
      "--truth <feeder>",
      "ieee69, ieee13, ieee37, ieee69-merged, a feeder JSON or a MATPOWER case",
    );
  return addOptions(cmd, [
    ["--contract-drop <pu>", "contraction threshold in pu, 0 = off", number(0), IEEE69_MERGE_DROP_PU],
    jsonOption(),
  ]).action(evaluate);
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
