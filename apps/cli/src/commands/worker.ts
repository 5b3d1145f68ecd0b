/**
 * `x worker --redis URL [--concurrency N]`: a queue worker of @x/evolution/distributed. It serves every run that
 * registers in the Redis (`x evolve ... --redis URL` on any machine), evaluates its candidates with the evaluator
 * the run names, and prints what it does: one line per event, plus a status line on a terminal (`--json`: one
 * JSON object per event). The first Ctrl-C (or SIGTERM) hands running evaluations back to the queue and exits 0;
 * a second Ctrl-C forces the exit (130).
 */
import { tmpdir } from "node:os";
import type { WorkerEvent } from "@x/evolution/distributed";
import { formatSeconds } from "@x/tensor-core";
import type { Command } from "commander";
import {
  addOptions,
  defineCommand,
  ExitError,
  integer,
  list,
  number,
  type OptionsOf,
  options,
} from "../kit.js";
import { StatusLog } from "../progress.js";
import { redisConfigOf, redisOptions } from "../redis.js";
import { installZooScorer } from "../zoo-scorer.js";

/**
 * The evaluator modules of `x evolve` and `x snn cade` (@x/snn's CADE_EVALUATOR_MODULE): the only ones a worker
 * loads unless --allow-module names more.
 */
const OWN_MODULES = ["@x/merging/evolve", "@x/snn"];

type WorkerOpts = OptionsOf<ReturnType<typeof workerOptions>>;

const QUIET_EVENTS = new Set(["started", "job-failed", "connection", "error", "stopping", "stopped"]);

