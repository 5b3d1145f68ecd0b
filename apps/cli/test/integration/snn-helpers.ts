// For the x snn tests: toy data files of real Fashion-MNIST images, and x as a child process that a test stops
// with a signal at a chosen moment.
import { loadFashion, selectClasses, subset } from "@x/datasets";
import { Rng, saveSafetensors, Tensor } from "@x/tensor-core";
import { XProcess } from "./helpers.js";

/** Writes `perClass` seeded images of each of `classes` as a safetensors data file (images F32, labels U8). */
export async function writeFashionFile(
  file: string,
  classes: number[],
  perClass: number,
  seed: number,
): Promise<void> {
  const set = selectClasses(loadFashion(200), classes);
  const pick = subset(
    set,
    Array.from(new Rng(seed).sampleWithoutReplacement(set.count, perClass * classes.length)),
  );
  await saveSafetensors(file, {
    images: new Tensor("F32", [pick.count, 784], pick.images),
    labels: new Tensor("U8", [pick.count], pick.labels),
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
}

/**
 * `x ...args` piped, without blocking the test's event loop; sent `signal` (default SIGKILL) after
 * `killAfterMs`, or as soon as `killWhen()` holds (polled every 20 ms), once, if it is still running.
 */
export async function runX(
  args: readonly string[],
  o: {
    env?: NodeJS.ProcessEnv;
    killAfterMs?: number;
    killWhen?: () => boolean;
    signal?: NodeJS.Signals;
  } = {},
): Promise<Exit> {
  const t0 = Date.now();
  const p = new XProcess(args, { env: o.env });
  let sent = false;
  const kill = () => {
    if (!sent && p.child.exitCode === null) p.signal(o.signal ?? "SIGKILL");
    sent = true;
  };
  const timer = o.killAfterMs === undefined ? null : setTimeout(kill, o.killAfterMs);
  const poll = o.killWhen ? setInterval(() => o.killWhen!() && kill(), 20) : null;
  const { code, signal } = await p.exited;
  if (timer) clearTimeout(timer);
  if (poll) clearInterval(poll);
  return { code, signal, out: p.output, err: p.errors, ms: Date.now() - t0 };
}
