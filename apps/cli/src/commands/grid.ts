import { resolve } from "node:path";
import {
  formatEvaluation,
  formatIdentificationSummary,
  formatSimulationSummary,
  GridUnitError,
  IEEE69_MERGE_DROP_PU,
  parseImpedancePu,
  parseMinutes,
  parseRate,
  parseReadingUnits,
  parseVoltageStep,
  parseZipFractions,
  type SimulationEffectKey,
} from "@x/grid-model";
import { type Command, InvalidArgumentError } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  defineGroup,
  ExitError,
  given,
  integer,
  jsonOption,
  mandatory,
  number,
  type OptionsOf,
  options,
  outputOptions,
  overwriteOption,
  parsedBy,
  printResult,
  quietOption,
  UsageError,
} from "../kit.js";
import { createProgress } from "../progress.js";

/** "0.1%" → 0.001; "0.001" → 0.001 (fractions above `maxFraction` must carry a "%"). */
export const rate = (maxFraction = 0.5) => parsedBy((v: string) => parseRate(v, maxFraction), GridUnitError);
/** "15", "15min", "1h", "30m" → minutes. */
export const minutes = parsedBy(parseMinutes, GridUnitError);
/** "0.1V" (on a 230 V low-voltage base) or a per-unit step. */
const voltageStep = parsedBy(parseVoltageStep, GridUnitError);

/** An ISO 8601 time, checked. */
function isoTime(v: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v) || Number.isNaN(Date.parse(v)))
    throw new InvalidArgumentError(`expected an ISO 8601 time such as 2024-01-01T00:00:00Z, got '${v}'`);
  return v;
}

/** "0.4,0.3,0.3" → ZIP load fractions summing to 1. */
const zipFractions = parsedBy(parseZipFractions, GridUnitError);
/** "0.01,0.02" → a placeholder branch impedance r, x in pu. */
const impedancePu = parsedBy(parseImpedancePu, GridUnitError);
/** "p=kW,q=kvar,v=V" → the long-format reader's units. */
const readingUnits = parsedBy(parseReadingUnits, GridUnitError);

// ---------------------------------------------------------------- simulate

type SimulateOpts = OptionsOf<ReturnType<typeof simulateOptions>>;

/** The effect values of a simulation (simulationEffectOptions) and the flag of each. */
const EFFECT_FLAGS = [
  ["zip", "zip"],
  ["pvFraction", "pv"],
  ["pvSize", "pvSize"],
  ["minuteVariability", "minuteVariability"],
  ["voltageStepPu", "vStep"],
  ["energyStepWh", "eStep"],
  ["junctionLoad", "junctionLoad"],
  ["meters", "meters"],
  ["clockOffsetMinutes", "clockOffset"],
  ["missing", "missing"],
  ["missingRun", "missingRun"],
  ["outliers", "outliers"],
  ["noise", "noise"],
  ["pqNoise", "pqNoise"],
  ["noiseModel", "noiseModel"],
  ["gross", "gross"],
  ["grossPowerFactor", "grossPowerFactor"],
  ["grossVoltageFactor", "grossVoltageFactor"],
] as const satisfies readonly (readonly [SimulationEffectKey, keyof SimulateOpts])[];

