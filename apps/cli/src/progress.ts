/**
 * A dependency-free progress bar for long jobs. On a TTY it redraws one line; elsewhere (CI, pipes)
 * it prints at most one line per `everyMs` so logs stay readable.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Formats the unit of `done`/`total` (e.g. bytes). */
  format?: (n: number) => string;
  stream?: NodeJS.WriteStream;
  everyMs?: number;
}

export class ProgressBar {
  private done = 0;
  private extra = "";
  private lastDraw = 0;
  private readonly start = Date.now();
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && !process.env.CI;
  }

  update(done: number, extra = ""): void {
    this.done = done;
    this.extra = extra;
    const now = Date.now();
    if (now - this.lastDraw >= (this.opts.everyMs ?? (this.tty ? 100 : 5000))) this.draw(now);
  }

  tick(delta = 1, extra = ""): void {
    this.update(this.done + delta, extra);
  }

  finish(extra = ""): void {
    this.done = this.opts.total;
    this.extra = extra || this.extra;
    this.draw(Date.now());
    if (this.tty) this.stream.write("\n");
  }

  private draw(now: number): void {
    this.lastDraw = now;
    const { total, label } = this.opts;
    const fmt = this.opts.format ?? String;
    const frac = total > 0 ? Math.min(1, this.done / total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const secs = (now - this.start) / 1000;
    const eta = frac > 0 && frac < 1 ? ` eta ${((secs * (1 - frac)) / frac).toFixed(0)}s` : "";
    const line = `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${fmt(this.done)}/${fmt(total)} ${(frac * 100).toFixed(0)}% ${secs.toFixed(1)}s${eta}${this.extra ? ` ${this.extra}` : ""}`;
    if (this.tty) this.stream.write(`\r${line}\x1b[K`);
    else this.stream.write(`${line}\n`);
  }
}

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)}${units[i]}`;
}
