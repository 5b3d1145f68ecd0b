// Engine-overhead benchmarks for @x/evolution, run from the built dist/ (pnpm bench evolution):
//   1. D = 1e6, N = 16, async DE/rand/1/bin with a trivial O(1) fitness: children per second and memory per
//      individual, dense CR = 0.5, and CR = 1e-4 with dense vs geometric (O(k)) sampling side by side;
//   2. D = 1e8, N = 4 (+1 trial slot = 2 GB, the largest population that fits comfortably next to other jobs),
//      CADE-like CR = 1e-6 (sparse) and CR = 0.5 (dense);
//   3. parallel fitness: sync DE, D = 1e6, N = 8, a costly fitness in-thread vs 2 worker threads over the
//      shared population (results verified identical).
// Each cell runs in its own child process so its RSS is its own. Results: bench/results/evolution-engine.{json,md}.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/index.js", import.meta.url).href;
const root = fileURLToPath(new URL("../../../", import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function cell(name) {
  const ev = await import(dist);
  const { Rng } = await import("@x/tensor-core");
  const fillInit = (n, d, seed) => ({
    size: n,
    dim: d,
    fill: (i, g) => {
      const r = new Rng(`${seed}-${i}`);
      for (let k = 0; k < g.length; k++) g[k] = r.uniform() - 0.5;
    },
  });
  const trivial = (g) => g[0] + g[g.length - 1];
  const de = (o) =>
    new ev.DifferentialEvolution({
      strategy: "rand/1",
      crossover: { kind: "binomial", forceJRand: false, sampling: o.sampling ?? "auto" },
      control: new ev.ScheduledControl(ev.constant(0.5), ev.constant(o.cr)),
      generations: o.generations,
      seed: 1,
      selection: o.selection ?? "async",
      concurrency: o.concurrency ?? 1,
      skipIdentical: false,
      shared: o.shared ?? false,
    });
  const out = { name };
  const timed = async (o, n, d, fitness) => {
    const times = [];
    let r;
    for (let run = 0; run < (o.runs ?? RUNS); run++) {
      const t0 = performance.now();
      r = await de(o).run(fillInit(n, d, run), fitness);
      times.push(performance.now() - t0);
    }
    return { times, r };
  };
  if (name.startsWith("d1e6")) {
    const [, cr, sampling] = name.split(":");
    const n = 16;
    const d = 1e6;
    const generations = Number(cr) >= 0.1 ? 3 : 10;
    // time the initial population separately so children/s measures the generations only
    const base = await timed({ cr: Number(cr), sampling, generations: 0 }, n, d, trivial);
    const { times, r } = await timed({ cr: Number(cr), sampling, generations }, n, d, trivial);
    const children = n * generations;
    const gen = median(times) - median(base.times);
    Object.assign(out, {
      d,
      n,
      cr: Number(cr),
      sampling,
      generations,
      children,
      msPerChild: gen / children,
      childrenPerSecond: (1000 * children) / gen,
      bytesPerIndividual: r.population.bytes / n,
      rssMB: process.memoryUsage().rss / 2 ** 20,
      times,
      initTimes: base.times,
    });
  } else if (name.startsWith("d1e8")) {
    const [, cr] = name.split(":");
    const n = 4;
    const d = 1e8;
    const generations = Number(cr) >= 0.1 ? 1 : 3;
    // One run; the initializer and the initial evaluation are timed separately (one 2 GB population only).
    let fillMs = 0;
    let initEvalMs = 0;
    const init = fillInit(n, d, 0);
    const timedInit = {
      ...init,
      fill: (i, g) => {
        const t = performance.now();
        init.fill(i, g);
        fillMs += performance.now() - t;
      },
    };
    const fitness = trivial;
    const t1 = performance.now();
    let tGen0 = 0;
    const r = await new ev.DifferentialEvolution({
      strategy: "rand/1",
      crossover: { kind: "binomial", forceJRand: false },
      control: new ev.ScheduledControl(ev.constant(0.5), ev.constant(Number(cr))),
      generations,
      seed: 1,
      skipIdentical: false,
    }).run(
      {
        ...timedInit,
        fill: (i, g) => {
          timedInit.fill(i, g);
          if (i === n - 1) tGen0 = performance.now();
        },
      },
      fitness,
    );
    const total = performance.now() - t1;
    initEvalMs = tGen0 - t1;
    const children = n * generations;
    const genMs = total - initEvalMs;
    Object.assign(out, {
      d,
      n,
      cr: Number(cr),
      generations,
      children,
      msPerChild: genMs / children,
      childrenPerSecond: (1000 * children) / genMs,
      bytesPerIndividual: r.population.bytes / n,
      populationBytes: r.population.bytes,
      rssMB: process.memoryUsage().rss / 2 ** 20,
      fillMs,
      totalMs: total,
      note: "one run (one 1.86 GiB population buffer); ms/child excludes allocation + random fill",
    });
  } else if (name.startsWith("parallel")) {
    const fitnessUrl = new URL("./fitness-worker.mjs", import.meta.url);
    const { default: costly } = await import(fitnessUrl.href);
    const n = 8;
    const d = 1e6;
    const generations = 3;
    const inThread = await timed(
      { cr: 0.5, generations, selection: "sync", shared: true, runs: 2 },
      n,
      d,
      costly,
    );
    const pool = ev.createWorkerFitness({ module: fitnessUrl, threads: 2 });
    const workers = await timed(
      { cr: 0.5, generations, selection: "sync", shared: true, concurrency: 2, runs: 2 },
      n,
      d,
      pool.fitness,
    );
    await pool.close();
    const same = inThread.r.fitness.every((v, i) => Object.is(v, workers.r.fitness[i]));
    const evals = n * (generations + 1);
    Object.assign(out, {
      d,
      n,
      generations,
      evaluations: evals,
      inThreadMs: median(inThread.times),
      workersMs: median(workers.times),
      evalsPerSecondInThread: (1000 * evals) / median(inThread.times),
      evalsPerSecondWorkers: (1000 * evals) / median(workers.times),
      speedup: median(inThread.times) / median(workers.times),
      identicalResults: same,
      inThreadTimes: inThread.times,
      workerTimes: workers.times,
    });
  }
  process.stdout.write(JSON.stringify(out));
}

if (process.argv[2] === "--cell") {
  await cell(process.argv[3]);
} else {
  const machine = {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    node: process.version,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadAverageAtStart: os.loadavg().map((v) => +v.toFixed(2)),
    startedAt: new Date().toISOString(),
  };
  const names = [
    "d1e6:0.5:dense",
    "d1e6:0.0001:dense",
    "d1e6:0.0001:sparse",
    "d1e8:0.000001",
    "d1e8:0.5",
    "parallel",
  ];
  // --only a,b re-runs those cells and keeps the others from the previous results file.
  const at = process.argv.indexOf("--only");
  const only = at > 0 ? process.argv[at + 1].split(",") : null;
  const previous = only
    ? JSON.parse(readFileSync(`${root}bench/results/evolution-engine.json`, "utf8"))
    : null;
  const cells = [];
  for (const name of names) {
    const old = only && !only.includes(name) ? previous.cells.find((c) => c.name === name) : undefined;
    if (old) {
      cells.push(old.fromRun ? old : { ...old, fromRun: previous.machine.startedAt });
      continue;
    }
    console.log(`cell ${name} ...`);
    const txt = execFileSync(
      process.execPath,
      ["--max-old-space-size=4096", fileURLToPath(import.meta.url), "--cell", name],
      {
        encoding: "utf8",
        maxBuffer: 1 << 24,
      },
    );
    const c = JSON.parse(txt);
    console.log(JSON.stringify(c));
    cells.push(c);
  }
  machine.loadAverageAtEnd = os.loadavg().map((v) => +v.toFixed(2));
  const regenerate = only?.length === 1 && only[0] === "none";
  if (regenerate) Object.assign(machine, previous.machine);
  const note = regenerate
    ? previous.note
    : only
      ? `Cells re-run in this run: ${only.join(", ")}; the others are from the run started ${previous.machine.startedAt} (load average then ${previous.machine.loadAverageAtStart.join(" / ")}).`
      : undefined;
  const get = (n) => cells.find((c) => c.name === n);
  const f = (v, d = 2) => (typeof v === "number" ? v.toFixed(d) : String(v));
  const md = [
    "# @x/evolution engine benchmark",
    "",
    ...(note ? [note, ""] : []),
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; load average ${machine.loadAverageAtStart.join(" / ")} at start, ${machine.loadAverageAtEnd.join(" / ")} at end (other engineers' jobs share the 2 cores, so absolute times are pessimistic). Medians of ${RUNS} runs unless noted.`,
    "",
    "## Engine overhead (trivial O(1) fitness, async DE/rand/1/bin, no j_rand)",
    "",
    "| D | N | CR | sampling | ms / child | children / s | bytes / individual | process RSS MB |",
    "|---|---|---|---|---|---|---|---|",
    ...cells
      .filter((c) => c.name.startsWith("d1e"))
      .map(
        (c) =>
          `| ${c.d.toExponential(0)} | ${c.n} | ${c.cr} | ${c.sampling ?? "auto"} | ${f(c.msPerChild, 1)} | ${f(c.childrenPerSecond, 3)} | ${(c.bytesPerIndividual / 2 ** 20).toFixed(1)} MiB | ${f(c.rssMB, 0)} |`,
      ),
    "",
    `Bytes per individual = the population buffer (N genomes + 1 trial slot) / N: 4·D·(N+1)/N. At D = 1e8 the population of N = 4 plus its trial slot is one 2 GB buffer (${f(get("d1e8:0.000001")?.populationBytes / 2 ** 30, 2)} GiB); N was chosen so that it fits next to the other jobs on this 24 GiB machine — memory grows as 400 MB per extra individual.`,
    "",
    `Sparse vs dense sampling at CR = 1e-4 (D = 1e6): ${f(get("d1e6:0.0001:dense")?.msPerChild, 3)} ms vs ${f(get("d1e6:0.0001:sparse")?.msPerChild, 3)} ms per child (${f(get("d1e6:0.0001:dense")?.msPerChild / get("d1e6:0.0001:sparse")?.msPerChild, 1)}× faster); what remains is the parent copy (memcpy of 4 MB).`,
    "",
    "## Parallel fitness evaluation (sync DE, D = 1e6, N = 8, 3 generations, costly fitness)",
    "",
    "| contender | median ms | evaluations / s |",
    "|---|---|---|",
    `| in-thread (concurrency 1) | ${f(get("parallel").inThreadMs, 0)} | ${f(get("parallel").evalsPerSecondInThread, 1)} |`,
    `| 2 worker threads (shared population, concurrency 2) | ${f(get("parallel").workersMs, 0)} | ${f(get("parallel").evalsPerSecondWorkers, 1)} |`,
    "",
    `Speedup ${f(get("parallel").speedup, 2)}× on 2 cores; results bit-identical: ${get("parallel").identicalResults}.`,
    "",
  ].join("\n");
  const dir = `${root}bench/results`;
  mkdirSync(dir, { recursive: true });
  for (const [ext, text] of [
    ["json", `${JSON.stringify({ machine, note, cells }, null, 1)}\n`],
    ["md", md],
  ]) {
    writeFileSync(`${dir}/evolution-engine.${ext}.tmp`, text);
    renameSync(`${dir}/evolution-engine.${ext}.tmp`, `${dir}/evolution-engine.${ext}`);
  }
  console.log(md);
}
