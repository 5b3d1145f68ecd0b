// Distributed fitness evaluation (BullMQ on a local redis-server) against the in-process evaluator, run from
// the built dist/ (pnpm bench distributed):
//   1. throughput: evaluations per second for a batch of candidates, local vs 1, 2 and 4 worker processes, for a
//      cheap evaluator (sphere, D = 1000) and an expensive one (CPU-bound, ≈ 40 ms per candidate);
//   2. queue overhead per job: one worker, one job at a time, for genomes of 4 KB to 16 MiB, in Redis and as a
//      file in a shared directory (here a local directory: a network file system adds its own latency), minus
//      the local evaluation time;
//   3. from these, a model of a generation of B candidates on W machines: the evaluation cost above which the
//      queue pays off, and the predicted speed-up at 8 and 32 machines.
// All processes share this machine's cores (2 here) with whatever else runs: the load average is recorded, and
// worker counts above the core count cannot speed up CPU-bound work on one machine (the model is for machines).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "@x/tensor-core";

const here = new URL(".", import.meta.url);
const D = 1000;
const root = fileURLToPath(new URL("../../../", import.meta.url));
const { createDistributedEvaluator } = await import(new URL("../dist/distributed/index.js", here).href);
const { constant, DifferentialEvolution, evolve, loadEvaluator, ScheduledControl } = await import(
  new URL("../dist/index.js", here).href
);
const evaluatorModule = fileURLToPath(new URL("./distributed-evaluators.mjs", here));
const workerScript = fileURLToPath(new URL("./distributed-worker.mjs", here));
const REPS = Number(process.env.BENCH_RUNS ?? 5);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a private redis-server ----
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const port = await freePort();
const redisDir = mkdtempSync(join(os.tmpdir(), "x-evo-bench-redis-"));
const redis = spawn("redis-server", ["-"], { stdio: ["pipe", "ignore", "inherit"] });
redis.stdin.end(`port ${port}\nbind 127.0.0.1\ndir ${redisDir}\nsave ""\nappendonly no\nloglevel warning\n`);
for (;;) {
  const ok = await new Promise((r) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      r(true);
    });
    c.once("error", () => r(false));
  });
  if (ok) break;
  await sleep(50);
}
const url = `redis://127.0.0.1:${port}`;
const redisVersion = execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim();
const shared = mkdtempSync(join(os.tmpdir(), "x-evo-bench-shared-"));

// ---- helpers ----
let runCounter = 0;
const spec = (exportName, options = {}) => ({ module: evaluatorModule, export: exportName, options });
const genomes = (m, d, seed) => {
  const r = new Rng(seed);
  return Array.from({ length: m }, () => r.fillUniform(new Float32Array(d), -1, 1));
};
async function batch(fitness, gs, inFlight, generation) {
  let next = 0;
  const lane = async () => {
    for (;;) {
      const k = next++;
      if (k >= gs.length) return;
      await fitness(gs[k], { target: k, generation });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, gs.length) }, lane));
  return performance.now() - t0;
}
function localProcess(s, m) {
  const out = execFileSync(process.execPath, [fileURLToPath(new URL("./distributed-local.mjs", here))], {
    env: { ...process.env, X_SPEC: JSON.stringify(s), X_M: String(m), X_D: String(D) },
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1)).ms;
}
function spawnWorkers(k, runId, only = false) {
  const procs = [];
  const joined = [];
  for (let i = 0; i < k; i++) {
    const p = spawn(process.execPath, [workerScript], {
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        X_REDIS_URL: url,
        X_WORKER_NAME: `bench-w${i}`,
        ...(only ? { X_RUNS: runId } : {}),
      },
    });
    procs.push(p);
    joined.push(
      new Promise((resolve) => {
        let buf = "";
        p.stdout.on("data", (d) => {
          buf += d;
          if (buf.includes(`"run-joined","runId":"${runId}"`)) resolve();
        });
      }),
    );
  }
  return { procs, ready: Promise.all(joined) };
}
async function stopWorkers(procs) {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise((resolve) => {
          p.once("exit", resolve);
          p.kill("SIGINT");
        }),
    ),
  );
}
/** Time `fn(fitness, generationBase)` with k workers on a fresh run; warms each worker up first. */
async function withQueue(k, evaluator, extra, fn) {
  const runId = `bench-${process.pid}-${runCounter++}`;
  const ev = await createDistributedEvaluator({ redis: url, runId, evaluator, ...extra });
  const { procs, ready } = spawnWorkers(k, runId);
  try {
    await ready;
    await batch(ev.fitness, genomes(2 * k, 16, 999), 2 * k, -5); // load the evaluator in every worker
    return await fn(ev.fitness);
  } finally {
    await ev.close();
    await stopWorkers(procs);
  }
}

