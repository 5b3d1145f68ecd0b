// Fault tests of `x evolve` from the built binary, for Evolver (DE) and CMA-ES: kill -9 at random moments, then
// `--resume`, must give the final result of an uninterrupted run bit for bit (model bytes, scores, evaluations,
// history, CMA-ES weights) and leave nothing behind; SIGINT / SIGTERM at random moments must remove the run's
// temporaries before it exits (130 / 143), and resume identically too. Moments are drawn from a seeded stream
// (X_KILL_SEED), trial counts from X_KILL_TRIALS (default 10 kills and 4 signals per algorithm). The counts are
// printed and asserted.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN, built, evolvePlayground, tempDir, x } from "../integration/helpers.js";

const root = tempDir("x-cli-evolve-kill-");
const KILLS = Number(process.env.X_KILL_TRIALS ?? 10);
const SIGNALS = Math.max(2, Math.round(KILLS * 0.4));
const SEED = process.env.X_KILL_SEED ?? "x-evolve-kill-1";

const CONFIGS = {
  evolver:
    "mode: merge\npopulation: [e0, e1, e2]\nbase: base\nmerge: { method: ties, lambda: 0.5, topK: 0.5 }\ngenerations: 4\nseed: 9",
  cmaes:
    "algorithm: cmaes\npopulation: [e0, e1, e2]\nbase: base\nmerge: { method: ta, lambda: 0.4 }\ncmaes: { max_fevals: 28, popsize: 7 }\nseed: 9",
} as const;

/** What an uninterrupted run and a killed-and-resumed one must share. */
function outcome(out: string): string {
  const r = JSON.parse(readFileSync(join(out, "evolve-result.json"), "utf8"));
  return JSON.stringify({
    model: readFileSync(join(out, "model", "model.safetensors")).toString("base64"),
    outputScore: r.outputScore,
    scores: r.scores,
    evaluations: r.evaluations,
    accepted: r.accepted,
    skipped: r.skipped,
    history: r.history,
    weights: r.weights,
    runs: r.runs,
  });
}

/** Files a finished run may hold; anything else (temporaries, partial files) is a leftover. */
function leftovers(out: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync(out))
    if (!["checkpoint", "model", "evolve-result.json"].includes(e)) found.push(e);
  for (const e of readdirSync(join(out, "model"))) if (e.startsWith(".")) found.push(`model/${e}`);
  for (const e of readdirSync(join(out, "checkpoint")))
    if (!/^(latest\.json|gen-\d{6}\.(json|safetensors))$/.test(e)) found.push(`checkpoint/${e}`);
  return found;
}

/** Temporaries of the run (`.candidates-…`, `.model-…`) in OUT_DIR. */
const temporaries = (out: string) =>
  existsSync(out)
    ? readdirSync(out).filter((e) => e.startsWith(".candidates-") || e.startsWith(".model-"))
    : [];

/** `x evolve` in the background, sent `signal` after `delayMs`; resolves with its exit. */
function runAndSignal(
  args: string[],
  delayMs: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill(signal), delayMs);
    child.on("close", (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, err });
    });
  });
}

describe.skipIf(!built)("x evolve under kill -9, SIGINT and SIGTERM (built binary)", () => {
  let play: Awaited<ReturnType<typeof evolvePlayground>>;
  beforeAll(async () => {
    play = await evolvePlayground(root);
  });

  for (const algorithm of ["evolver", "cmaes"] as const) {
    it(`${algorithm}: ${KILLS} kill -9 and ${SIGNALS} SIGINT/SIGTERM trials at random moments, then --resume: identical results, no leftovers`, async () => {
      const cfg = play.config(`${algorithm}.yml`, CONFIGS[algorithm]);
      const refOut = join(root, `${algorithm}-reference`);
      const t0 = Date.now();
      const ref = x(["evolve", cfg, refOut, "-q"]);
      const duration = Date.now() - t0;
      expect(ref.code, ref.err).toBe(0);
      const expected = outcome(refOut);
      const rng = new Rng(`${SEED}-${algorithm}`);
      const counts = {
        trials: 0,
        killedMidRun: 0,
        finishedFirst: 0,
        identical: 0,
        leftovers: 0,
        staleRemoved: 0,
        signalTrials: 0,
        signalInterrupted: 0,
        signalExits: 0,
        signalTemporaries: 0,
      };
      const trial = async (k: number, signal: NodeJS.Signals): Promise<void> => {
        counts.trials++;
        const out = join(root, `${algorithm}-${signal}-${k}`);
        // anywhere from the process start (node and module loading) to the end of an uninterrupted run
        const delay = Math.round(rng.uniform() * duration);
        const first = await runAndSignal(["evolve", cfg, out, "-q"], delay, signal);
        const interrupted = first.code !== 0;
        if (signal === "SIGKILL") {
          if (interrupted) counts.killedMidRun++;
          else counts.finishedFirst++;
        } else if (interrupted) counts.signalInterrupted++;
        if (signal !== "SIGKILL") {
          counts.signalTrials++;
          // 130 / 143 from x's handler, 0 when it finished first, or the default action of the signal when it came
          // during start-up, before the handler was installed (and before anything was written)
          const clean =
            first.code === (signal === "SIGINT" ? 130 : 143) ||
            first.code === 0 ||
            (first.signal === signal && !existsSync(out));
          if (clean) counts.signalExits++;
          else console.log(`${signal} after ${delay} ms: exit ${first.code} ${first.signal}: ${first.err}`);
          // a signalled run removes its own temporaries before it exits
          counts.signalTemporaries += temporaries(out).length;
        }
        const stale = temporaries(out);
        // resume (a run killed before it created OUT_DIR is started again instead)
        let resumed = x(["evolve", cfg, out, ...(existsSync(out) ? ["--resume"] : [])]);
        if (resumed.code === 2 && /does not exist/.test(resumed.err)) resumed = x(["evolve", cfg, out]);
        expect(resumed.code, `${signal} after ${delay} ms: ${resumed.err}`).toBe(0);
        if (stale.length > 0 && new RegExp(`removed ${stale.length} stale temporar`).test(resumed.err))
          counts.staleRemoved += stale.length;
        else expect(stale, `${signal} after ${delay} ms: stale temporaries not reported`).toEqual([]);
        if (outcome(out) === expected) counts.identical++;
        counts.leftovers += leftovers(out).length;
      };
      for (let k = 0; k < KILLS; k++) await trial(k, "SIGKILL");
      for (let k = 0; k < SIGNALS; k++) await trial(k, k % 2 === 0 ? "SIGINT" : "SIGTERM");
      console.log(
        `x evolve (${algorithm}) fault trials, seed ${SEED}, uninterrupted run ${duration} ms: ${counts.trials} trials ` +
          `(${KILLS} kill -9: ${counts.killedMidRun} killed mid-run, ${counts.finishedFirst} finished before the signal; ` +
          `${counts.signalTrials} SIGINT/SIGTERM: ${counts.signalInterrupted} interrupted mid-run, ${counts.signalExits} clean exits, ${counts.signalTemporaries} temporaries left at exit), ` +
          `${counts.identical} identical results after --resume, ${counts.staleRemoved} stale temporaries removed and reported, ` +
          `${counts.leftovers} leftovers`,
      );
      expect(counts.identical).toBe(counts.trials);
      expect(counts.leftovers).toBe(0);
      expect(counts.signalExits).toBe(counts.signalTrials);
      expect(counts.signalTemporaries).toBe(0);
      expect(counts.killedMidRun).toBeGreaterThan(KILLS / 2);
    }, 900_000);
  }
});
