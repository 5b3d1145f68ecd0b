// Evaluators score a merged model. The search only ever asks for the "validation" split; the final
// report asks once for "test" (project rule: select on validation, report on test).

import { spawn } from "node:child_process";

export type Split = "validation" | "test";

/** Thrown when an evaluator fails or prints no score; names the command. */
export class EvaluatorError extends Error {
  override readonly name = "EvaluatorError";
}

/** Scores the model in a directory (higher is better). */
export type DirectoryEvaluator = (modelDir: string, split: Split) => Promise<number>;

export interface CommandEvaluatorOptions {
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Kill the command after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  /** Receives the command's stderr lines (default: discarded). */
  onStderr?: (line: string) => void;
}

const NUMBER_RE = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)/gi;

/** The score an evaluator printed: the last number on the last stdout line that has one. */
export function parseScore(stdout: string): number | undefined {
  const lines = stdout.split(/\r?\n/).reverse();
  for (const line of lines) {
    const m = line.match(NUMBER_RE);
    if (m && m.length > 0) {
      const v = Number(m[m.length - 1]);
      return Number.isFinite(v) ? v : undefined;
    }
  }
  return undefined;
}

/**
 * An evaluator that runs an external command. `{model}` and `{split}` in the arguments are replaced by
 * the model directory and the split; without a `{model}` placeholder the directory is appended as the
 * last argument. The split is also in the environment as X_MERGE_SPLIT. The command prints a score
 * (higher is better); the last number printed counts. Non-zero exit or no number is an EvaluatorError.
 */
export function commandEvaluator(
  argv: readonly string[],
  options: CommandEvaluatorOptions = {},
): DirectoryEvaluator {
  if (argv.length === 0) throw new EvaluatorError("evaluator command is empty");
  return (modelDir, split) =>
    new Promise((resolve, reject) => {
      const hasModel = argv.some((a) => a.includes("{model}"));
      const args = argv.map((a) => a.replaceAll("{model}", modelDir).replaceAll("{split}", split));
      if (!hasModel) args.push(modelDir);
      const [cmd, ...rest] = args;
      const child = spawn(cmd!, rest, {
        env: { ...process.env, ...options.env, X_MERGE_SPLIT: split, X_MERGE_MODEL: modelDir },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        err += d;
        if (options.onStderr) for (const l of d.split(/\r?\n/)) if (l) options.onStderr(l);
      });
      const timer =
        options.timeoutMs !== undefined
          ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs)
          : undefined;
      child.on("error", (e) => {
        if (timer) clearTimeout(timer);
        reject(new EvaluatorError(`evaluator '${cmd}' could not start: ${e.message}`));
      });
      child.on("close", (code, signal) => {
        if (timer) clearTimeout(timer);
        if (code !== 0) {
          const last = err.trim().split("\n").pop() ?? "";
          reject(
            new EvaluatorError(
              `evaluator '${argv.join(" ")}' ${signal ? `was killed (${signal})` : `exited with code ${code}`}${last ? `: ${last}` : ""}`,
            ),
          );
          return;
        }
        const score = parseScore(out);
        if (score === undefined) {
          reject(new EvaluatorError(`evaluator '${argv.join(" ")}' printed no finite score on stdout`));
          return;
        }
        resolve(score);
      });
    });
}
