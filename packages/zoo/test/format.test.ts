import { describe, expect, it } from "vitest";
import { formatExpertStats, formatModelEvaluation, formatZooSummary } from "../src/index.js";

describe("zoo report formatting", () => {
  it("formats a zoo's summary as one row per task", () => {
    const summary = {
      hash: "h",
      buildSeconds: 12.34,
      createdAt: "",
      tasks: [
        {
          name: "mnist-digits",
          description: "",
          numClasses: 10,
          expertVal: 0.98,
          expertTest: 0.975,
          jointTest: 0.9,
        },
      ],
    };
    expect(formatZooSummary({ dir: "/z", cached: false, summary }).split("\n")).toEqual([
      "zoo built in 12.3 s: /z",
      "task                 classes  expert val  expert test  joint test",
      "mnist-digits              10       98.0%        97.5%       90.0%",
    ]);
    expect(formatZooSummary({ dir: "/z", cached: true, summary })).toMatch(/^zoo loaded from cache: \/z\n/);
  });

  it("formats a model's evaluation with the average last", () => {
    const text = formatModelEvaluation(
      {
        modelDir: "m",
        zooDir: "z",
        headSource: "expert",
        tasks: [
          { name: "a", accuracy: 0.5 },
          { name: "b", accuracy: 1 },
        ],
        average: 0.75,
      },
      "val",
    );
    expect(text.split("\n")).toEqual([
      "model m with the heads of zoo z (val split, expert heads)",
      "task                 accuracy",
      "a                       50.0%",
      "b                      100.0%",
      "average                 75.0%",
    ]);
  });

  it("lists the statistics files written and kept, counting experts once", () => {
    const f = (task: string, kind: "fisher" | "gram", status: "written" | "kept") => ({
      task,
      modelDir: `z/experts/${task}`,
      kind,
      path: `z/experts/${task}/${kind}.safetensors`,
      tensors: 4,
      status,
    });
    const text = formatExpertStats(
      {
        zooDir: "/abs/z",
        samples: 256,
        files: [f("a", "fisher", "written"), f("a", "gram", "kept")],
      },
      "z",
    );
    expect(text.split("\n")).toEqual([
      "wrote z/experts/a/fisher.safetensors (4 tensors)",
      "kept  z/experts/a/gram.safetensors (4 tensors, same settings)",
      "Fisher and Gram files of 1 expert(s), from 256 training images each: x merge --method fisher|regmean --models z/experts/<task> ...",
    ]);
  });
});
