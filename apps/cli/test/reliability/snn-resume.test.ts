// kill -9 at random moments, then the same command again (with --resume), until it finishes: `x snn train` and
// `x snn cade` (population build + DE) end with the bytes of an uninterrupted run's checkpoint and the same JSON
// result, and leave no temporary file behind. Toy scale on real Fashion-MNIST images; the kill times are seeded.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "@x/tensor-core";
import { beforeAll, describe, expect, it } from "vitest";
import { built, tempDir } from "../integration/helpers.js";
import { runX, writeFashionFile } from "../integration/snn-helpers.js";

const root = tempDir("x-cli-snn-kill-");
const SOURCE = join(root, "source.safetensors");
const TARGET = join(root, "target.safetensors");
/** Trials that must be killed mid-run, per command. */
const INTERRUPTED = 5;
const MAX_ATTEMPTS = 14;

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** The result document without what differs between runs by design (timings, whether it resumed, the path). */
function stable(out: string): unknown {
  const { elapsedMs: _e, resumed: _r, out: _o, ...rest } = JSON.parse(out) as Record<string, unknown>;
  return rest;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) =>
    statSync(join(dir, f)).isDirectory() ? files(join(dir, f)).map((g) => join(f, g)) : [f],
  );
}

/**
 * Reference run, then trials: each starts the command in a fresh directory, kills it at a random moment,
 * and runs it again until it exits 0 (a second kill in every other trial). Returns the counts.
 */
async function killAndResume(name: string, command: (dir: string) => string[]) {
  const ref = await runX(command(join(root, `${name}-ref`)));
  expect(ref.code, ref.err).toBe(0);
  const refBytes = sha(join(root, `${name}-ref`, "out.safetensors"));
  const refDoc = stable(ref.out);
  const rng = new Rng(`kill-${name}`);
  let interrupted = 0;
  let finishedFirst = 0;
  let kills = 0;
  let resumes = 0;
  const at: string[] = [];
  for (let attempt = 0; attempt < MAX_ATTEMPTS && interrupted < INTERRUPTED; attempt++) {
    const dir = join(root, `${name}-${attempt}`);
    const args = command(dir);
    const when = 0.1 + 0.85 * rng.uniform();
    const first = await runX(args, { killAfterMs: ref.ms * when });
    if (first.signal !== "SIGKILL") {
      expect(first.code, first.err).toBe(0);
      finishedFirst++;
      continue;
    }
    interrupted++;
    kills++;
    at.push(`${Math.round(100 * when)}%`);
    let last = first;
    for (let k = 0; last.code !== 0; k++) {
      expect(k, `${name} trial ${attempt} does not finish`).toBeLessThan(4);
      const again = await runX(args, {
        killAfterMs: k === 0 && interrupted % 2 === 0 ? ref.ms * rng.uniform() : undefined,
      });
      if (again.signal === "SIGKILL") kills++;
      else {
        expect(again.code, again.err).toBe(0);
        resumes++;
      }
      last = again;
    }
    expect(sha(join(dir, "out.safetensors")), `${name} trial ${attempt}`).toBe(refBytes);
    expect(stable(last.out), `${name} trial ${attempt}`).toEqual(refDoc);
    expect(files(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  }
  console.log(
    `x snn ${name}: ${interrupted} trials killed mid-run (first kill at ${at.join(", ")} of the uninterrupted run's ${ref.ms} ms; ${kills} SIGKILLs, ${resumes} resumed runs), ${finishedFirst} finished before the kill; every final checkpoint and JSON result identical to the uninterrupted run`,
  );
  expect(interrupted).toBe(INTERRUPTED);
  return { interrupted, kills, resumes };
}

beforeAll(async () => {
  await writeFashionFile(SOURCE, [5, 7, 8, 9], 60, 1);
  await writeFashionFile(TARGET, [0, 1, 2], 80, 2);
});

describe.skipIf(!built)("kill -9 and --resume (built binary)", () => {
  it("x snn train: the final checkpoint and result equal an uninterrupted run's", async () => {
    await killAndResume("train", (dir) => [
      "snn",
      "train",
      "--data",
      SOURCE,
      "--hidden",
      "32",
      "--blocks",
      "1",
      "--batch-size",
      "8",
      "--epochs",
      "3",
      "--val-per-class",
      "10",
      "--keep-best",
      "--shift",
      "1",
      "--erasing",
      "0.3",
      "--mixup",
      "0.2",
      "--label-smoothing",
      "0.1",
      "--checkpoint-every",
      "3",
      "--checkpoint-dir",
      join(dir, "ck"),
      "--resume",
      "--out",
      join(dir, "out.safetensors"),
      "--json",
    ]);
  }, 900_000);

  it("x snn cade: population build and DE, killed anywhere, end with the uninterrupted run's model and result", async () => {
    const src = join(root, "src.safetensors");
    const pre = await runX([
      "snn",
      "train",
      "--data",
      SOURCE,
      "--hidden",
      "32",
      "--blocks",
      "1",
      "--batch-size",
      "16",
      "--out",
      src,
      "-q",
    ]);
    expect(pre.code, pre.err).toBe(0);
    await killAndResume("cade", (dir) => [
      "snn",
      "cade",
      "--source",
      src,
      "--data",
      TARGET,
      "--size",
      "4",
      "--member-epochs",
      "1",
      "--batch-size",
      "16",
      "--val-per-class",
      "20",
      "--fitness-size",
      "180",
      "--generations",
      "60",
      "--f0",
      "0.05",
      "--checkpoint-dir",
      join(dir, "ck"),
      "--resume",
      "--out",
      join(dir, "out.safetensors"),
      "--json",
    ]);
  }, 900_000);
});
