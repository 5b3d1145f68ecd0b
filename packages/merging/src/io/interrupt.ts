// Cleanup on interruption: while a merge writes, SIGINT, SIGTERM (or a process.exit) must not leave
// its temporary output or lock file behind. Cleanups registered here run synchronously on those
// events; the signal then ends the process as it would have (unless the application listens to it
// itself). The listeners are installed only while some cleanup is registered.

const cleanups = new Set<() => void>();
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
let installed = false;

function runAll(): void {
  for (const fn of [...cleanups]) {
    try {
      fn();
    } catch {
      // Best effort: the process is going away.
    }
  }
  cleanups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  uninstall();
  // Nobody else handles it: end the process as the signal's default action would.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function onExit(): void {
  runAll();
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on("exit", onExit);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  process.removeListener("exit", onExit);
}

/** Runs `cleanup` (synchronous) if the process is interrupted or exits; returns its unregistration. */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) uninstall();
  };
}
