/** `x grid simulate`: synthetic smart-meter data for a radial feeder (CSV). */
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";
import { ProgressBar } from "../progress.js";

/** "0.1%" → 0.001; "0.001" → 0.001 (fractions above `maxFraction` must carry a "%"). */
export function parseRate(v: string | undefined, name: string, maxFraction = 0.5): number | undefined {
  if (v === undefined) return undefined;
  const m = /^([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)(%?)$/i.exec(v.trim());
  if (!m) throw new UsageError(`--${name} must be a fraction or a percentage such as 0.1%, got '${v}'`);
  const x = Number(m[1]) / (m[2] ? 100 : 1);
  if (!m[2] && x > maxFraction)
    throw new UsageError(`--${name} ${v} is a fraction > ${maxFraction}; did you mean ${v}%?`);
  if (x >= 1) throw new UsageError(`--${name} must be below 100%, got '${v}'`);
  return x;
}

/** "15", "15min", "1h", "30m" → minutes. */
export function parseMinutes(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const m = /^([0-9]*\.?[0-9]+)\s*(min|m|h|s)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--${name} must be a duration such as 15min or 1h, got '${v}'`);
  const unit = (m[2] ?? "min").toLowerCase();
  const minutes = Number(m[1]) * (unit === "h" ? 60 : unit === "s" ? 1 / 60 : 1);
  if (!(minutes >= 1) || minutes > 1440)
    throw new UsageError(`--${name} must be between 1min and 24h, got '${v}'`);
  return minutes;
}

/** "0.1V" (on a 230 V low-voltage base) or a per-unit step. */
export function parseVoltageStep(v: string | undefined, lvBase: number): number | undefined {
  if (v === undefined) return undefined;
  const m = /^([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(V|pu)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--v-step must be like 0.1V or 0.0004pu, got '${v}'`);
  const x = Number(m[1]);
  return m[2]?.toLowerCase() === "v" ? x / lvBase : x;
}

function num(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < min || x > max)
    throw new UsageError(`--${name} must be in [${min}, ${max}], got '${v}'`);
  return x;
}

const USAGE =
  "x grid simulate --out sm.csv [--feeder ieee69|ieee69-merged|ieee13|ieee37|file.json|case.m] [--samples 2000] [--noise 0.1%] " +
  "[--pq-noise 0.5%] [--noise-model class|sigma] [--resolution 15min] [--substeps N] [--missing 0%] [--missing-run 1] " +
  "[--outliers 0%] " +
  "[--meters load|all] [--v0 1.0] [--seed 1] [--pv 0%] [--pv-size 0.5] [--pf-sigma 0.3] [--v-step 0.1V] [--e-step 10] " +
  "[--loads profiles.csv] [--load-model households|lognormal] [--junction-load 2%] [--voltage mean|instant] [--precision N] [--json]";

