/** `x bench evolver`: the Evolver experiment of snn.md §8; writes bench/results/<name>.{json,md}. */
import { spawn } from "node:child_process";
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Command, UsageError } from "../command.js";

function parseSeeds(text: string): number[] {
  const seeds = text.split(",").map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s) || s < 0))
    throw new UsageError(`--seeds must be non-negative integers, got '${text}'`);
  return seeds;
}

export const benchEvolver: Command = {
  name: "bench evolver",
  summary:
    "Evolver experiment on Fashion-MNIST domain experts: mode A vs best expert; mode B with mean/TA/TIES/DARE/PCB vs the merge alone and vs random coefficient search; in-domain and OOD test, paired CIs over seeds.",
  usage:
    "x bench evolver [--seeds 1,2,...,10] [--workers 2] [--generations 15] [--quick] [--out bench/results] [--name evolver] [--from-parts DIR] [--render REPORT.json] [--lambdas 0.3,0.6,1,1.5] [--no-extras]",
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        seeds: { type: "string" },
        workers: { type: "string" },
        generations: { type: "string" },
        quick: { type: "boolean" },
        out: { type: "string" },
        name: { type: "string" },
        part: { type: "string" },
        "from-parts": { type: "string" },
        render: { type: "string" },
        lambdas: { type: "string" },
        "no-extras": { type: "boolean" },
      },
      strict: true,
    });
    const quick = values.quick ?? false;
    const seeds = parseSeeds(values.seeds ?? (quick ? "1" : "1,2,3,4,5,6,7,8,9,10"));
    const workers = Number(values.workers ?? 2);
    if (!Number.isInteger(workers) || workers < 1)
      throw new UsageError(`--workers must be a positive integer`);
    const { defaultOptions, runSeed } = await import("./evolver/experiment.js");
    const { FULL_SIZES, QUICK_SIZES } = await import("./evolver/setup.js");
    const base = defaultOptions(quick);
    const generations = values.generations ? Number(values.generations) : base.generations;
    if (!Number.isInteger(generations) || generations < 1)
      throw new UsageError(`--generations must be a positive integer`);
    const lambdaGrid = values.lambdas
      ? values.lambdas.split(",").map((v) => Number(v.trim()))
      : base.lambdaGrid;
    if (lambdaGrid.some((v) => !(v > 0))) throw new UsageError(`--lambdas must be positive numbers`);
    const extras = values["no-extras"]
      ? { modeAVariant: null, secondF: null }
      : { modeAVariant: base.modeAVariant, secondF: base.secondF };
    const options = {
      ...base,
      ...extras,
      lambdaGrid,
      generations,
      sizes: quick ? QUICK_SIZES : FULL_SIZES,
      seeds: seeds as readonly number[],
    };
    const log = (m: string): void => console.error(m);

    // Re-render the markdown of an existing report JSON (e.g. after improving the renderer).
    if (values.render) {
      const { markdown } = await import("./evolver/report.js");
      const { curvesSvg } = await import("./evolver/curves-svg.js");
      const file = resolve(values.render);
      const report = JSON.parse(readFileSync(file, "utf8"));
      for (const [target, text] of [
        [file.replace(/\.json$/, ".md"), markdown(report)],
        [file.replace(/\.json$/, "-curves.svg"), curvesSvg(report)],
      ] as const) {
        writeFileSync(`${target}.tmp`, text);
        renameSync(`${target}.tmp`, target);
        console.log(`wrote ${target}`);
      }
      return 0;
    }
    // Worker mode: run the given seeds, appending each finished seed to the part file (JSON lines), so an
    // interrupted run keeps every completed seed (`--from-parts DIR` aggregates them).
    if (values.part) {
      for (const seed of seeds) {
        const r = await runSeed(seed, { ...options, log });
        appendFileSync(values.part, `${JSON.stringify(r)}\n`);
      }
      return 0;
    }
    const { buildReport, machineInfo, markdown } = await import("./evolver/report.js");
    const machine = machineInfo();
    const startedAt = new Date();
    const out = resolve(values.out ?? "bench/results");
    const name = values.name ?? (quick ? "evolver-quick" : "evolver");
    const partsDir = values["from-parts"] ? resolve(values["from-parts"]) : join(out, `.${name}-parts`);
    if (!values["from-parts"]) {
      rmSync(partsDir, { recursive: true, force: true });
      mkdirSync(partsDir, { recursive: true });
      // One child process per worker (each with its own tfjs wasm instance), seeds dealt round-robin.
      const groups = Array.from({ length: Math.min(workers, seeds.length) }, (_, w) =>
        seeds.filter((_, i) => i % workers === w),
      );
      await Promise.all(
        groups.map(
          (g, w) =>
            new Promise<void>((res, rej) => {
              const args = [
                process.argv[1],
                "bench",
                "evolver",
                "--seeds",
                g.join(","),
                "--part",
                join(partsDir, `${w}.jsonl`),
                "--generations",
                String(generations),
              ];
              if (quick) args.push("--quick");
              if (values.lambdas) args.push("--lambdas", values.lambdas);
              if (values["no-extras"]) args.push("--no-extras");
              const child = spawn(process.execPath, args, { stdio: ["ignore", "inherit", "inherit"] });
              child.on("error", rej);
              child.on("close", (code) =>
                code === 0 ? res() : rej(new Error(`worker ${w} (seeds ${g.join(",")}) exited with ${code}`)),
              );
            }),
        ),
      );
    }
    let results: Awaited<ReturnType<typeof runSeed>>[] = [];
    for (const f of readdirSync(partsDir).filter((f) => f.endsWith(".jsonl"))) {
      for (const line of readFileSync(join(partsDir, f), "utf8").split("\n"))
        if (line.trim()) results.push(JSON.parse(line));
    }
    if (results.length === 0) throw new Error(`no finished seeds in ${partsDir}`);
    results = results.sort((a, b) => a.seed - b.seed);
    options.seeds = results.map((r) => r.seed);
    const { log: _omit, ...recorded } = { ...options, log };
    const report = buildReport(
      `x bench evolver ${argv.join(" ")}`.trim(),
      startedAt,
      machine,
      recorded,
      results,
    );
    mkdirSync(out, { recursive: true });
    const { curvesSvg } = await import("./evolver/curves-svg.js");
    for (const [ext, text] of [
      ["json", `${JSON.stringify(report, null, 1)}\n`],
      ["md", markdown(report)],
      ["-curves.svg", curvesSvg(report)],
    ] as const) {
      const file = join(out, `${name}${ext.startsWith("-") ? "" : "."}${ext}`);
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    }
    console.log(markdown(report));
    console.log(`wrote ${join(out, name)}.json and .md (${(report.runSeconds / 60).toFixed(1)} min)`);
    return 0;
  },
};
