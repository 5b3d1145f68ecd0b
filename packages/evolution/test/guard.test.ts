import { type ChildProcess, spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  type EvalInfo,
  EvaluationCancelledError,
  EvaluationTimeoutError,
  FitnessError,
  guardFitness,
} from "../src/index.js";

const info: EvalInfo = { target: 3, generation: 5 };

describe("guardFitness", () => {
  it("passes values through and gives each call its own signal", async () => {
    const signals: (AbortSignal | undefined)[] = [];
    const f = guardFitness((g: Float32Array, i) => {
      signals.push(i.signal);
      return g[0] * 2;
    }, {});
    expect(await f(new Float32Array([4]), info)).toBe(8);
    expect(await f(new Float32Array([1]), info)).toBe(2);
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[0]).not.toBe(signals[1]);
  });

  it("a candidate past the timeout fails with an error naming it, and its signal is aborted", async () => {
    let aborted: unknown = null;
    const f = guardFitness(
      (_g: Float32Array, i) =>
        new Promise<number>((_, reject) => {
          i.signal!.addEventListener("abort", () => {
            aborted = i.signal!.reason;
            reject(new Error("child killed"));
          });
        }),
      { timeoutMs: 30 },
    );
    const err = await f(new Float32Array(1), info).catch((e) => e);
    expect(err).toBeInstanceOf(EvaluationTimeoutError);
    expect(err.message).toBe("evaluation of target 3 in generation 5 exceeded the 30 ms timeout");
    expect(aborted).toBeInstanceOf(EvaluationTimeoutError);
  });

  it("times out even when the evaluator ignores the signal", async () => {
    const f = guardFitness(() => new Promise<number>(() => {}), { timeoutMs: 20 });
    await expect(f(new Float32Array(1), { target: 0, generation: -1 })).rejects.toThrow(
      "evaluation of individual 0 of the initial population exceeded the 20 ms timeout",
    );
  });

  it("run-wide cancellation rejects pending and new evaluations and aborts their signals", async () => {
    const ac = new AbortController();
    const seen: AbortSignal[] = [];
    const f = guardFitness(
      (_g: Float32Array, i) => {
        seen.push(i.signal!);
        return new Promise<number>(() => {});
      },
      { signal: ac.signal },
    );
    const a = f(new Float32Array(1), info);
    const b = f(new Float32Array(1), { target: 4, generation: 5 });
    ac.abort();
    await expect(a).rejects.toBeInstanceOf(EvaluationCancelledError);
    await expect(b).rejects.toThrow("evaluation of target 4 in generation 5 was cancelled");
    expect(seen.every((s) => s.aborted)).toBe(true);
    await expect(f(new Float32Array(1), info)).rejects.toBeInstanceOf(EvaluationCancelledError);
  });

  it("Ctrl-C stops an evaluator's child process through its signal", async () => {
    const ac = new AbortController();
    let child: ChildProcess | undefined;
    const f = guardFitness(
      (_g: Float32Array, i) =>
        new Promise<number>((resolve, reject) => {
          // an external evaluator (a long-running scoring script) that honours the signal
          child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { signal: i.signal });
          child.on("error", reject);
          child.on("exit", () => resolve(0));
        }),
      { signal: ac.signal },
    );
    const p = f(new Float32Array(1), info);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(EvaluationCancelledError);
    const exit = await new Promise<string | null>((r) => {
      if (child!.exitCode !== null || child!.signalCode !== null) r(child!.signalCode);
      else child!.once("exit", (_c, sig) => r(sig));
    });
    expect(exit).toBe("SIGTERM");
  });

  it("a caller's per-call signal also cancels", async () => {
    const ac = new AbortController();
    const f = guardFitness(() => new Promise<number>(() => {}), {});
    const p = f(new Float32Array(1), { ...info, signal: ac.signal });
    ac.abort("job cancelled");
    await expect(p).rejects.toThrow("was cancelled: job cancelled");
  });

  it("refuses a non-positive timeout; errors from the evaluator pass through", async () => {
    expect(() => guardFitness(() => 1, { timeoutMs: 0 })).toThrow(FitnessError);
    const f = guardFitness(
      () => {
        throw new Error("boom");
      },
      { timeoutMs: 1000 },
    );
    await expect(f(new Float32Array(1), info)).rejects.toThrow("boom");
  });
});
