// The key rule of OptionsOf (src/kit.ts) against commander's own: every option of every `x` command is stored
// under the key its flags give at the type level (the long name in camelCase, without a leading "no-").
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/main.js";

const keyOf = (flags: string): string => {
  const long = /--([^\s,]+)/.exec(flags)?.[1] ?? "";
  return long.replace(/^no-/, "").replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
};

const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];

describe("OptionsOf's key rule", () => {
  it("names every option of every command as commander stores it", async () => {
    const program = await buildProgram("all");
    let options = 0;
    for (const cmd of all(program))
      for (const o of cmd.options) {
        expect(o.attributeName(), `${cmd.name()} ${o.flags}`).toBe(keyOf(o.flags));
        options++;
      }
    expect(options).toBeGreaterThan(150);
  });
});
