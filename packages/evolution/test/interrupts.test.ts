import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { catchInterrupts, signalExitCode } from "../src/index.js";

// The test runner's own listeners are set aside so that emitting a signal reaches only the one under test.
const saved: Record<"SIGINT" | "SIGTERM", NodeJS.SignalsListener[]> = { SIGINT: [], SIGTERM: [] };
beforeEach(() => {
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    saved[s] = process.listeners(s);
    process.removeAllListeners(s);
  }
});
afterEach(() => {
  for (const s of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(s);
    for (const l of saved[s]) process.on(s, l);
  }
});

describe("catchInterrupts", () => {
  it("the first signal aborts the run, a second forces", () => {
    const forced: NodeJS.Signals[] = [];
    const i = catchInterrupts((s) => forced.push(s));
    expect([i.caught, i.signal.aborted]).toEqual([null, false]);
    process.emit("SIGTERM", "SIGTERM");
    expect([i.caught, i.signal.aborted, forced]).toEqual(["SIGTERM", true, []]);
    expect((i.signal.reason as Error).message).toBe("interrupted by SIGTERM");
    process.emit("SIGINT", "SIGINT");
    expect([i.caught, forced]).toEqual(["SIGTERM", ["SIGINT"]]);
    i.detach();
    expect([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]).toEqual([0, 0]);
  });

  it("exit codes: 130 for SIGINT, 143 for SIGTERM", () => {
    expect([signalExitCode("SIGINT"), signalExitCode("SIGTERM")]).toEqual([130, 143]);
  });
});