export const gridSimulate: Command = {
  name: "grid simulate",
  summary:
    "Simulates smart-meter data on a radial feeder: per-bus household load profiles (daily/weekly shapes, customer " +
    "heterogeneity, varying power factors, optional PV), an AC backward/forward-sweep power flow per step (--substeps " +
    "per interval, default min(interval, 15); 1 gives exact snapshot data), interval " +
    "averages, meter noise by accuracy class (--noise for |V|, --pq-noise for P/Q; class c% = 3σ unless " +
    "--noise-model sigma; --pq-noise defaults to 5 × --noise), register quantisation, missing readings (outages of " +
    "mean length --missing-run intervals) and gross " +
    "outliers. Writes the x-grid-smartmeter CSV (see the @x/grid-model README). --loads takes a CSV with a time " +
    "column and either one column per bus name (kW; '<bus>:q' for kvar) or household profiles. --load-model lognormal " +
    "is the spec's §2.5 generator (i.i.d. lognormal loads on a daily sine shape); --junction-load gives zero-load " +
    "buses that fraction of the largest bus load.",
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        feeder: { type: "string" },
        samples: { type: "string" },
        noise: { type: "string" },
        "pq-noise": { type: "string" },
        "noise-model": { type: "string" },
        resolution: { type: "string" },
        substeps: { type: "string" },
        v0: { type: "string" },
        missing: { type: "string" },
        "missing-run": { type: "string" },
        outliers: { type: "string" },
        meters: { type: "string" },
        seed: { type: "string" },
        pv: { type: "string" },
        "pv-size": { type: "string" },
        "pf-sigma": { type: "string" },
        "v-step": { type: "string" },
        "e-step": { type: "string" },
        loads: { type: "string" },
        "load-model": { type: "string" },
        "junction-load": { type: "string" },
        voltage: { type: "string" },
        precision: { type: "string" },
        out: { type: "string", short: "o" },
        json: { type: "boolean" },
      },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (!values.out) throw new UsageError("--out is required");
    const samples = num(values.samples ?? "2000", "samples", 1, 1e6)!;
    if (!Number.isInteger(samples))
      throw new UsageError(`--samples must be an integer, got '${values.samples}'`);
    const model = values["noise-model"] ?? "class";
    if (model !== "class" && model !== "sigma") throw new UsageError(`--noise-model must be class or sigma`);
    const meters = values.meters ?? "load";
    if (meters !== "load" && meters !== "all")
      throw new UsageError(`--meters must be load or all, got '${meters}'`);
    const loadModel = values["load-model"] ?? "households";
    if (loadModel !== "households" && loadModel !== "lognormal")
      throw new UsageError(`--load-model must be households or lognormal, got '${loadModel}'`);
    if (loadModel === "lognormal" && values.loads)
      throw new UsageError("--loads and --load-model lognormal exclude each other");
    const voltage = values.voltage ?? "mean";
    if (voltage !== "mean" && voltage !== "instant")
      throw new UsageError(`--voltage must be mean or instant`);
    const noise = parseRate(values.noise, "noise", 0.05) ?? 0;
    const pqNoise = parseRate(values["pq-noise"], "pq-noise", 0.05) ?? Math.min(5 * noise, 0.2);
    const toSigma = (x: number) => (model === "class" ? x / 3 : x);
    const seed = num(values.seed ?? "1", "seed", 0, 2 ** 31)!;
    const precision = num(values.precision, "precision", 4, 17);

    const grid = await import("@x/grid-model");
    const feeder = await grid.loadFeeder(values.feeder ?? "ieee69");
    let loadSource: Record<string, unknown> = {};
    if (values.loads) {
      const table = await grid.readShapeCsv(values.loads);
      const names = new Set(feeder.buses.map((b) => b.name));
      const perBus = table.columns.filter((c) => names.has(c.replace(/:q$/, "")));
      if (perBus.length > 0 && perBus.length < table.columns.length) {
        const other = table.columns.find((c) => !names.has(c.replace(/:q$/, "")));
        throw new UsageError(
          `--loads ${values.loads}: column "${other}" is not a bus of feeder ${feeder.id}`,
        );
      }
      loadSource = perBus.length > 0 ? { busProfiles: table } : { householdProfiles: table };
    }
    const bar = new ProgressBar({ label: `simulate ${feeder.id}`, total: samples });
    const t0 = Date.now();
    const data = grid.simulateSmartMeters(feeder, {
      samples,
      seed,
      intervalMinutes: parseMinutes(values.resolution, "resolution") ?? 15,
      ...(values.v0 !== undefined ? { v0: num(values.v0, "v0", 0.8, 1.2)! } : {}),
      ...(values.substeps !== undefined ? { substeps: num(values.substeps, "substeps", 1, 1440)! } : {}),
      meters,
      voltageReading: voltage,
      voltageSigma: toSigma(noise),
      powerSigma: toSigma(pqNoise),
      voltageStepPu: parseVoltageStep(values["v-step"], 230) ?? 0,
      energyStepWh: num(values["e-step"], "e-step", 0, 1e6) ?? 0,
      missing: parseRate(values.missing, "missing") ?? 0,
      missingRun: num(values["missing-run"], "missing-run", 1, 1e6) ?? 1,
      outliers: parseRate(values.outliers, "outliers") ?? 0,
      pvFraction: parseRate(values.pv, "pv", 1) ?? 0,
      pvSize: num(values["pv-size"], "pv-size", 0, 10) ?? 0.5,
      model: loadModel,
      junctionLoad: parseRate(values["junction-load"], "junction-load") ?? 0,
      ...(values["pf-sigma"] !== undefined
        ? { pfVariation: num(values["pf-sigma"], "pf-sigma", 0, 2)! }
        : {}),
      ...loadSource,
      onProgress: (done) => bar.update(done),
    });
    bar.finish();
    const meta = data.meta as Record<string, string>;
    meta.noise_model = model;
    meta.noise_class_or_sigma = `v=${noise} pq=${pqNoise}`;
    await grid.writeSmartMeterCsv(values.out, data, precision ? { precision } : {});
    const secs = (Date.now() - t0) / 1000;
    let missing = 0;
    let vmin = Number.POSITIVE_INFINITY;
    let vmax = 0;
    data.vm.forEach((s, j) => {
      if (!data.metered[j]) return;
      for (const v of s) {
        if (Number.isNaN(v)) missing++;
        else {
          vmin = Math.min(vmin, v);
          vmax = Math.max(vmax, v);
        }
      }
    });
    const summary = {
      out: values.out,
      feeder: feeder.id,
      buses: feeder.buses.length,
      meters: data.metered.filter(Boolean).length,
      samples,
      intervalMinutes: data.intervalMinutes,
      seed,
      voltageSigma: toSigma(noise),
      powerSigma: toSigma(pqNoise),
      missingReadings: missing,
      vmin,
      vmax,
      seconds: secs,
    };
    if (values.json) console.log(JSON.stringify(summary));
    else
      console.log(
        `wrote ${values.out}: ${feeder.id}, ${summary.meters}/${summary.buses} buses metered, ${samples} × ${data.intervalMinutes} min, ` +
          `|V| ${vmin.toFixed(4)}–${vmax.toFixed(4)} pu, σ_v ${(summary.voltageSigma * 100).toPrecision(3)} %, ` +
          `σ_pq ${(summary.powerSigma * 100).toPrecision(3)} %, ${missing} missing, ${secs.toFixed(1)} s`,
      );
    return 0;
  },
};
