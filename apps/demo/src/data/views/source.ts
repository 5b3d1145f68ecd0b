import type { TourResult } from "../tour-schema.js";

/** Where a panel's numbers come from, shown above the panel. */
export interface SourceInfo {
  readonly file: string;
  readonly kind: "tour" | "bench";
  readonly command: string;
  readonly startedAt: string;
  readonly machine: string;
}

export function tourSource(tour: TourResult, file: string): SourceInfo {
  const m = tour.machine;
  return {
    file,
    kind: "tour",
    command: tour.command,
    startedAt: tour.createdAt,
    machine: `${m.cpu}, ${m.cores} cores, Node ${m.node}, load ${m.loadAverageAtStart.map((x) => x.toFixed(2)).join(" / ")}`,
  };
}

export function benchSource(
  file: string,
  json: { command: string; machine: { cpu?: string; cores?: number } },
  startedAt: string,
): SourceInfo {
  const m = json.machine;
  return {
    file,
    kind: "bench",
    command: json.command,
    startedAt,
    machine: [m.cpu, m.cores ? `${m.cores} cores` : undefined].filter(Boolean).join(", "),
  };
}