async function workerAction(o: WorkerOpts): Promise<void> {
  const { config, redacted } = await redisConfigOf(o, true);
  const { removeStaleEvolveTemporaries } = await import("@x/merging/evolve");
  const { describeWorkerEvent, formatFitness, runWorker } = await import("@x/evolution/distributed");
  installZooScorer();
  const out = new StatusLog(process.stdout);
  const started = Date.now();
  let runs = 0;
  let done = 0;
  let failed = 0;
  let active = 0;
  let last = "";
  let concurrency = o.concurrency;
  const drawStatus = (force = false) =>
    out.status(
      `worker: ${runs} run${runs === 1 ? "" : "s"}, ${active}/${concurrency} busy, ${done} done, ${failed} failed, up ${formatSeconds((Date.now() - started) / 1000)}${last ? `; last ${last}` : ""}`,
      force,
    );
  const onEvent = (e: WorkerEvent): void => {
    if (e.type === "run-joined") runs++;
    if (e.type === "run-left") runs = Math.max(0, runs - 1);
    if (e.type === "job-started") active++;
    if (e.type === "job-finished" || e.type === "job-failed" || e.type === "job-returned")
      active = Math.max(0, active - 1);
    if (e.type === "job-finished") {
      done++;
      last = `${e.candidate} ${formatFitness(e.fitness)}`;
    }
    if (e.type === "job-failed") failed++;
    if (e.type === "started") concurrency = e.concurrency;
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ ...e, time: new Date().toISOString() })}\n`);
      return;
    }
    const line = describeWorkerEvent(e);
    if (line && (!o.quiet || QUIET_EVENTS.has(e.type))) out.log(line);
    if (e.type !== "stopped") drawStatus(true);
  };
  // Candidate models of x evolve runs are written under the OS temp directory: remove those of dead workers.
  const stale = removeStaleEvolveTemporaries(tmpdir());
  if (stale.length > 0 && !o.json)
    out.log(
      `removed ${stale.length} stale temporar${stale.length === 1 ? "y" : "ies"} of dead processes in ${tmpdir()}`,
    );
  // Signals are handled from the start: one that comes while the worker is still connecting (before it can have
  // taken a job) ends the process at once; after that the first stops cleanly, a second Ctrl-C forces.
  let handle: Awaited<ReturnType<typeof runWorker>> | null = null;
  let connected = false;
  let pending: NodeJS.Signals | null = null;
  let signals = 0;
  const stop = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1 && handle) void handle.close(sig);
    else if (signals === 1 && connected)
      pending = sig; // connected, the handle comes next: close it then
    else if (signals === 1) {
      out.clear();
      process.stderr.write(`x worker: stopped (${sig}) before it connected\n`);
      process.exit(0);
    } else if (sig === "SIGINT") {
      out.clear();
      process.stderr.write("x worker: forced stop; running evaluations are retried by other workers\n");
      process.exit(130);
    }
  };
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  if (!o.json) out.log(`connecting to ${redacted} ...`);
  handle = await runWorker({
    redis: config,
    concurrency: o.concurrency,
    runs: o.runs,
    sharedDir: o.sharedDir,
    allowModules: [...OWN_MODULES, ...(o.allowModule ?? [])],
    // resolve evaluator packages (@x/merging/evolve, @x/snn) from the x CLI, which depends on them
    importModule: (s) => import(s),
    handleSignals: false,
    connectTimeoutMs: o.connectTimeout * 1000,
    onEvent: (e) => {
      if (e.type === "started") connected = true;
      onEvent(e);
    },
  });
  if (pending) void handle.close(pending);
  const ticker = setInterval(() => drawStatus(), 1000);
  try {
    await handle.done;
  } finally {
    clearInterval(ticker);
    out.clear();
    // The handlers stay until the process exits: a Ctrl-C during the last cleanup still means "force" (130).
  }
  if (signals === 0) throw new ExitError("stopped", 1);
}

export function build(): Command {
  const cmd = defineCommand(
    "worker",
    "evaluate candidates of x evolve and x snn cade runs (and any @x/evolution/distributed run) from a Redis queue",
    [
      "x worker --redis redis://10.0.0.1:6379 --concurrency 2",
      "REDIS_PASSWORD=... x worker --redis rediss://queue.example:6380 --redis-ca ca.pem",
      "x worker --redis redis://127.0.0.1:6379 --json > worker.log",
    ],
  ).description(
    "A queue worker: serves every run that registers in the Redis (x evolve CONFIG OUT --redis URL or x snn cade ... --redis URL on any machine), loads the evaluator the run names (those of x evolve and x snn cade; others only with --allow-module), evaluates candidates and returns their fitness. The machine needs x and the run's data (models, evaluator script, zoo) at the same paths as the coordinator; candidate models are written under the OS temp directory ($TMPDIR). Prints one line per event (a status line below them on a terminal; --json: one JSON object per line). Ctrl-C or SIGTERM stops cleanly: running evaluations go back to the queue at once and the exit code is 0; a second Ctrl-C forces the exit (130) and other workers retry those evaluations after the lock lapses (30 s). The Redis password is read from $REDIS_PASSWORD or --redis-password-file and never printed.",
  );
  return addOptions(cmd, workerOptions()).action(workerAction);
}

const workerOptions = () =>
  options([
    ...redisOptions(
      "the job queue: redis://host:6379 or rediss:// for TLS (default: $X_REDIS_URL); the password comes from $REDIS_PASSWORD or --redis-password-file",
    ),
    ["--concurrency <n>", "evaluations at once in this process", integer(1, 1024), 1],
    ["--runs <ids>", "serve only these run ids (comma-separated; default: every run)", list(String)],
    [
      "--shared-dir <dir>",
      "this machine's mount of the coordinators' shared directory (genomes above 1 MiB travel as files there)",
    ],
    [
      "--allow-module <spec...>",
      "also load these evaluator modules (package names or absolute paths) when a run names them",
    ],
    [
      "--connect-timeout <s>",
      "give up when Redis cannot be reached for this long at start",
      number(0.1, 3600),
      30,
    ],
    ["-q, --quiet", "print only start, stop, failures and connection changes"],
    ["--json", "print every event as one JSON object per line (NDJSON) on stdout"],
  ]);
