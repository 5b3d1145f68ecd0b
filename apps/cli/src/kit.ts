/**
 * What every `x` command is built from: a commander `Command` with a summary and examples in its help, option
 * tables that also give the type of the options an action receives (declare an option once: `options([...])`,
 * then `OptionsOf<typeof table>`), argument parsers that turn bad values into usage errors, the output policy
 * (refuse a non-empty output unless --overwrite, never write into or over an input), and printing results as text
 * or --json.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { outputOverlap, realPathOf, signalExitCode } from "@x/tensor-core";
import { Command, InvalidArgumentError, Option } from "commander";

/** A usage error: one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Ends a command with this exit code after one line (an interrupted run: 130 for SIGINT, 143 for SIGTERM). */
export class ExitError extends Error {
  override readonly name = "ExitError";
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/**
 * For a command whose library work cannot be cancelled midway (a merge): until the returned function is
 * called, SIGINT / SIGTERM end the process at once with one line on stderr, `where: interrupted (SIGNAL); ...`,
 * and exit code 130 / 143. `before` runs first (stop a progress bar); the libraries' exit hooks then remove
 * their temporaries and locks (process.exit runs them).
 */
export function exitOnInterrupt(where: string, message: string, before?: () => void): () => void {
  const on = (signal: NodeJS.Signals) => {
    try {
      before?.();
    } finally {
      process.stderr.write(`${where}: interrupted (${signal}); ${message}\n`);
      process.exit(signalExitCode(signal));
    }
  };
  const onInt = () => on("SIGINT");
  const onTerm = () => on("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return () => {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  };
}

/** A new (sub)command with its summary and the examples its help ends with. */
export function defineCommand(name: string, summary: string, examples: readonly string[]): Command {
  const cmd = new Command(name).summary(summary).description(summary);
  cmd.addHelpText("after", `\nExamples:\n${examples.map((e) => `  $ ${e}`).join("\n")}\n`);
  return cmd;
}

/** A command group (`x grid`, `x bench`, ...): its help lists the subcommands. */
export function defineGroup(
  name: string,
  summary: string,
  examples: readonly string[],
  children: readonly Command[],
): Command {
  const cmd = defineCommand(name, summary, examples);
  for (const c of children) cmd.addCommand(c);
  return cmd;
}

/** Shared flags, defined once so every command spells them the same. */
export const jsonOption = () => ["--json", "print the result as one JSON document on stdout"] as const;
export const quietOption = () => ["-q, --quiet", "no progress output"] as const;
export const overwriteOption = () => ["--overwrite", "replace a non-empty output (never an input)"] as const;
/** --overwrite, --quiet and --json, the last options of every command that writes and prints a result. */
export const outputOptions = () => [overwriteOption(), quietOption(), jsonOption()] as const;

/** An option value parser: commander passes the previous value (the default, or the last parse) too. */
type Parser = (value: string, previous: never) => unknown;

/**
 * One option of a table: [flags, help, a value parser or the allowed choices, the default, how help shows the
 * default], or a commander Option as it is (untyped: it adds no key to {@link OptionsOf}).
 */
export type OptionRow =
  | Option
  | readonly [
      flags: string,
      help: string,
      parse?: Parser | readonly string[],
      defaultValue?: unknown,
      defaultShown?: string,
    ];

/** An option table, kept with its literal types so that {@link OptionsOf} can read the option values from it. */
export const options = <const R extends readonly OptionRow[]>(rows: R): R => rows;

declare const rowOf: unique symbol;
/** A row whose option must be given (commander's requiredOption); typed as its row. */
export interface MandatoryRow<R> extends Option {
  readonly [rowOf]?: R;
}
export function mandatory<const R extends Exclude<OptionRow, Option>>(row: R): MandatoryRow<R> {
  return optionOf(row).makeOptionMandatory();
}

// The key commander stores an option under: "-T, --time-steps <T>" -> timeSteps, "--no-open" -> open.
type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Long<F extends string> = F extends `${string}--${infer L}` ? L : never;
type Name<F extends string> = Long<F> extends `${infer N} ${string}` ? N : Long<F>;
type Key<F extends string> = Name<F> extends `no-${infer N}` ? Camel<N> : Camel<Name<F>>;
type Negated<F extends string> = Name<F> extends `no-${string}` ? true : false;
type Arg<F extends string> =
  Long<F> extends `${string} <${string}...>`
    ? "variadic"
    : Long<F> extends `${string} <${string}>`
      ? "required"
      : Long<F> extends `${string} [${string}]`
        ? "optional"
        : "none";

/** The value of an option: the parser's result, one of the choices, the string(s) typed, or a boolean. */
type Value<F extends string, P> = P extends (...args: never[]) => infer T
  ? T
  : Arg<F> extends "none"
    ? boolean
    : (P extends readonly (infer C)[] ? C : string) extends infer V
      ? Arg<F> extends "variadic"
        ? V[]
        : Arg<F> extends "optional"
          ? V | true
          : V
      : never;

type DefaultOf<Rest> = Rest extends readonly [unknown, infer D, ...unknown[]] ? Exclude<D, undefined> : never;
type Entry<R, Positive> =
  R extends MandatoryRow<infer M>
    ? Entry<M, Positive> extends infer E extends { key: string; value: unknown }
      ? { key: E["key"]; value: E["value"]; required: true }
      : never
    : R extends readonly [infer F extends string, string, ...infer Rest]
      ? {
          key: Key<F>;
          value: Value<F, Rest extends readonly [infer P, ...unknown[]] ? P : undefined> | DefaultOf<Rest>;
          // a default, or --no-x alone (commander's default true), makes the value always present
          required: [DefaultOf<Rest>] extends [never]
            ? Negated<F> extends true
              ? Key<F> extends Positive
                ? false
                : true
              : false
            : true;
        }
      : never;
type PositiveKeys<R> = R extends readonly [infer F extends string, ...unknown[]]
  ? Negated<F> extends true
    ? never
    : Key<F>
  : never;
type Entries<Rows extends readonly OptionRow[]> = Entry<Rows[number], PositiveKeys<Rows[number]>>;

/**
 * The option values an action receives from a table: `["--out-dtype <dtype>", ...]` gives `outDtype?: string`,
 * a parser its result type, choices their union, `--flag` a boolean, `<v...>` an array; a default (or a lone
 * `--no-x`) makes the key always present.
 */
export type OptionsOf<Rows extends readonly OptionRow[]> = Flatten<
  { [E in Entries<Rows> as E["required"] extends true ? E["key"] : never]: E["value"] } & {
    [E in Entries<Rows> as E["required"] extends true ? never : E["key"]]?: E["value"];
  }
>;
type Flatten<T> = { [K in keyof T]: T[K] };

/** Whether the user typed option `key` (not a default). */
export const given = (cmd: Command, key: string): boolean => cmd.getOptionValueSource(key) === "cli";

function optionOf(row: Exclude<OptionRow, Option>): Option {
  const [flags, help, parse, defaultValue, defaultShown] = row;
  const option = new Option(flags, help);
  if (typeof parse === "function") option.argParser(parse as (value: string, previous: unknown) => unknown);
  else if (parse) option.choices(parse);
  if (defaultValue !== undefined) option.default(defaultValue, defaultShown);
  return option;
}

/** Adds the options of a table to `cmd`, in order (the order of its help). */
export function addOptions(cmd: Command, rows: readonly OptionRow[]): Command {
  for (const row of rows) cmd.addOption(row instanceof Option ? row : optionOf(row));
  return cmd;
}

/** A value parser whose `errorClass` errors (a library's typed option error) become usage errors of the flag. */
export function parsedBy<T, P>(
  parse: (value: string, previous: P) => T,
  errorClass: abstract new (...args: never[]) => Error,
): (value: string, previous: P) => T {
  return (value, previous) => {
    try {
      return parse(value, previous);
    } catch (e) {
      if (e instanceof errorClass) throw new InvalidArgumentError(e.message);
      throw e;
    }
  };
}

// ---------------------------------------------------------------- argument parsers (bad value -> exit 2)

export function integer(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer in [${min}, ${max}], got '${v}'`);
    return n;
  };
}

export function number(min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, open = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max || (open && (n === min || n === max)))
      throw new InvalidArgumentError(
        `expected a number in ${open ? "(" : "["}${min}, ${max}${open ? ")" : "]"}, got '${v}'`,
      );
    return n;
  };
}

/** A comma-separated list, each item parsed by `item`. */
export function list<T>(item: (v: string) => T) {
  return (v: string): T[] => v.split(",").map((s) => item(s.trim()));
}

/** "a..b:step" ranges and single values, comma-separated: "0.01..0.09:0.01,0.1..2.2:0.1" or "0.3,0.6,1". */
export function numberGrid(v: string): number[] {
  const out: number[] = [];
  for (const part of v.split(",")) {
    const m = /^\s*([0-9.eE+-]+)\s*\.\.\s*([0-9.eE+-]+)\s*:\s*([0-9.eE+-]+)\s*$/.exec(part);
    if (m) {
      const [a, b, s] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (![a, b, s].every(Number.isFinite) || s <= 0 || b < a)
        throw new InvalidArgumentError(`bad range '${part}' (expected a..b:step with a <= b, step > 0)`);
      const decimals = Math.max(...[m[1], m[3]].map((x) => (x!.split(".")[1] ?? "").length));
      for (let k = 0; a + k * s <= b + s * 1e-9; k++) out.push(Number((a + k * s).toFixed(decimals)));
    } else out.push(number(0, Number.POSITIVE_INFINITY, true)(part.trim()));
  }
  if (out.some((x) => !(x > 0))) throw new InvalidArgumentError(`values must be positive, got '${v}'`);
  return out;
}

// ---------------------------------------------------------------- output policy

/**
 * The one output policy: `out` must not be, contain, or lie inside any input (even with --overwrite), and an
 * existing non-empty output (a file, or a directory with entries) is refused unless `overwrite`.
 */
export function checkOutput(out: string, opts: { overwrite?: boolean; inputs?: readonly string[] }): void {
  for (const input of opts.inputs ?? []) {
    const how = outputOverlap(out, input);
    if (how)
      throw new UsageError(
        how === "is"
          ? `output ${out} is the input ${input}: an input is never written`
          : how === "lies inside"
            ? `output ${out} lies inside the input ${input}: an input is never written into`
            : `output ${out} contains the input ${input}: replacing it would delete an input`,
      );
  }
  const o = realPathOf(out);
  if (opts.overwrite || !existsSync(o)) return;
  const st = statSync(o);
  if (st.isDirectory() ? readdirSync(o).length > 0 : true)
    throw new UsageError(`${out} exists and is not empty (pass --overwrite to replace it)`);
}

// ---------------------------------------------------------------- printing

/** Prints `doc` as JSON with --json, else the human lines. */
export function printResult(json: boolean | undefined, doc: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(doc, null, 2) : human());
}

export const pct = (x: number, digits = 1): string => `${(100 * x).toFixed(digits)}%`;
