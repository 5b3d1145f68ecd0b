/**
 * The one progress module of `x`. On a terminal a bar redraws in place with percent, elapsed time and ETA; when
 * stderr is piped (CI, logs) it prints a plain line at most every 5 s plus the final one; with --quiet nothing.
 * Drawing is synchronous and throttled, so a bar also moves during long synchronous computations (a library that
 * renders from a timer cannot). Everything goes to stderr: stdout stays for results (and --json).
 */
import { formatSeconds } from "@x/tensor-core";

export interface BarOptions {
  readonly label: string;
  readonly total: number;
  /** Formats `done` / `total` (e.g. bytes). */
  readonly format?: (n: number) => string;
  readonly stream?: NodeJS.WriteStream;
}

const TTY_EVERY_MS = 100;
const PIPED_EVERY_MS = 5000;

/** Whether a bar may redraw in place on `stream`: a terminal, and not in CI. */
const isTerminal = (stream: NodeJS.WriteStream): boolean => Boolean(stream.isTTY) && !process.env.CI;

export class ProgressBar {
  private done = 0;
  private extra = "";
  private lastDraw = 0;
  private finished = false;
  private readonly start = Date.now();
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly opts: BarOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = isTerminal(this.stream);
  }

  update(done: number, extra = ""): void {
    if (this.finished) return;
    this.done = done;
    this.extra = extra;
    const now = Date.now();
    if (now - this.lastDraw >= (this.tty ? TTY_EVERY_MS : PIPED_EVERY_MS)) this.draw(now);
  }

  finish(extra = ""): void {
    if (this.finished) return;
    this.finished = true;
    this.done = Math.max(this.done, this.opts.total);
    this.extra = extra || this.extra;
    this.draw(Date.now());
    if (this.tty) this.stream.write("\n");
  }

  /** Ends the bar without claiming completion (the job failed or stopped early). */
  stop(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.tty && this.lastDraw > 0) this.stream.write("\n");
  }

  private draw(now: number): void {
    this.lastDraw = now;
    const { total, label } = this.opts;
    const fmt = this.opts.format ?? String;
    const frac = total > 0 ? Math.min(1, this.done / total) : 1;
    const secs = (now - this.start) / 1000;
    // An estimate from under a second of work is noise: show it from 1 s on.
    const eta = frac > 0 && frac < 1 && secs >= 1 ? ` eta ${formatSeconds((secs * (1 - frac)) / frac)}` : "";
    const counts = `${fmt(this.done)}/${fmt(total)} ${(frac * 100).toFixed(0)}% ${formatSeconds(secs)}${eta}`;
    const tail = this.extra ? ` ${this.extra}` : "";
    if (this.tty) {
      const width = 24;
      const filled = Math.round(frac * width);
      this.stream.write(
        `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${counts}${tail}\x1b[K`,
      );
    } else this.stream.write(`${label}: ${counts}${tail}\n`);
  }
}

/** A reporter for a job with phases: whatever order events come in, a new label starts a new bar. */
export interface Progress {
  update(label: string, done: number, total: number, extra?: string, format?: (n: number) => string): void;
  /** Completes the open bar (the job succeeded). */
  finish(): void;
  /** Ends the open bar without completing it; safe to call after `finish` (use in `finally`). */
  stop(): void;
}

export function createProgress(quiet: boolean): Progress {
  if (quiet) return { update: () => {}, finish: () => {}, stop: () => {} };
  let bar: ProgressBar | undefined;
  let current = "";
  return {
    update(label, done, total, extra = "", format) {
      if (!bar || label !== current) {
        bar?.finish();
        bar = new ProgressBar({ label, total, format });
        current = label;
      }
      if (done >= total) {
        bar.finish(extra);
        bar = undefined;
      } else bar.update(done, extra);
    },
    finish() {
      bar?.finish();
      bar = undefined;
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** A line on stderr that does not break a progress bar on a terminal (the bar redraws below it). */
export function note(quiet: boolean, line: string): void {
  if (quiet) return;
  process.stderr.write(isTerminal(process.stderr) ? `\r\x1b[K${line}\n` : `${line}\n`);
}

/**
 * A bar over the units this process runs: its first report sets the start, so after a resume the bar counts
 * (and the ETA extrapolates) only the remaining work.
 */
export function resumableBar(quiet: boolean, label: string) {
  let bar: ProgressBar | undefined;
  let offset = 0;
  return {
    update(done: number, total: number, extra: string): void {
      if (quiet) return;
      if (!bar) {
        offset = done - 1;
        bar = new ProgressBar({ label, total: total - offset });
      }
      if (done >= total) {
        bar.finish(extra);
        bar = undefined;
      } else bar.update(done - offset, extra);
    },
    stop: () => bar?.stop(),
  };
}

/**
 * A log with a status line: `log` prints a line; on a terminal the status line stays below the log, redrawn
 * in place by `status` (at most every 100 ms unless forced); elsewhere there is no status line, only the log.
 */
export class StatusLog {
  private current = "";
  private lastDraw = 0;
  readonly tty: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    this.tty = isTerminal(stream);
  }

  log(line: string): void {
    if (this.tty && this.current) this.stream.write(`\r\x1b[K${line}\n${this.current}`);
    else this.stream.write(`${line}\n`);
  }

  status(line: string, force = false): void {
    if (!this.tty) return;
    this.current = line;
    const now = Date.now();
    if (!force && now - this.lastDraw < TTY_EVERY_MS) return;
    this.lastDraw = now;
    this.stream.write(`\r\x1b[K${line}`);
  }

  /** Removes the status line (before the program ends). */
  clear(): void {
    if (this.tty && this.current) this.stream.write("\r\x1b[K");
    this.current = "";
  }
}
