// `x demo`: the demo tour (short real runs of every package, @x/experiments' runDemoTour), its tour.json checked
// against the page's data contract and written into the work folder, a summary, then the demo page served on
// localhost over the tour and the committed bench/results (or, with --out, a static copy written and exit).
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TourResult } from "@x/demo";
import type { Command } from "commander";
import {
  addOptions,
  checkOutput,
  defineCommand,
  exitOnInterrupt,
  integer,
  jsonOption,
  list,
  type OptionsOf,
  options,
  overwriteOption,
  quietOption,
  UsageError,
} from "../kit.js";

/** Default work folder (relative to the current directory): tour data, the zoo cache, trained SNN models. */
export const DEMO_WORK_DIR = ".x-demo";

type DemoOpts = OptionsOf<ReturnType<typeof demoOptions>>;

/**
 * The committed benchmark results: the `bench/results` folder of the repository this CLI runs from (found by
 * walking up from this file), else of the current directory's repository; none for an installed CLI.
 */
export function findBenchResults(): string | undefined {
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    for (let at = resolve(start); ; at = dirname(at)) {
      const candidate = join(at, "bench", "results");
      if (existsSync(join(candidate, "merging-8task.json"))) return candidate;
      if (dirname(at) === at) break;
    }
  }
  return undefined;
}

async function demo(o: DemoOpts): Promise<void> {
  const { defaultAppDir } = await import("@x/demo");
  if (o.seeds && new Set(o.seeds).size !== o.seeds.length)
    throw new UsageError(`--seeds lists a seed twice (${o.seeds.join(",")})`);
  const work = resolve(o.work);
  const tourDir = join(work, "data");
  if (o.out !== undefined) checkOutput(o.out, { overwrite: o.overwrite, inputs: [tourDir] });
  if (!existsSync(join(defaultAppDir(), "index.html")))
    throw new Error(
      `the demo page is not built (${defaultAppDir()} is missing): run pnpm build in the repository`,
    );
  const bench = findBenchResults();
  const say = (line: string) => {
    if (!o.quiet) process.stderr.write(`${line}\n`);
  };
  const words = process.argv.slice(2);
  const command = `x ${words.length > 0 ? words.join(" ") : "demo"}`;

  // Ctrl-C / SIGTERM during the tour: nothing is half-written (tour.json is renamed into place at the end), so stop now.
  const detachInterrupts = exitOnInterrupt("x demo", "no tour.json written");
  let tour: TourResult;
  try {
    await mkdir(tourDir, { recursive: true });
    const { runDemoTour, writeResultFiles } = await import("@x/experiments");
    say(
      `x demo: ${o.quick ? "quick " : ""}tour of real runs (merging, grid, SNN / CADE, Evolver) in ${work}${bench ? "" : "; no bench/results found, the page shows the tour only"}`,
    );
    const produced = await runDemoTour(
      // The live merge panel's zoo bundle goes beside tour.json (served and exported with it).
      { quick: o.quick, seeds: o.seeds, workDir: join(work, "cache"), command, liveMergeDir: tourDir },
      { log: (m) => say(`  ${m}`) },
    );
    const { parseTourResult, TOUR_FILE } = await import("@x/demo");
    // The page's contract decides: a result it would refuse is an error here, not a broken page later. (The
    // `satisfies` keeps the producer's plain types in step with the contract's at compile time.)
    tour = parseTourResult(produced satisfies TourResult, TOUR_FILE);
    writeResultFiles(tourDir, TOUR_FILE.replace(/\.json$/, ""), [
      [".json", `${JSON.stringify(tour, null, 1)}\n`],
    ]);
  } finally {
    detachInterrupts();
  }

  const { demoTourSummary, formatTourSummary } = await import("@x/experiments");
  const rows = demoTourSummary(tour);
  const dataDirs = bench ? [tourDir, bench] : [tourDir];
  const doc = {
    tour: join(tourDir, "tour.json"),
    seconds: tour.seconds,
    loadAverageAtStart: tour.machine.loadAverageAtStart,
    bench: bench ?? null,
    summary: rows,
  };
  const human = () =>
    `${formatTourSummary(rows)}\n\ntour: ${doc.tour} (${tour.seconds.toFixed(1)} s, load average ${tour.machine.loadAverageAtStart.join(" / ")} at start)`;

  if (o.out !== undefined) {
    const { exportStaticDemo } = await import("@x/demo");
    const r = await exportStaticDemo({ dataDir: dataDirs, outDir: o.out, overwrite: o.overwrite });
    if (o.json) console.log(JSON.stringify({ ...doc, out: r.outDir, dataFiles: r.dataFiles }, null, 2));
    else
      console.log(
        `${human()}\nwrote a static copy of the page with ${r.dataFiles.length} data files to ${r.outDir} (serve it with any static server, e.g. python3 -m http.server -d ${r.outDir})`,
      );
    return;
  }

  const { serveDemo } = await import("@x/demo");
  const open = o.open ?? Boolean(process.stdout.isTTY && process.stderr.isTTY);
  const server = await serveDemo({ dataDir: dataDirs, port: o.port, open, stopOnSignals: true, log: say });
  if (o.json) console.log(JSON.stringify({ ...doc, url: server.url }, null, 2));
  else console.log(`${human()}\n\nthe demo page: ${server.url}  (Ctrl-C to stop)`);
  await server.closed;
  say("x demo: stopped");
}

export function build(): Command {
  const cmd = defineCommand(
    "demo",
    "a short tour of real runs of every package, then the demo web page of its results on localhost",
    [
      "x demo",
      "x demo --quick --no-open --port 8080",
      "x demo --out demo-site",
      "x demo --seeds 1,2,3,4,5 --json",
    ],
  ).description(
    "Runs a short tour of real computations on built-in data (a few minutes on 2 cores; --quick: well under a minute): " +
      "the small MNIST / Fashion-MNIST model zoo merged with weight averaging, task arithmetic, TIES and PCB over several seeds " +
      "(hyperparameters chosen on validation, test reported, accuracy against the number of merged tasks); smart-meter data " +
      "of the IEEE 13-bus feeder identified (true and identified trees, r / x error per branch, sweeps over noise and samples); " +
      "CADE on a transfer-learned spiking network (accuracy per arm, spike raster and membrane traces of one image); " +
      "Evolver against random search. Writes WORK/data/tour.json (checked against the page's data contract), prints a " +
      "summary, then serves the demo page over the tour and the committed bench/results on 127.0.0.1 and prints its URL " +
      "until Ctrl-C or SIGTERM (exit 0). --out DIR writes a self-contained static copy instead and exits. Progress goes to " +
      "stderr. Trained models are cached under WORK/cache (and $X_ZOO_CACHE for the zoo) so a second run is faster.",
  );
  return addOptions(cmd, demoOptions()).action(demo);
}

const demoOptions = () =>
  options([
    ["--work <dir>", "work folder: tour data, caches", undefined, DEMO_WORK_DIR],
    ["--port <n>", "port of the page (0 = a free one)", integer(0, 65535), 0],
    ["--open", "open the page in a browser (default: only on a terminal)"],
    ["--no-open", "do not open a browser"],
    ["--out <dir>", "write a static copy of the page with its data to DIR and exit"],
    overwriteOption(),
    ["--quick", "the reduced configuration (tests, a first look)"],
    ["--seeds <list>", "seeds of every section (default 1,2,3; --quick 1,2)", list(integer(0))],
    jsonOption(),
    quietOption(),
  ]);
