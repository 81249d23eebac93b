// What the command handlers of the CLI share with its entry point: the usage error (exit code 2)
// and Ctrl-C handling for commands that wait.

/** A command used the wrong way; the CLI exits with 2. */
export class UsageError extends Error {}

/** Runs `fn` with a signal that Ctrl-C (or SIGTERM) aborts. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await fn(stop.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