async function simulate(o: SimulateOpts, cmd: Command): Promise<void> {
  if (o.loadModel === "lognormal" && o.loads)
    throw new UsageError("--loads and --load-model lognormal exclude each other");
  if (o.start !== undefined && o.format !== "long") throw new UsageError("--start needs --format long");
  checkOutput(o.out, { overwrite: o.overwrite, inputs: o.loads ? [o.loads] : [] });
  const grid = await import("@x/grid-model");
  const progress = createProgress(o.quiet === true || o.json === true);
  let summary: Awaited<ReturnType<typeof grid.simulateMeterFile>>;
  try {
    summary = await grid.simulateMeterFile(
      {
        out: o.out,
        format: o.format,
        feeder: o.feeder,
        loads: o.loads,
        samples: o.samples,
        seed: o.seed,
        intervalMinutes: o.resolution,
        substeps: o.substeps,
        v0: o.v0,
        voltageReading: o.voltage,
        loadModel: o.loadModel,
        pfVariation: o.pfSigma,
        preset: o.realistic ? "realistic" : undefined,
        effects: Object.fromEntries(EFFECT_FLAGS.map(([key, flag]) => [key, o[flag]])),
        given: EFFECT_FLAGS.filter(([, flag]) => given(cmd, flag)).map(([key]) => key),
        precision: o.precision,
        start: o.start,
      },
      { onProgress: ({ feeder, done, total }) => progress.update(`simulate ${feeder}`, done, total) },
    );
  } catch (e) {
    if (e instanceof grid.LoadProfilesError) throw new UsageError(`--loads ${o.loads}: ${e.reason}`);
    if (e instanceof grid.SimulationOptionsError && e.options.includes("grossPowerFactor"))
      throw new UsageError("--gross-power-factor / --gross-voltage-factor need --gross (or --realistic)");
    throw e;
  } finally {
    progress.stop();
  }
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
      "x grid simulate --feeder ieee37 --samples 10000 --realistic --out ami.csv",
      "x grid simulate --feeder ieee13 --realistic --clock-offset 0 --gross 0 --format long --out readings.csv",
    ],
  ).description(
    "Simulates smart-meter data on a radial feeder: balanced positive-sequence, constant-power loads from per-bus " +
      "household profiles (daily/weekly shapes, heterogeneity, varying power factors, optional PV), an AC " +
      "backward/forward-sweep power flow per substep, interval averages, meter noise by accuracy class (class c% = " +
      "3σ unless --noise-model sigma; --pq-noise defaults to 5 × --noise, at most 20 %), register quantisation, " +
      "missing readings and gross outliers. Writes the x-grid-smartmeter CSV (wide: one row per interval), or with " +
      "--format long timestamped readings (meter,timestamp,p,q,v in kW, kvar and V, one row per meter and interval; " +
      "x grid identify reads both). --loads takes a CSV with a time column " +
      "and one column per bus name (kW; '<bus>:q' for kvar) or household profiles. --realistic applies the preset " +
      "of a real AMI export: ZIP loads 0.4,0.3,0.3, PV at 30 % of the loaded buses sized 1.5, minute variability " +
      "0.3, 0.1 V and 10 Wh registers, every bus metered with zero-injection junctions, clocks off by up to ±2 " +
      "min, 0.1 %-class |V| and 0.5 %-class P/Q meters, 5 % missing in outages of 4 intervals, 0.1 % gross " +
      "readings (P/Q ×10, |V| ×1.2); each effect flag you type overrides its part of the preset (e.g. --gross 0). " +
      "Without --realistic every effect is off unless its flag is given.",
  );
  return addOptions(cmd, simulateOptions()).action(simulate);
}

function simulateOptions() {
  return options([
    mandatory(["-o, --out <file>", "output CSV"]),
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
    ["--realistic", "apply the realistic preset (see above); effect flags override it"],
    ["--missing <rate>", "share of missing interval records", rate(), 0],
    ["--missing-run <n>", "mean outage length in intervals", number(1, 1e6), 1],
    [
      "--outliers <rate>",
      "share of readings with a random gross error (|V| ±2–10 %, P/Q ±20–100 %)",
      rate(),
      0,
    ],
    [
      "--gross <rate>",
      "share of readings with a fixed gross error (P/Q × --gross-power-factor, |V| × --gross-voltage-factor)",
      rate(),
      0,
    ],
    [
      "--gross-power-factor <x>",
      "P/Q factor of a gross reading (a unit or decimal slip)",
      number(0, 1e6),
      10,
    ],
    ["--gross-voltage-factor <x>", "|V| factor of a gross reading", number(0, 10), 1.2],
    [
      "--zip <z,i,p>",
      "voltage-dependent loads: constant-impedance, -current, -power fractions summing to 1 (default constant power)",
      zipFractions,
    ],
    [
      "--clock-offset <minutes>",
      "meter clocks off by up to ± this many minutes (uniform per meter)",
      number(0, 1440),
      0,
    ],
    [
      "--minute-variability <sigma>",
      "σ of the minute-scale log-normal load factor (interval means differ from the mean state)",
      number(0, 5),
      0,
    ],
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
    [
      "--format <f>",
      "wide: the x-grid-smartmeter CSV; long: meter,timestamp,p,q,v rows",
      ["wide", "long"],
      "wide",
    ],
    [
      "--start <time>",
      "ISO time of the first interval in the long format (default 2024-01-01T00:00:00Z, a Monday)",
      isoTime,
    ],
    ...outputOptions(),
  ]);
}

