// Slices with a tokenizer merge on worker threads, through the built package (worker scripts run only
// from the build): the bytes equal a one-thread run's (the unit tests check one thread's fused and
// general paths against each other and against the references).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mergeCheckpoints, parseMergeConfig } from "@x/merging";
import { openCheckpoint } from "@x/tensor-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { fineTune, llamaWeights, SLICES_TOKENIZER_YAML, writeLlama } from "../fixtures/llama.js";

let root: string;
const SPEC = { layers: 4 };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "x-slices-threads-"));
  const a = await writeLlama(join(root, "a"), SPEC, llamaWeights(SPEC, 1));
  await writeLlama(join(root, "b"), SPEC, fineTune(a, 2, 0.01));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function bytesOf(dir: string): Promise<Map<string, Uint8Array>> {
  const ck = await openCheckpoint(dir);
  const out = new Map<string, Uint8Array>();
  for (const n of ck.names()) out.set(n, await ck.readBytes(n));
  await ck.close();
  return out;
}

it("slices with a tokenizer merge: two worker threads write the bytes of one", async () => {
  const config = parseMergeConfig(SLICES_TOKENIZER_YAML);
  const one = await mergeCheckpoints(config, join(root, "one"), { baseDir: root });
  const two = await mergeCheckpoints(config, join(root, "two"), { baseDir: root, threads: 2 });
  expect(one.threads).toBe(1);
  expect(two.threads).toBe(2);
  const want = await bytesOf(join(root, "one"));
  expect(want.size).toBeGreaterThan(0);
  expect(await bytesOf(join(root, "two"))).toEqual(want);
});
