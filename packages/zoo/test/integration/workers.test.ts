import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { IMAGE_SIZE } from "@x/datasets";
import { Rng } from "@x/tensor-core";
import { describe, expect, it } from "vitest";
import { runJob, type TrainJob } from "../../src/jobs.js";
import { initBackbone, initHead, type MlpArch } from "../../src/model.js";

// Worker files must be built JavaScript, so this test drives the built pool (CI builds before testing).
const distPool = fileURLToPath(new URL("../../dist/pool.js", import.meta.url));

describe.skipIf(!existsSync(distPool))("zoo training in worker threads", () => {
  it("gives bit-identical experts and statistics to in-process training", async () => {
    const { runJobs } = (await import(distPool)) as typeof import("../../src/pool.js");
    const arch: MlpArch = { input: IMAGE_SIZE, hidden: [8, 4] };
    const rng = new Rng(2);
    const backbone = initBackbone(arch, rng);
    const jobs: TrainJob[] = [0, 1, 2].map((k) => {
      const n = 48;
      const images = rng.fillUniform(new Float32Array(n * IMAGE_SIZE)) as Float32Array;
      const labels = new Uint8Array(n).map(() => rng.int(3));
      const data = { images, labels, count: n };
      return {
        id: `job${k}`,
        arch,
        backbone,
        tasks: [{ name: `t${k}`, head: initHead(arch, 3, rng), numClasses: 3, train: data, stats: data }],
        options: { epochs: 2, batchSize: 16, lr: 1e-2, seed: `w${k}`, headOnlyEpochs: 1 },
      };
    });
    const steps: string[] = [];
    const viaWorkers = await runJobs(jobs, 2, (id, d, t) => steps.push(`${id}:${d}/${t}`));
    expect(viaWorkers.map((r) => r.id)).toEqual(["job0", "job1", "job2"]);
    for (let k = 0; k < jobs.length; k++) {
      const local = await runJob(jobs[k]!);
      const w = viaWorkers[k]!;
      for (const [name, p] of local.backbone) expect(w.backbone.get(name)!.data).toEqual(p.data);
      expect(w.heads[0]!.weight.data).toEqual(local.heads[0]!.weight.data);
      expect(w.fisher!.get("backbone.fc1.weight")!.data).toEqual(
        local.fisher!.get("backbone.fc1.weight")!.data,
      );
      expect(w.grams!.get("backbone.fc2.weight")!.data).toEqual(
        local.grams!.get("backbone.fc2.weight")!.data,
      );
    }
    expect(steps.some((s) => s.endsWith("6/6"))).toBe(true);
  });
});