// ---------------------------------------------------------------- identify

type IdentifyOpts = OptionsOf<ReturnType<typeof identifyOptions>>;

/** The flags of the long-format settings (identifyMeterFile's names in MeterFormatOptionsError). */
const LONG_FLAGS: Readonly<Record<string, string>> = {
  "long.units": "--units",
  "long.voltage": "--voltage",
  "long.baseKvLl": "--base-kv",
  "long.baseMva": "--base-mva",
  "long.root": "--root",
  "long.intervalMinutes": "--interval",
  "long.label": "--label",
  busesFrom: "--buses-from",
  meterMap: "--meter-map",
};

async function identify(csv: string, o: IdentifyOpts): Promise<void> {
  const outs = [o.out, o.matpower, o.dss, o.feederJson].filter((f): f is string => f !== undefined);
  if (new Set(outs.map((f) => resolve(f))).size < outs.length)
    throw new UsageError("--out, --matpower, --dss and --feeder-json must name different files");
  const inputs = [csv, ...(o.meterMap ? [o.meterMap] : [])];
  for (const f of outs) checkOutput(f, { overwrite: o.overwrite, inputs });
  if (o.unidentifiedImpedance && !(o.matpower || o.dss || o.feederJson))
    throw new UsageError("--unidentified-impedance applies to --matpower / --dss / --feeder-json");
  const grid = await import("@x/grid-model");
  const progress = createProgress(o.quiet === true || o.json === true);
  let summary: Awaited<ReturnType<typeof grid.identifyMeterFile>>;
  try {
    summary = await grid.identifyMeterFile(
      csv,
      {
        out: o.out,
        format: o.format,
        skipBadRows: o.skipBadRows,
        long: {
          units: o.units,
          voltage: o.voltage,
          baseKvLl: o.baseKv,
          baseMva: o.baseMva,
          root: o.root,
          intervalMinutes: o.interval,
          label: o.label,
        },
        busesFrom: o.busesFrom,
        meterMap: o.meterMap,
        method: o.method,
        topology: o.topology,
        hiddenJunctions: o.hiddenJunctions,
        library: o.library,
        libraryFamily: o.libraryFamily,
        solver: o.solver,
        exports: { matpower: o.matpower, dss: o.dss, feederJson: o.feederJson },
        unidentifiedImpedance: o.unidentifiedImpedance,
      },
      {
        onProgress: ({ feeder, stage, fraction, message }) =>
          // The bar completes once, after the last stage (onIdentified).
          progress.update(
            `identify ${feeder}`,
            Math.min(99, Math.round(100 * fraction)),
            100,
            `${stage}: ${message}`,
          ),
        onIdentified: () => progress.finish(),
      },
    );
  } catch (e) {
    if (e instanceof grid.MeterFormatOptionsError) {
      // the library's message, naming the flags
      const flags = e.options.map((name) => LONG_FLAGS[name] ?? name);
      throw new UsageError(new grid.MeterFormatOptionsError(csv, flags).message);
    }
    if (e instanceof grid.UnidentifiedExportError)
      throw new ExitError(
        `nothing written: ${e.branches.length} branch(es) never carried flow, so their impedance is not identified ` +
          `(${e.branches.join(", ")}), and an exported feeder needs one; pass --unidentified-impedance r,x (pu) to ` +
          "export them with that placeholder, or leave out --matpower / --dss / --feeder-json",
        1,
      );
    throw e;
  } finally {
    progress.stop();
  }
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
      "x grid identify sm.csv --out model.json --hidden-junctions",
      "x grid identify sm.csv --out model.json --matpower model.m --dss model.dss --feeder-json model-feeder.json",
      "x grid identify readings.csv --out model.json --units p=kW,q=kvar,v=kV --base-kv 4.16 --base-mva 5 --root 650",
      "x grid identify export.csv --out model.json --buses-from ieee13 --skip-bad-rows",
    ],
  )
    .description(
      "Stage 1 recovers the topology (likelihood tree search from the loss-corrected tree metric by default; the " +
        "plain Laplacian inversion and Var-MinST as options), stage 2 the branch impedances by a leaves-to-root sweep of " +
        "per-branch LAD (LP with tangent cuts) or LS fits on the DistFlow branch equation. --library picks a conductor " +
        "type and length per branch from the conductor library instead. --matpower / --dss / --feeder-json also write the " +
        "identified feeder (tree, impedances, mean measured loads) as a MATPOWER case / OpenDSS script / feeder JSON; a branch " +
        "that never carried flow has no identified impedance and needs --unidentified-impedance to be exported. " +
        "The input is the wide x-grid-smartmeter CSV (x grid simulate) or timestamped readings in long format " +
        "(meter,timestamp,p,q,v with '# units:', '# base_kv_ll:', '# base_mva:', '# root:' header comments; the " +
        "flags below override the header), detected from the file's first line. A bad row (duplicate, non-numeric " +
        "cell, unknown meter, non-positive voltage, inconsistent timestamp) is an error naming file:line:column " +
        "unless --skip-bad-rows, which leaves such rows out and lists them. Progress goes to stderr.",
    )
    .argument("<csv>", "smart-meter data: the wide CSV of x grid simulate, or long-format readings");
  return addOptions(cmd, identifyOptions()).action(identify);
}

