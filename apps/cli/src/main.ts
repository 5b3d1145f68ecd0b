/**
 * The `x` program: one commander tree. Usage errors (unknown option, missing argument, bad value) print one line
 * and exit 2; runtime errors print one line naming what failed and exit 1 (the stack with --verbose).
 */
import { readFileSync } from "node:fs";
import { type Command, CommanderError } from "commander";
import { COMMANDS } from "./commands/index.js";
import { defineCommand, ExitError, UsageError } from "./kit.js";

export const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

/** The program with the named top-level commands fully built (`"all"` for docs) and the rest as summaries. */
export async function buildProgram(load: readonly string[] | "all"): Promise<Command> {
  const program = defineCommand("x", "x: model merging, evolution and grid identification from one command", [
    "x quickstart",
    "x merge --method pcb --base base/ --models a/ b/ --out merged/",
    "x grid --help",
  ])
    .version(VERSION, "-V, --version", "print the version")
    .option("--verbose", "print the stack trace of an error")
    .helpCommand("help [command]", "help for a command");
  for (const entry of COMMANDS) {
    if (load === "all" || load.includes(entry.name)) program.addCommand((await entry.load()).build());
    else program.command(entry.name).summary(entry.summary).description(entry.summary);
  }
  return program;
}

/** The words of argv that name commands (a top-level one, or the one `help` asks about). */
function invoked(argv: readonly string[]): string[] {
  const words = argv.filter((a) => !a.startsWith("-"));
  return words[0] === "help" ? words.slice(1, 2) : words.slice(0, 1);
}

function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

function commandPath(c: Command | undefined): string {
  const names: string[] = [];
  for (let at = c; at; at = at.parent ?? undefined) names.unshift(at.name());
  return names.join(" ");
}

/** Runs `x` with these arguments (without node and the script); returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const verbose = argv.includes("--verbose");
  const program = await buildProgram(invoked(argv));
  let failing: Command | undefined;
  for (const c of allCommands(program)) {
    c.exitOverride();
    c.configureOutput({
      // commander's own usage errors: keep its one line, drop the help it would add.
      outputError: (msg, write) =>
        write(`${commandPath(c)}: ${msg.replace(/^error: /, "").trim()} (see ${commandPath(c)} --help)\n`),
    });
    c.hook("preAction", (_, action) => {
      failing = action;
    });
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit through here with code 0
      if (
        err.code === "commander.helpDisplayed" ||
        err.code === "commander.version" ||
        err.code === "commander.help"
      )
        return 0;
      return err.exitCode === 0 ? 0 : 2;
    }
    const where = commandPath(failing) || "x";
    if (err instanceof ExitError) {
      if (err.message) process.stderr.write(`${where}: ${err.message}\n`);
      return err.code;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`${where}: ${err.message} (see ${where} --help)\n`);
      return 2;
    }
    const e = err as Error;
    const kind = e?.name && e.name !== "Error" ? `${e.name}: ` : "";
    process.stderr.write(`${where}: ${kind}${(e?.message ?? String(err)).split("\n")[0]}\n`);
    if (verbose && e?.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
