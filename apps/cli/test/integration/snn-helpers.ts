// For the x snn tests: toy data files of real Fashion-MNIST images, and x as a child process that a test can
// kill with SIGKILL.
import { spawn } from "node:child_process";
import { loadFashion, selectClasses, subset } from "@x/datasets";
import { Rng, saveSafetensors, Tensor } from "@x/tensor-core";
import { BIN } from "./helpers.js";

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
 * `x ...args` piped, without blocking the test's event loop; SIGKILLed after `killAfterMs`, or as soon as
 * `killWhen()` holds (polled every 20 ms), if it is still running.
 */
export function runX(
  args: readonly string[],
  o: { env?: NodeJS.ProcessEnv; killAfterMs?: number; killWhen?: () => boolean } = {},
): Promise<Exit> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...o.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const kill = () => child.kill("SIGKILL");
    const timer = o.killAfterMs === undefined ? null : setTimeout(kill, o.killAfterMs);
    const poll = o.killWhen ? setInterval(() => o.killWhen!() && kill(), 20) : null;
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ code, signal, out, err, ms: Date.now() - t0 });
    });
  });
}
