import { describe, expect, it } from "vitest";
import { describeCoordinatorEvent, describeWorkerEvent, formatFitness } from "../src/distributed/events.js";

describe("distributed event lines", () => {
  it("describes worker events, null for a first attempt", () => {
    expect(
      describeWorkerEvent({ type: "started", worker: "w1", redis: "redis://h:6379", concurrency: 1 }),
    ).toBe(
      "worker w1: connected to redis://h:6379, 1 evaluation at a time; waiting for runs (Ctrl-C to stop)",
    );
    const job = { runId: "r", jobId: "j", candidate: "c3" };
    expect(describeWorkerEvent({ type: "job-started", ...job, attempt: 1 })).toBeNull();
    expect(describeWorkerEvent({ type: "job-started", ...job, attempt: 2 })).toBe("r: c3: attempt 2");
    expect(describeWorkerEvent({ type: "job-finished", ...job, fitness: 0.123456789, ms: 1500 })).toBe(
      "r: c3: fitness 0.123457 in 1.5s",
    );
    expect(describeWorkerEvent({ type: "connection", state: "lost", detail: "ECONNRESET" })).toBe(
      "connection to Redis lost (ECONNRESET); retrying",
    );
    expect(describeWorkerEvent({ type: "stopping", reason: "SIGINT", active: 2 })).toBe(
      "stopping (SIGINT): 2 running evaluations handed back to the queue; Ctrl-C again to force",
    );
    expect(describeWorkerEvent({ type: "stopped", completed: 1, failed: 0 })).toBe(
      "stopped: 1 evaluation, 0 failed",
    );
    expect([formatFitness(7), formatFitness(2 / 3)]).toEqual(["7", "0.666667"]);
  });

  it("describes the coordinator events a user needs, null for the rest", () => {
    expect(describeCoordinatorEvent({ type: "failed", jobId: "j", candidate: "c1", error: "boom" })).toBe(
      "c1 failed on a worker: boom",
    );
    expect(
      describeCoordinatorEvent({ type: "resubmitted", jobId: "j", candidate: "c1", why: "worker died" }),
    ).toBe("c1 enqueued again: worker died");
    expect(describeCoordinatorEvent({ type: "connection", state: "lost" })).toBe(
      "connection to Redis lost; waiting for it",
    );
    expect(describeCoordinatorEvent({ type: "connection", state: "restored" })).toBe(
      "connection to Redis restored",
    );
    expect(describeCoordinatorEvent({ type: "cancelled", pending: 3 })).toBeNull();
  });
});