function identifyOptions() {
  return options([
    mandatory(["-o, --out <file>", "output model JSON"]),
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
    [
      "--hidden-junctions",
      "insert the unmetered junctions the data show (exact on the IEEE 13-bus; spurious ones on the 69-bus)",
    ],
    ["--matpower <file>", "also write the identified feeder as a MATPOWER case (.m)"],
    ["--dss <file>", "also write the identified feeder as an OpenDSS script (.dss)"],
    [
      "--feeder-json <file>",
      "also write the identified feeder as a feeder JSON (x grid --feeder and --truth read it)",
    ],
    [
      "--unidentified-impedance <r,x>",
      "placeholder impedance (pu) that exported feeders give branches which never carried flow",
      impedancePu,
    ],
    [
      "--format <f>",
      "input format: auto (from the first line), wide or long",
      ["auto", "wide", "long"],
      "auto",
    ],
    [
      "--units <p=..,q=..,v=..>",
      "long format: units, e.g. p=kW,q=kvar,v=V (default: the header's, else these)",
      readingUnits,
    ],
    [
      "--voltage <ll|ln>",
      "long format: voltages are line-to-line or line-to-neutral (default: header, else ll)",
      ["ll", "ln"],
    ],
    [
      "--base-kv <kV>",
      "long format: line-to-line base voltage (default: the header's)",
      number(0, 1e4, true),
    ],
    ["--base-mva <MVA>", "long format: power base (default: the header's)", number(0, 1e6, true)],
    ["--root <meter>", "long format: the substation meter (default: the header's)"],
    [
      "--interval <duration>",
      "long format: resample onto this interval, e.g. 15min (default: header, else 15min)",
      minutes,
    ],
    [
      "--label <start|end>",
      "long format: a timestamp labels its interval's start or end (default: header, else start)",
      ["start", "end"],
    ],
    [
      "--buses-from <feeder>",
      "long format: the feeder's bus names (ieee13, a feeder file); other meter ids are errors",
    ],
    ["--meter-map <csv>", "long format: meter,bus lines mapping meter ids to bus names"],
    ["--skip-bad-rows", "leave out bad rows (listed in the output) instead of failing on the first"],
    overwriteOption(),
    quietOption(),
    jsonOption(),
  ]);
}

// ---------------------------------------------------------------- evaluate

async function evaluate(file: string, o: OptionsOf<ReturnType<typeof evaluateOptions>>): Promise<void> {
  const grid = await import("@x/grid-model");
  const r = await grid.evaluateModelFile(file, o.truth, { contractDrop: o.contractDrop });
  printResult(o.json, r, () =>
    formatEvaluation(file, r.truth, r, r.contracted, o.contractDrop ?? IEEE69_MERGE_DROP_PU),
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
    .argument("<model>", "model JSON from x grid identify");
  return addOptions(cmd, evaluateOptions()).action(evaluate);
}

function evaluateOptions() {
  return options([
    mandatory([
      "--truth <feeder>",
      "ieee69, ieee13, ieee37, ieee69-merged, a feeder JSON or a MATPOWER case",
    ]),
    ["--contract-drop <pu>", "contraction threshold in pu, 0 = off", number(0), IEEE69_MERGE_DROP_PU],
    jsonOption(),
  ]);
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