const machine = {
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  node: process.version,
  redis: redisVersion,
  loadAverageAtStart: os.loadavg().map((v) => +v.toFixed(2)),
};
console.log("machine", machine);

// ---- 1. throughput ----
// (D is also read by localProcess)
const cheapSpec = spec("cheap");
// calibrate the expensive evaluator to ≈ 40 ms per candidate on this machine, once
const probe = (await loadEvaluator(spec("expensive", { passes: 200 }))).fitness;
const t0 = performance.now();
for (let i = 0; i < 5; i++) probe(genomes(1, D, i)[0], { target: 0, generation: 0 });
const passes = Math.max(1, Math.round((200 * 40) / ((performance.now() - t0) / 5)));
const expensiveSpec = spec("expensive", { passes });
const throughput = [];
// Local and queue runs alternate within each repetition (local, 1, 2, 4 workers, again ...), so a change of
// the machine's load hits all contenders alike; each worker pool serves only its own run. The local contender
// runs in a fresh process of its own, as each worker does (same genomes, same evaluator module).
for (const [name, s, m] of [
  ["cheap", cheapSpec, 400],
  ["waiting 50 ms", spec("waiting", { delayMs: 50 }), 24],
  ["CPU-bound", expensiveSpec, 24],
]) {
  const gs = genomes(m, D, 1); // the same genomes as the local process draws
  const pools = [];
  for (const k of [1, 2, 4]) {
    const runId = `bench-${process.pid}-${runCounter++}`;
    const ev = await createDistributedEvaluator({ redis: url, runId, evaluator: s });
    const { procs, ready } = spawnWorkers(k, runId, true);
    await ready;
    await batch(ev.fitness, genomes(2 * k, 16, 999), 2 * k, -5); // load the evaluator in every worker
    pools.push({ k, ev, procs, times: [] });
  }
  const localTimes = [];
  for (let r = 0; r < REPS; r++) {
    localTimes.push(localProcess(s, m));
    for (const pool of pools) pool.times.push(await batch(pool.ev.fitness, gs, m, 100 + r));
  }
  const row = {
    evaluator: name,
    candidates: m,
    msPerEvaluationLocal: median(localTimes) / m,
    local: (1000 * m) / median(localTimes),
  };
  for (const pool of pools) {
    row[`workers${pool.k}`] = (1000 * m) / median(pool.times);
    row[`times${pool.k}`] = pool.times.map((t) => +t.toFixed(1));
    await pool.ev.close();
    await stopWorkers(pool.procs);
  }
  row.localTimes = localTimes.map((t) => +t.toFixed(1));
  throughput.push(row);
  console.log(row);
}

