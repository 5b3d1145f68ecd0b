// Child processes for the multi-process tests: line-buffered output, waiting for a line, killing.
import { type ChildProcess, spawn } from "node:child_process";

export class Proc {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  private partial = "";

  constructor(script: string, args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    this.child.stdout!.on("data", (d: Buffer) => {
      const text = this.partial + d.toString();
      const parts = text.split("\n");
      this.partial = parts.pop() ?? "";
      for (const line of parts) {
        this.lines.push(line);
        for (const w of [...this.waiters]) {
          if (w.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.on("close", (code, signal) => resolve({ code, signal })),
    );
  }

  /** Resolves with the first line (already seen or future) that passes `test`. */
  waitFor(test: (line: string) => boolean, timeoutMs = 60_000, what = "a line"): Promise<string> {
    const have = this.lines.find(test);
    if (have !== undefined) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${what}; output:\n${this.lines.slice(-30).join("\n")}\n${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  }

  /** The n-th (1-based) line passing `test`, waiting for it. */
  async waitForCount(test: (line: string) => boolean, n: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.filter(test).length < n) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${n} lines; output:\n${this.lines.slice(-30).join("\n")}`);
      if (this.child.exitCode !== null)
        throw new Error(`process exited early:\n${this.lines.slice(-30).join("\n")}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  events(): { type: string; [k: string]: unknown }[] {
    return this.lines.flatMap((l) => {
      const j = l.startsWith("EVENT ") ? l.slice(6) : l;
      if (!j.startsWith("{")) return [];
      try {
        return [JSON.parse(j)];
      } catch {
        return [];
      }
    });
  }

  result(): {
    digest: string;
    fitness: number[];
    evaluations: number;
    history: unknown[];
    stats: Record<string, number> | null;
  } {
    const line = this.lines.find((l) => l.startsWith("RESULT "));
    if (!line)
      throw new Error(`no RESULT line; output:\n${this.lines.slice(-30).join("\n")}\n${this.stderr}`);
    return JSON.parse(line.slice(7));
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
