/**
 * Helpers for speculative evaluation (building and evaluating the next children while earlier decisions are
 * pending). Buffers handed to an evaluation are leased: a buffer becomes reusable only once every evaluation
 * that may still read it has settled, so a rebuilt child never overwrites bytes an abandoned evaluation is
 * reading.
 */
export class Leases {
  private readonly free: number[];
  private readonly waiting = new Set<Promise<void>>();

  constructor(ids: Iterable<number>) {
    this.free = [...ids].reverse();
  }

  /** A free id, waiting for one when all are held or draining. */
  async take(): Promise<number> {
    while (this.free.length === 0) {
      if (this.waiting.size === 0) throw new Error("speculation: no buffer free and none draining");
      await Promise.race(this.waiting);
    }
    return this.free.pop()!;
  }

  /** Return an id once the given evaluations (those that may read its buffer) have settled. */
  release(id: number, readers: Iterable<Promise<unknown>> = []): void {
    const list = [...readers];
    if (list.length === 0) {
      this.free.push(id);
      return;
    }
    const ready: Promise<void> = Promise.allSettled(list).then(() => {
      this.waiting.delete(ready);
      this.free.push(id);
    });
    this.waiting.add(ready);
  }
}

/** Evaluations in flight (including abandoned ones), so buffers can wait for their readers. */
export class InFlight {
  readonly all = new Set<Promise<unknown>>();
  /** Started and later thrown away because an earlier decision changed their inputs. */
  discarded = 0;

  track<T>(p: Promise<T>): Promise<T> {
    this.all.add(p);
    const done = (): void => {
      this.all.delete(p);
    };
    p.then(done, done);
    return p;
  }

  async settle(): Promise<void> {
    await Promise.allSettled([...this.all]);
  }
}