// ---- 2. overhead per job ----
const overhead = [];
for (const [label, d, extra, jobs] of [
  ["4 KB (D = 1e3) in Redis", 1e3, { inlineMaxBytes: 64 * 2 ** 20 }, 100],
  ["4 KB (D = 1e3) as a file", 1e3, { inlineMaxBytes: 1024, sharedDir: shared }, 100],
  ["1 MiB (D = 2.6e5) in Redis", 2 ** 18, { inlineMaxBytes: 64 * 2 ** 20 }, 20],
  ["1 MiB (D = 2.6e5) as a file", 2 ** 18, { inlineMaxBytes: 1024, sharedDir: shared }, 20],
  ["4 MiB (D = 1e6) in Redis", 2 ** 20, { inlineMaxBytes: 64 * 2 ** 20 }, 12],
  ["4 MiB (D = 1e6) as a file", 2 ** 20, { inlineMaxBytes: 1024, sharedDir: shared }, 12],
  ["16 MiB (D = 4e6) in Redis", 2 ** 22, { inlineMaxBytes: 64 * 2 ** 20 }, 8],
  ["16 MiB (D = 4e6) as a file", 2 ** 22, { inlineMaxBytes: 1024, sharedDir: shared }, 8],
]) {
  const gs = genomes(jobs, d, 7);
  const local = (await loadEvaluator(cheapSpec)).fitness;
  const lt = [];
  for (const g of gs) {
    const t = performance.now();
    local(g, { target: 0, generation: 0 });
    lt.push(performance.now() - t);
  }
  const perJob = await withQueue(1, cheapSpec, extra, async (fitness) => {
    const ts = [];
    for (let j = 0; j < gs.length; j++) {
      const t = performance.now();
      await fitness(gs[j], { target: j, generation: 7 });
      ts.push(performance.now() - t);
    }
    return ts;
  });
  const row = {
    genome: label,
    bytes: d * 4,
    jobs,
    msPerJobQueue: median(perJob),
    msPerJobLocal: median(lt),
    overheadMs: median(perJob) - median(lt),
  };
  overhead.push(row);
  console.log(row);
}

// ---- 3. Evolver with lookahead over the queue ----
// Evolver decides one child at a time; with lookahead k it evaluates the next k − 1 children speculatively. A
// waiting evaluator (50 ms without CPU) on 4 workers shows how much of the queue's parallelism that recovers.
const WAIT_MS = 50;
const evolverRows = [];
{
  const pop0 = genomes(8, D, 21);
  const mean = (gs, out) => {
    out.fill(0);
    for (const g of gs) for (let i = 0; i < out.length; i++) out[i] += g[i] / gs.length;
  };
  const evolver = (mode) => (k, fitness) =>
    evolve(pop0, {
      mode,
      merge: mean,
      f: 0.5,
      cr: 0.1,
      generations: 4,
      seed: 5,
      lookahead: k,
      score: (w) => fitness(w),
    });
  const optimizers = {
    standalone: evolver("standalone"),
    merge: evolver("merge"),
    // asynchronous DE (CADE's in-place selection), rand/1, the same population and evaluator
    "async DE": (k, fitness) =>
      new DifferentialEvolution({
        strategy: "rand/1",
        crossover: { kind: "binomial", forceJRand: true },
        control: new ScheduledControl(constant(0.5), constant(0.02)),
        generations: 4,
        seed: 5,
        lookahead: k,
      }).run(pop0, fitness),
  };
  for (const [mode, optimize] of Object.entries(optimizers)) {
    let base = null;
    for (const k of [1, 4, 8]) {
      const res = await withQueue(
        4,
        spec("waiting", { delayMs: WAIT_MS, center: 0.3 }),
        {},
        async (fitness) => {
          const t = performance.now();
          const r = await optimize(k, fitness);
          return { ms: performance.now() - t, r };
        },
      );
      base ??= res;
      const score = (r) => r.outputScore ?? r.bestFitness;
      const row = {
        mode,
        lookahead: k,
        seconds: res.ms / 1000,
        evaluations: res.r.evaluations,
        discarded: res.r.discarded,
        accepted: res.r.accepted ?? res.r.history.reduce((a, h) => a + h.accepted, 0),
        speedup: base.ms / res.ms,
        identical: score(res.r) === score(base.r),
      };
      evolverRows.push(row);
      console.log(row);
    }
  }
}

