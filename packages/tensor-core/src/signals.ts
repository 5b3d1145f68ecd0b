// The exit codes of interrupted runs, one convention for every command and library of x.

/** The exit code of a process stopped by `signal`: 130 for SIGINT (Ctrl-C), 143 for SIGTERM (128 + its number). */
export const signalExitCode = (signal: NodeJS.Signals): number => (signal === "SIGINT" ? 130 : 143);
