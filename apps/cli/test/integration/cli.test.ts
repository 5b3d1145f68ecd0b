// The behaviours every command shares, checked on the built binary: version, help with examples for every group
// and command, usage errors (unknown option, missing argument, bad value) as one line with exit 2, runtime errors
// as one line with exit 1 (the stack only with --verbose), --json where results are printed.
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram, VERSION } from "../../src/main.js";
import { built, lines, x } from "./helpers.js";

function walk(c: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return [{ path, cmd: c }, ...c.commands.flatMap((s) => walk(s, [...path, s.name()]))];
}

const program = await buildProgram("all");
const all = walk(program).filter((e) => e.cmd.name() !== "help");
const leaves = all.filter((e) => e.cmd.commands.length === 0 && e.path.length > 0);

describe.skipIf(!built)("x, every command", () => {
  it("x --version and -V print the package version", () => {
    for (const flag of ["--version", "-V"]) {
      const r = x([flag]);
      expect(r.code).toBe(0);
      expect(r.out.trim()).toBe(VERSION);
    }
  });

  it("x --help lists every top-level command", () => {
    const r = x(["--help"]);
    expect(r.code).toBe(0);
    for (const c of program.commands) expect(r.out).toMatch(new RegExp(`^  ${c.name()}\\b`, "m"));
  });

  it("every group and command has --help with examples; groups list their subcommands", () => {
    for (const { path, cmd } of all) {
      const r = x([...path, "--help"]);
      expect(r.code, path.join(" ")).toBe(0);
      expect(r.out, path.join(" ")).toMatch(/^Examples:\n {2}\$ x/m);
      for (const sub of cmd.commands)
        expect(r.out, path.join(" ")).toMatch(new RegExp(`^  ${sub.name()}\\b`, "m"));
    }
    // `x help <group>` works like `x <group> --help`
    expect(x(["help", "grid"]).out).toBe(x(["grid", "--help"]).out);
  });

  it("an unknown option is one line and exit 2, for every command", () => {
    // Required options are given (commander reports a missing one first).
    const required: Record<string, string[]> = {
      "safetensors convert": ["--dtype", "BF16"],
      "grid simulate": ["--out", "x.csv"],
      "grid identify": ["--out", "m.json"],
      "grid evaluate": ["--truth", "ieee13"],
      "extract-lora": ["--model", "m", "--base", "b", "--out", "o"],
    };
    for (const { path } of leaves) {
      const r = x([...path, ...(required[path.join(" ")] ?? []), "--no-such-option"]);
      expect(r.code, path.join(" ")).toBe(2);
      expect(lines(r.err), path.join(" ")).toEqual([
        `x ${path.join(" ")}: unknown option '--no-such-option' (see x ${path.join(" ")} --help)`,
      ]);
      expect(r.out).toBe("");
    }
  });

  it("a missing argument is one line and exit 2", () => {
    const cases = [
      ["safetensors", "inspect"],
      ["safetensors", "convert", "a"],
      ["zoo", "eval"],
      ["grid", "identify"],
      ["grid", "evaluate"],
      ["grid", "simulate"],
      ["safetensors", "convert", "a", "b"],
      ["grid", "evaluate", "model.json"],
      ["evolve", "only-config.yml"],
      ["merge", "only-config.yml"],
    ];
    for (const args of cases) {
      const r = x(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err), args.join(" ")).toHaveLength(1);
      expect(r.err, args.join(" ")).toMatch(
        /missing required argument|required option|expected CONFIG\.yml and OUT_DIR/,
      );
    }
  });

  it("a bad value is one line and exit 2, naming the option", () => {
    const cases: [string[], RegExp][] = [
      [["zoo", "build", "--tasks", "9"], /--tasks <n>.*'9' is invalid/],
      [["zoo", "eval", "m", "--split", "train"], /--split.*Allowed choices are test, val/],
      [["grid", "simulate", "--out", "x.csv", "--samples", "-3"], /--samples <n>.*'-3' is invalid/],
      [["grid", "identify", "x.csv", "--out", "m.json", "--method", "l1"], /--method.*Allowed choices/],
      [
        ["grid", "evaluate", "m.json", "--truth", "ieee13", "--contract-drop", "-1"],
        /--contract-drop.*invalid/,
      ],
      [["safetensors", "convert", "a", "b", "--dtype", "F12"], /unknown dtype 'F12'/],
      [["bench", "merging", "--optimizer", "rmsprop"], /--optimizer.*Allowed choices are adam, sgd/],
      [["bench", "merging", "--methods", "pcb,nope"], /unknown method 'nope'/],
      [["bench", "merging", "--lambdas", "0.2..0.1:0.1"], /bad range/],
      [["bench", "evolver", "--seeds", "1,x"], /--seeds.*invalid/],
      [["bench", "grid", "--only", "everything"], /--only.*Allowed choices are lp, exact, topology/],
      [["quickstart", "--seed", "minus"], /--seed <n>.*invalid/],
      [
        ["merge", "--method", "pcb", "--models", "a", "--out", "o", "--threads", "many"],
        /--threads.*invalid/,
      ],
    ];
    for (const [args, msg] of cases) {
      const r = x(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err), args.join(" ")).toHaveLength(1);
      expect(r.err, args.join(" ")).toMatch(msg);
    }
  });

  it("an unknown command is one line and exit 2", () => {
    for (const args of [["frobnicate"], ["grid", "frobnicate"], ["bench", "snn"]]) {
      const r = x(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(lines(r.err)).toHaveLength(1);
      expect(r.err).toMatch(/unknown command 'frobnicate'|unknown command 'snn'/);
    }
  });

  it("a runtime error is one line naming what failed, exit 1; --verbose adds the stack", () => {
    const cases = [
      ["safetensors", "inspect", "/nonexistent/model.safetensors"],
      ["grid", "evaluate", "/nonexistent/model.json", "--truth", "ieee13"],
      ["zoo", "eval", "/nonexistent/model"],
      ["bench", "evolver", "--render", "/nonexistent/report.json"],
    ];
    for (const args of cases) {
      const r = x(args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(lines(r.err), args.join(" ")).toHaveLength(1);
      expect(r.err, args.join(" ")).toMatch(new RegExp(`^x ${args[0]}( \\w+)?: .*nonexistent`));
      const v = x([...args, "--verbose"]);
      expect(v.code).toBe(1);
      expect(v.err).toMatch(/\n\s+at /);
    }
  });
});
