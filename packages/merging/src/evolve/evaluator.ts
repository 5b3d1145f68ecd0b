/** The external evaluator of `x evolve`: a command that receives a candidate model directory and prints its score. */
import { spawn } from "node:child_process";

export class EvaluatorError extends Error {
  override readonly name = "EvaluatorError";
}

const MAX_STDOUT = 16 << 20;
/** After SIGTERM, a command that has not exited gets SIGKILL this much later. */
const KILL_GRACE_MS = 2000;

/**
 * Runs `command` (argv, `{model}` replaced by `modelDir`) in `cwd` and returns the last number it printed on
 * stdout (higher is better). A non-zero exit or no finite number is an `EvaluatorError` naming the command.
 * The command runs in its own process group: when `signal` aborts (a timeout, Ctrl-C), the whole group gets
 * SIGTERM, then SIGKILL after 2 s, so a `sh -c` command's own children stop too.
 */
export function runEvaluator(
  command: readonly string[],
  cwd: string,
  modelDir: string,
  signal?: AbortSignal,
): Promise<number> {
  const argv = command.map((a) => a.replaceAll("{model}", modelDir));
  const shown = argv.join(" ");
  return new Promise((res, rej) => {
    if (signal?.aborted) {
      rej(new EvaluatorError(`evaluator '${shown}' was not started: the evaluation was stopped`));
      return;
    }
    const child = spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let overflow = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const onAbort = (): void => {
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS);
      killTimer.unref();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (d: Buffer) => {
      if (stdout.length + d.length > MAX_STDOUT) overflow = true;
      else stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const done = (): void => {
      signal?.removeEventListener("abort", onAbort);
      if (killTimer) clearTimeout(killTimer);
    };
    child.on("error", (err) => {
      done();
      rej(new EvaluatorError(`evaluator '${shown}' could not start: ${err.message}`));
    });
    child.on("close", (code, sig) => {
      done();
      if (signal?.aborted) {
        rej(new EvaluatorError(`evaluator '${shown}' was stopped`));
        return;
      }
      if (code !== 0 || overflow) {
        const why = overflow
          ? `printed more than ${MAX_STDOUT} bytes`
          : sig
            ? `was killed by ${sig}`
            : `exited with code ${code}`;
        const tail = stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : "";
        rej(new EvaluatorError(`evaluator '${shown}' ${why}${tail}`));
        return;
      }
      const nums = stdout.match(/[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?|nan/gi);
      const last = nums?.[nums.length - 1];
      const v = last === undefined ? Number.NaN : Number(last.replace(/^([-+]?)inf(inity)?$/i, "$1Infinity"));
      if (!Number.isFinite(v)) {
        rej(
          new EvaluatorError(
            `evaluator '${shown}' printed no finite score (stdout: ${JSON.stringify(stdout.slice(-200))})`,
          ),
        );
        return;
      }
      res(v);
    });
  });
}
