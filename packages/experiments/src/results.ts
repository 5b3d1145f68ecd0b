/** What every experiment shares: the machine it ran on, and writing its result files without half-written output. */
import { mkdirSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { writeFileAtomicSync } from "@x/tensor-core";

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  /** 1, 5 and 15-minute load averages when the run started (the cores are shared with other jobs). */
  readonly loadAverageAtStart: number[];
  readonly memoryGiB: number;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  };
}

/** Progress and log lines of a long experiment; every hook is optional. */
export interface ExperimentHooks {
  /** One line of narration (a finished seed, a method's tuned score). */
  readonly log?: (message: string) => void;
  /** Progress of a phase: `done` of `total` units. */
  readonly progress?: (phase: string, done: number, total: number) => void;
}

/**
 * Writes `<dir>/<name><suffix>` for each `[suffix, text]` (suffix ".json", ".md", "-curves.svg", ...): each file
 * goes to a temporary name first and is renamed into place, so a crash never leaves a half-written result.
 * Returns the paths written.
 */
export function writeResultFiles(dir: string, name: string, files: readonly [string, string][]): string[] {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  return files.map(([suffix, text]) => {
    const file = join(out, `${name}${suffix}`);
    writeFileAtomicSync(file, text);
    return file;
  });
}
