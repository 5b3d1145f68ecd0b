/** The external evaluator of `x evolve`: a command that receives a candidate model directory and prints its score. */
import { execFile } from "node:child_process";

export class EvaluatorError extends Error {
  override readonly name = "EvaluatorError";
}

/**
 * Runs `command` (argv, `{model}` replaced by `modelDir`) in `cwd` and returns the last number it printed on
 * stdout (higher is better). A non-zero exit or no finite number is an `EvaluatorError` naming the command.
 */
export function runEvaluator(command: readonly string[], cwd: string, modelDir: string): Promise<number> {
  const argv = command.map((a) => a.replaceAll("{model}", modelDir));
  return new Promise((res, rej) => {
    execFile(argv[0]!, argv.slice(1), { cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        rej(
          new EvaluatorError(
            `evaluator '${argv.join(" ")}' failed: ${err.message}${stderr ? `\n${stderr.slice(-2000)}` : ""}`,
          ),
        );
        return;
      }
      const nums = stdout.match(/[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf(?:inity)?|nan/gi);
      const last = nums?.[nums.length - 1];
      const v = last === undefined ? Number.NaN : Number(last.replace(/^([-+]?)inf(inity)?$/i, "$1Infinity"));
      if (!Number.isFinite(v)) {
        rej(
          new EvaluatorError(
            `evaluator '${argv.join(" ")}' printed no finite score (stdout: ${JSON.stringify(stdout.slice(-200))})`,
          ),
        );
        return;
      }
      res(v);
    });
  });
}