// ---- 4. model ----
// A generation of B candidates of cost c on W machines (one worker each): the workers take ceil(B/W) jobs each,
// paying c plus the per-job overhead o_w (measured pipelined: 1 / cheap throughput with one worker), plus one
// round-trip latency L (the small-genome overhead) to fill and drain the pipeline; the coordinator cannot
// complete more than R jobs/s (the best cheap throughput measured). Speed-up = B·c / T.
const cheapRow = throughput[0];
const oW = 1 / cheapRow.workers1; // s per job, pipelined
const L = overhead[0].overheadMs / 1000; // 4 KB in Redis
const R = Math.max(cheapRow.workers1, cheapRow.workers2, cheapRow.workers4);
const B = 32;
const T = (c, W) => Math.max(Math.ceil(B / W) * (c + oW) + L, B / R);
const speedup = (c, W) => (B * c) / T(c, W);
const speedupFor = (c, W, b) => (b * c) / Math.max(Math.ceil(b / W) * (c + oW) + L, b / R);
const solve = (W, target) => {
  let lo = 1e-7;
  let hi = 1e4;
  for (let i = 0; i < 200; i++) {
    const mid = Math.sqrt(lo * hi);
    if (speedup(mid, W) >= target(W)) hi = mid;
    else lo = mid;
  }
  return hi;
};
const model = {
  batch: B,
  perJobOverheadPipelinedMs: oW * 1000,
  roundTripLatencyMs: L * 1000,
  coordinatorMaxJobsPerSecond: R,
  breakEven: [2, 8, 32].map((W) => ({
    machines: W,
    payOffAboveMs: solve(W, () => 1) * 1000,
    within10PercentOfIdealAboveMs: solve(W, (w) => 0.9 * Math.min(w, B)) * 1000,
  })),
  predicted: [0.01, 0.1, 1, 10, 60].map((c) => ({
    costSeconds: c,
    speedup8: speedup(c, 8),
    speedup32: speedup(c, 32),
  })),
  // the waiting evaluator needs no CPU, so 2 and 4 workers on this machine behave like 2 and 4 machines
  checkAgainstMeasured: [1, 2, 4].map((W) => ({
    workers: W,
    predicted: speedupFor(throughput[1].msPerEvaluationLocal / 1000, W, throughput[1].candidates),
    measured: throughput[1][`workers${W}`] / throughput[1].local,
  })),
};
machine.loadAverageAtEnd = os.loadavg().map((v) => +v.toFixed(2));
console.log(model);

