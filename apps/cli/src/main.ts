import { UsageError } from "./command.js";
import { commands } from "./commands/index.js";

function help(): string {
  const names = Object.keys(commands).sort();
  return [
    "usage: x <command> [options]",
    "",
    "commands:",
    ...names.map((n) => `  ${n}`),
    "",
    "x <command> --help for details",
  ].join("\n");
}

/** Finds the longest registered command prefix of argv ("zoo build" before "zoo"). */
export function resolveCommand(argv: string[]): { key: string; rest: string[] } | undefined {
  for (let words = Math.min(argv.length, 3); words >= 1; words--) {
    const key = argv.slice(0, words).join(" ");
    if (key in commands) return { key, rest: argv.slice(words) };
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(help());
    return 0;
  }
  const found = resolveCommand(argv);
  if (!found) {
    console.error(`x: unknown command '${argv[0]}'\n${help()}`);
    return 2;
  }
  const cmd = await commands[found.key]!();
  if (found.rest.includes("--help") || found.rest.includes("-h")) {
    console.log(`usage: ${cmd.usage}\n\n${cmd.summary}`);
    return 0;
  }
  try {
    return await cmd.run(found.rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`x ${cmd.name}: ${err.message}\nusage: ${cmd.usage}`);
      return 2;
    }
    const e = err as Error;
    console.error(
      `x ${cmd.name}: ${e?.name && e.name !== "Error" ? `${e.name}: ` : ""}${e?.message ?? String(err)}`,
    );
    if (process.env.X_DEBUG) console.error(e?.stack);
    return 1;
  }
}
