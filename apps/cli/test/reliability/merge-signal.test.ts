// SIGINT / SIGTERM during `x merge`, from the built binary: the merge is caught while it writes (its partial output
// `.OUT.partial-*` and its lock `.OUT.merge-lock` exist), then the signal must remove both, print one line and exit
// 130 / 143; the next run to the same output succeeds without any stale temporary to clean up. The merge is made
// slow deterministically by work, not by timing: Karcher means with a fixed iteration count (tol 0) over 24 tensors.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { openCheckpoint, Tensor, writeShardedSafetensors } from "@x/tensor-core";
import { beforeAll, describe, expect, it } from "vitest";
import { built, lines, tempDir, XProcess, x } from "../integration/helpers.js";

const root = tempDir("x-cli-merge-signal-");
const TENSORS = 24;
const SIDE = 256;

/** Two models of TENSORS tensors [SIDE, SIDE] with distinct, deterministic values. */
async function writeSlowModels(): Promise<string[]> {
  const dirs: string[] = [];
  for (let m = 0; m < 2; m++) {
    const dir = join(root, "in", `m${m}`);
    const specs = [];
    const tensors: [string, Tensor][] = [];
    for (let t = 0; t < TENSORS; t++) {
      const d = new Float32Array(SIDE * SIDE);
      for (let i = 0; i < d.length; i++) d[i] = Math.sin(i * 0.37 + t * 1.3 + m * 2.1);
      const name = `layers.${t}.weight`;
      specs.push({ name, dtype: "F32" as const, shape: [SIDE, SIDE] });
      tensors.push([name, Tensor.fromFloat32("F32", [SIDE, SIDE], d)]);
    }
    await writeShardedSafetensors(dir, specs, tensors, {});
    dirs.push(dir);
  }
  return dirs;
}

let models: string[] = [];
beforeAll(async () => {
  models = await writeSlowModels();
});

const args = (out: string) => [
  "merge",
  "--method",
  "karcher",
  "--models",
  ...models,
  "--out",
  out,
  "--param",
  "max_iter=100",
  "--param",
  "tol=0",
  "--threads",
  "1",
];

/** What lies beside output `name` in `root` (temporaries, the lock) and the output itself. */
const around = (name: string) => readdirSync(root).filter((e) => e === name || e.startsWith(`.${name}.`));

describe.skipIf(!built)("x merge on SIGINT / SIGTERM (built binary)", () => {
  const cases = [
    { how: "SIGINT, piped", signal: "SIGINT", code: 130, tty: false },
    { how: "SIGTERM, piped", signal: "SIGTERM", code: 143, tty: false },
    { how: "Ctrl-C typed on a terminal", signal: "SIGINT", code: 130, tty: true },
  ] as const;
  for (const c of cases) {
    it(`${c.how}: removes the partial output and the lock, exits ${c.code}; the next run succeeds`, async () => {
      const name = `out-${c.signal}-${c.tty ? "tty" : "piped"}`;
      const out = join(root, name);
      const p = new XProcess(args(out), { tty: c.tty });
      // The first progress line comes after the first merged tensor: the merge is writing.
      await p.waitFor(/merge\b.* \d+\/24 tensors/, 120_000, c.tty ? "output" : "errors");
      const during = around(name);
      expect(during).toContain(`.${name}.merge-lock`);
      expect(during.some((e) => e.startsWith(`.${name}.partial-`))).toBe(true);
      if (c.tty) p.type("\x03");
      else p.signal(c.signal);
      const exit = await p.exited;
      expect(exit.code, p.errors + p.output).toBe(c.code);
      const said = lines(c.tty ? p.output : p.errors).at(-1);
      expect(said).toMatch(
        new RegExp(`x merge: interrupted \\(${c.signal}\\); removed the partial output and the lock`),
      );
      if (!c.tty) expect(p.output).toBe("");
      expect(around(name)).toEqual([]);

      const again = x([...args(out), "--quiet"]);
      expect(again.code, again.err).toBe(0);
      // Nothing stale was left for it to take over or remove (it would say so in a note).
      expect(again.err).toBe("");
      expect(around(name)).toEqual([name]);
      const ck = await openCheckpoint(out);
      expect(ck.names()).toHaveLength(TENSORS);
      await ck.close();
      expect(existsSync(join(out, `.${name}.merge-lock`))).toBe(false);
    });
  }
});