// ---- write ----
redis.kill("SIGKILL");
rmSync(redisDir, { recursive: true, force: true });
rmSync(shared, { recursive: true, force: true });
const f = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
const wait = throughput[1];
const cpu = throughput[2];
const md = [
  "# Distributed fitness evaluation (BullMQ on Redis)",
  "",
  `Measured ${new Date().toISOString().slice(0, 10)} by \`packages/evolution/bench/distributed.bench.mjs\` on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, ${machine.redis.split(" ").slice(0, 3).join(" ")} on loopback; load average ${machine.loadAverageAtStart.join(" / ")} at the start and ${machine.loadAverageAtEnd.join(" / ")} at the end (a machine shared with other jobs). Medians of ${REPS} runs. Coordinator, Redis and every worker process share these cores, so more than ${machine.cores} CPU-bound workers cannot go faster here; the model below is for separate machines.`,
  "",
  "## Evaluations per second (batch of candidates, all in flight, D = 1000 float32; contenders interleaved per repetition)",
  "",
  "| evaluator | cost per candidate (local) | local (one process) | 1 worker | 2 workers | 4 workers |",
  "|---|---|---|---|---|---|",
  ...throughput.map(
    (r) =>
      `| ${r.evaluator} (${r.candidates} candidates) | ${f(r.msPerEvaluationLocal, 3)} ms | ${f(r.local, 0)} | ${f(r.workers1, 1)} | ${f(r.workers2, 1)} | ${f(r.workers4, 1)} |`,
  ),
  "",
  `Speed-up over local with 1 / 2 / 4 workers: waiting evaluator ${[1, 2, 4].map((k) => f(wait[`workers${k}`] / wait.local, 2)).join(" / ")}×; CPU-bound evaluator ${[1, 2, 4].map((k) => f(cpu[`workers${k}`] / cpu.local, 2)).join(" / ")}×.`,
  "",
  `The waiting evaluator (50 ms without CPU, standing in for an evaluation on a GPU or in an external process) shows the queue's scaling as separate machines would: its workers do not compete for this machine's ${machine.cores} cores. The CPU-bound one cannot scale past ${machine.cores} cores here, and with the machine's load (≈ ${machine.loadAverageAtStart[0]} on ${machine.cores} cores) each process gets only its share of them: its row varies widely from run to run (one worker measured between 0.8× and 2.3× of local in five runs while this benchmark was written). The cheap evaluator shows the queue's own ceiling: a microsecond evaluation is thousands of times faster in-process.`,
  "",
  "## Queue overhead per job (one worker, one job at a time, cheap evaluator; the shared directory is local here)",
  "",
  "| genome | end-to-end per job | local evaluation | overhead |",
  "|---|---|---|---|",
  ...overhead.map(
    (r) =>
      `| ${r.genome} | ${f(r.msPerJobQueue, 2)} ms | ${f(r.msPerJobLocal, 2)} ms | **${f(r.overheadMs, 2)} ms** |`,
  ),
  "",
  "## When the queue pays off, and predicted speed-ups (model, from the numbers above)",
  "",
  `A generation of B = ${B} candidates of cost c on W machines with one worker each: T = ceil(B/W)·(c + o) + L, at least B/R, where o = ${f(model.perJobOverheadPipelinedMs, 2)} ms is the per-job cost with jobs pipelined (1 / cheap throughput with one worker), L = ${f(model.roundTripLatencyMs, 2)} ms the round trip of one small job, and R = ${f(R, 0)} jobs/s the most this coordinator completed. Speed-up = B·c / T over one local process. The network between real machines adds its own latency to L and to o (here: loopback).`,
  "",
  "| machines | queue pays off (speed-up > 1) above | within 10 % of the ideal speed-up above |",
  "|---|---|---|",
  ...model.breakEven.map(
    (b) => `| ${b.machines} | ${f(b.payOffAboveMs, 2)} ms | ${f(b.within10PercentOfIdealAboveMs, 1)} ms |`,
  ),
  "",
  "| cost per candidate | predicted speed-up, 8 machines | 32 machines |",
  "|---|---|---|",
  ...model.predicted.map((p) => `| ${p.costSeconds} s | ${f(p.speedup8, 2)}× | ${f(p.speedup32, 2)}× |`),
  "",
  `Check of the model against the waiting evaluator (24 candidates of ${f(wait.msPerEvaluationLocal, 1)} ms, workers that need no CPU): predicted ${model.checkAgainstMeasured.map((c) => `${c.workers} worker${c.workers > 1 ? "s" : ""} ${f(c.predicted, 2)}×`).join(", ")}; measured ${model.checkAgainstMeasured.map((c) => `${f(c.measured, 2)}×`).join(", ")}.`,
  "",
  "With 32 candidates per generation, 32 machines give at most 32× (one candidate each). The model holds for optimizers that evaluate a batch at once (synchronous DE, CMA-ES, initial populations); Evolver and asynchronous DE (CADE) decide one child at a time and get their parallelism from `lookahead` (below).",
  "",
  `## Evolver and asynchronous DE over the queue with lookahead (4 workers, an evaluator that waits ${WAIT_MS} ms without using the CPU, population 8, D = 1000, 4 generations; Evolver F = 0.5, CR = 0.1)`,
  "",
  "| optimizer | lookahead | wall time | evaluations | thrown away | accepted | speed-up over lookahead 1 | same result |",
  "|---|---|---|---|---|---|---|---|",
  ...evolverRows.map(
    (r) =>
      `| ${r.mode === "merge" ? "Evolver B (merge)" : r.mode === "standalone" ? "Evolver A (standalone)" : "async DE/rand/1 (F = 0.5, CR = 0.02)"} | ${r.lookahead} | ${f(r.seconds, 2)} s | ${r.evaluations} | ${r.discarded} | ${r.accepted} | ${f(r.speedup, 2)}× | ${r.identical} |`,
  ),
  "",
  "A speculative child is thrown away when an earlier acceptance changes its inputs (mode B: any acceptance, since its fitness merges the whole population), so the gain shrinks as the acceptance rate grows.",
  "",
];
const dir = join(root, "bench/results");
mkdirSync(dir, { recursive: true });
for (const [ext, text] of [
  [
    "json",
    `${JSON.stringify({ machine, throughput, overhead, evolver: evolverRows, model, expensivePasses: passes }, null, 1)}\n`,
  ],
  ["md", md.join("\n")],
]) {
  writeFileSync(join(dir, `evolution-distributed.${ext}.tmp`), text);
  renameSync(join(dir, `evolution-distributed.${ext}.tmp`), join(dir, `evolution-distributed.${ext}`));
}
console.log(md.join("\n"));
process.exit(0);
