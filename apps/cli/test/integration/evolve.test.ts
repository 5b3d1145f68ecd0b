// `x evolve` reliability from the built binary: every config key checked (nearest key suggested), --resume
// refusing changed settings by name, --eval-timeout, Ctrl-C / SIGTERM (child processes stopped, temporaries
// removed, exit 130 / 143 with the resume command), stale temporaries of dead processes removed on the next
// run, and CMA-ES over merge weights on a terminal and piped.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  built,
  evolvePlayground,
  lines,
  slowScorer,
  tempDir,
  tinyModel,
  XProcess,
  x,
  xTty,
} from "./helpers.js";

const root = tempDir("x-cli-evolve-");
const MERGE =
  "mode: merge\npopulation: [e0, e1, e2]\nbase: base\nmerge: { method: ta, lambda: 0.3 }\ngenerations: 2\nseed: 5";
const CMAES =
  "algorithm: cmaes\npopulation: [e0, e1, e2]\nbase: base\nmerge: { method: ta, lambda: 0.3 }\ncmaes: { max_fevals: 14 }\nseed: 5";

/** Processes whose command line contains `marker` (the evaluator's children). */
function processesWith(marker: string): string[] {
  try {
    return execFileSync("pgrep", ["-f", marker], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

describe.skipIf(!built)("x evolve reliability (built binary)", () => {
  let play: Awaited<ReturnType<typeof evolvePlayground>>;
  beforeAll(async () => {
    play = await evolvePlayground(root);
  });

  it("an unknown key anywhere is one error line naming the nearest valid key (exit 1)", () => {
    const cases: [string, RegExp][] = [
      [MERGE.replace("lambda: 0.3", "lamda: 0.3"), /merge\.lamda: unknown key \(did you mean 'lambda'\?\)/],
      [`${MERGE}\ngeneratoins: 3`, /generatoins: unknown key \(did you mean 'generations'\?\)/],
      [`${MERGE}\nlambda: 2`, /lambda: unknown key \(it belongs under merge:\)/],
      [
        MERGE.replace("lambda: 0.3", "lambda: 0.3, ratio: 0.2"),
        /merge\.ratio: merge method ta does not use it \(used by pcb\)/,
      ],
      [
        CMAES.replace("max_fevals: 14", "max_fevls: 14"),
        /cmaes\.max_fevls: unknown key \(did you mean 'max_fevals'\?\)/,
      ],
      [`${CMAES}\ngenerations: 3`, /generations: applies to algorithm: evolver only/],
      [`${MERGE}\ncmaes: { sigma0: 0.2 }`, /cmaes: applies to algorithm: cmaes only/],
      ["mode: standalone\npopulation: [e0, e1]\nmerge: { method: ta }", /merge: applies to mode: merge only/],
    ];
    cases.forEach(([body, msg], i) => {
      const cfg = play.config(`keys${i}.yml`, body);
      const r = x(["evolve", cfg, join(root, `keys-out-${i}`)]);
      expect(r.code, body).toBe(1);
      expect(lines(r.err), body).toEqual([expect.stringMatching(/^x evolve: EvolveConfigError: /)]);
      expect(r.err, body).toMatch(msg);
    });
    const typoEvaluator = join(root, "ev.yml");
    writeFileSync(typoEvaluator, `${MERGE}\nevaluator:\n  comand: [x, "{model}"]\n`);
    const r = x(["evolve", typoEvaluator, join(root, "ev-out")]);
    expect(r.err).toMatch(/evaluator\.comand: unknown key \(did you mean 'command'\?\)/);
  });

  it("--resume refuses changed settings naming each key (exit 2): merge block, budget, data by digest, evaluator script", async () => {
    const cfg = play.config("resume.yml", MERGE);
    const out = join(root, "resume-out");
    expect(x(["evolve", cfg, out, "-q"]).code).toBe(0);
    const refuse = (body: string, key: RegExp, evaluator?: string) => {
      const r = x(["evolve", play.config("changed.yml", body, evaluator), out, "--resume"]);
      expect(r.code, body).toBe(2);
      expect(lines(r.err)).toHaveLength(1);
      expect(r.err).toMatch(/the checkpoint was written with other settings \(/);
      expect(r.err).toMatch(key);
    };
    refuse(
      MERGE.replace("lambda: 0.3", "lambda: 0.4"),
      /merge\.lambda: 0\.3 in the checkpoint, 0\.4 in this run/,
    );
    refuse(
      MERGE.replace("generations: 2", "generations: 3"),
      /generations: 2 in the checkpoint, 3 in this run/,
    );
    refuse(MERGE.replace("seed: 5", "seed: 6"), /seed: 5 in the checkpoint, 6 in this run/);
    refuse(
      MERGE.replace("method: ta, lambda: 0.3", "method: dare, lambda: 0.3"),
      /merge\.method: "ta" in the checkpoint, "dare" in this run/,
    );
    // a population member whose weights changed (same path): named by its digest
    const moved = join(root, "resume-data");
    mkdirSync(moved);
    for (const d of ["base", "e0", "e1", "e2"]) cpSync(join(root, d), join(moved, d), { recursive: true });
    const cfg2 = join(moved, "cfg.yml");
    writeFileSync(cfg2, readFileSync(cfg, "utf8"));
    const out2 = join(moved, "out");
    expect(x(["evolve", cfg2, out2, "-q"]).code).toBe(0);
    await tinyModel(join(moved, "e1"), 99, 0.4);
    const r = x(["evolve", cfg2, out2, "--resume"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /data\.population\[1\]: "sha256:[0-9a-f]{16}" in the checkpoint, "sha256:[0-9a-f]{16}" in this run/,
    );
    // the evaluator script (an argument naming a file) is part of the fingerprint by digest
    const script = join(root, "score-copy.mjs");
    const { SCORER } = await import("./helpers.js");
    writeFileSync(script, readFileSync(SCORER));
    const cfg3 = play.config("script.yml", MERGE, JSON.stringify([process.execPath, script, "{model}"]));
    const out3 = join(root, "script-out");
    expect(x(["evolve", cfg3, out3, "-q"]).code).toBe(0);
    writeFileSync(script, `${readFileSync(SCORER, "utf8")}\n// changed\n`);
    const s = x(["evolve", cfg3, out3, "--resume"]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/evaluator\.files\./);
    // unchanged settings resume (a finished run: same model)
    const model = readFileSync(join(out, "model", "model.safetensors"));
    expect(x(["evolve", cfg, out, "--resume", "-q"]).code).toBe(0);
    expect(readFileSync(join(out, "model", "model.safetensors")).equals(model)).toBe(true);
  });

  it("--eval-timeout: a slow candidate fails naming it, its process is stopped, exit 1 with the resume hint", () => {
    const cfg = play.config("timeout.yml", MERGE, slowScorer(41));
    const out = join(root, "timeout-out");
    const r = x(["evolve", cfg, out, "--eval-timeout", "0.5"]);
    expect(r.code).toBe(1);
    expect(lines(r.err)).toEqual([
      expect.stringMatching(
        /^x evolve: EvaluationTimeoutError: evaluation of candidate 1 exceeded the 500 ms timeout \(--eval-timeout\); the run stopped at its last checkpoint: --resume retries it$/,
      ),
    ]);
    expect(processesWith("sleep 41")).toEqual([]);
    expect(readdirSync(out).filter((e) => e.startsWith("."))).toEqual([]);
    const help = x(["evolve", "--help"]);
    expect(help.out).toMatch(
      /--eval-timeout <s>\s+time limit of one evaluation in seconds: a\s+candidate exceeding it fails/,
    );
  });

  for (const [how, sig, code] of [
    ["Ctrl-C on a terminal", "SIGINT", 130],
    ["SIGINT piped", "SIGINT", 130],
    ["SIGTERM", "SIGTERM", 143],
  ] as const) {
    it(`${how}: the evaluator's processes stop, temporaries are removed, exit ${code} with the resume command`, async () => {
      const marker = `sleep 4${code}${how.length}`;
      const cfg = play.config(
        `int-${code}-${how.length}.yml`,
        MERGE,
        JSON.stringify(`${marker}; echo 1 {model}`),
      );
      const out = join(root, `int-out-${code}-${how.length}`);
      const tty = how.includes("terminal");
      const p = new XProcess(["evolve", cfg, out], { tty });
      const deadline = Date.now() + 30_000;
      while (processesWith(marker).length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(processesWith(marker).length).toBeGreaterThan(0);
      expect(readdirSync(out).some((e) => e.startsWith(".candidates-"))).toBe(true);
      if (tty) p.type("\x03");
      else p.signal(sig);
      const exit = await p.exited;
      expect(exit.code).toBe(code);
      const text = tty ? p.output : p.errors;
      expect(text).toMatch(
        new RegExp(`x evolve: interrupted \\(${sig}\\); no checkpoint yet: resume with x evolve .* --resume`),
      );
      expect(processesWith(marker)).toEqual([]);
      expect(readdirSync(out).filter((e) => e.startsWith("."))).toEqual([]);
    });
  }

  it("the next run removes temporaries of dead processes and says so", () => {
    const cfg = play.config("stale.yml", MERGE);
    const out = join(root, "stale-out");
    mkdirSync(out);
    // a process that no longer exists (pid 2^22 - 1 is above Linux's default pid_max)
    const host = hostname().replace(/[^A-Za-z0-9]/g, "_");
    const dead = join(out, `.candidates-${host}-4194303-abcdef`);
    mkdirSync(join(dead, "c0"), { recursive: true });
    writeFileSync(join(dead, "c0", "model.safetensors"), "half-written");
    const otherHost = join(out, ".candidates-someotherhost-4194303-abcdef");
    mkdirSync(otherHost);
    const r = x(["evolve", cfg, out, "--resume"]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(
      new RegExp(
        `^x evolve: removed 1 stale temporary of dead processes: \\.candidates-${host}-4194303-abcdef$`,
        "m",
      ),
    );
    expect(r.err).toMatch(/^x evolve: no checkpoint in .* yet: starting from the beginning$/m);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(otherHost)).toBe(true); // another machine's: never touched
  });

  it("CMA-ES: a bar on a terminal, plain lines piped, the best weights in --json; resumes to the same model", () => {
    const cfg = play.config("cmaes.yml", CMAES);
    const tty = xTty(["evolve", cfg, join(root, "cma-tty")]);
    expect(tty.code, tty.out).toBe(0);
    expect(tty.out).toMatch(/evolve \[#+-*\] .*100%/);
    expect(tty.out).toMatch(/^dev score -?\d.* \(merge with the best weights\), 14 evaluations; wrote /m);
    const piped = x(["evolve", cfg, join(root, "cma-piped"), "--json"]);
    expect(piped.code, piped.err).toBe(0);
    const doc = JSON.parse(piped.out);
    expect(doc).toMatchObject({ algorithm: "cmaes", evaluations: 14, weights: { groups: ["all"] } });
    expect(doc.weights.values[0]).toHaveLength(3);
    for (const w of doc.weights.values[0]) expect(w).toBeGreaterThanOrEqual(0);
    const a = readFileSync(join(root, "cma-tty", "model", "model.safetensors"));
    expect(readFileSync(join(root, "cma-piped", "model", "model.safetensors")).equals(a)).toBe(true);
    expect(x(["evolve", cfg, join(root, "cma-piped"), "--resume", "-q"]).code).toBe(0);
    expect(readFileSync(join(root, "cma-piped", "model", "model.safetensors")).equals(a)).toBe(true);
  });

  it("bad flags are usage errors (exit 2, one line)", () => {
    const cfg = play.config("flags.yml", MERGE);
    const cases: [string[], RegExp][] = [
      [["evolve", cfg, join(root, "f1"), "--lookahead", "0"], /--lookahead <n>.*invalid/],
      [["evolve", cfg, join(root, "f2"), "--eval-timeout", "-1"], /--eval-timeout <s>.*invalid/],
      [["evolve", cfg, join(root, "f3"), "--shared-dir", "/tmp"], /--shared-dir needs --redis/],
      [["evolve", cfg, join(root, "f4"), "--redis", "ftp://h:1"], /unsupported Redis URL scheme ftp:/],
      [
        ["evolve", cfg, join(root, "never-ran"), "--resume"],
        /no checkpoint to resume from \(it does not exist\)/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = x(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err), args.join(" ")).toEqual([expect.stringMatching(msg)]);
    }
  });
});
