import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { once } from "node:events";

/** Options for {@link startProcess}. */
export interface StartProcessOptions {
  /** Short name used in errors, e.g. "nats-server". */
  name: string;
  command: string;
  args: readonly string[];
  /** File that receives the process's stdout and stderr. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Start the process in its own process group and let it outlive this one
   * (the lab CLI's `up`). Default false: the process dies with its parent's
   * group on Ctrl-C.
   */
  detached?: boolean;
}

/** A server process the lab started. */
export interface LabProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited; never rejects. */
  readonly exited: Promise<number | null>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns a server process with its output going to a log file. */
export async function startProcess(options: StartProcessOptions): Promise<LabProcess> {
  const log = createWriteStream(options.logFile, { flags: "a" });
  await once(log, "open");
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", log, log],
    detached: options.detached ?? false,
  });
  const spawned = await Promise.race([
    once(child, "spawn").then(() => undefined),
    once(child, "error").then(([err]) => err as Error),
  ]);
  if (spawned instanceof Error) {
    log.end();
    throw new Error(`${options.name}: cannot start ${options.command}: ${spawned.message}`, { cause: spawned });
  }
  if (options.detached) child.unref();
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      log.end();
      resolve(code ?? (signal ? 128 : null));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: no pid after spawn`);
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    hasExited: () => done,
    async stop(graceMs = 5_000) {
      if (done) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** What is awaited, for the error message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** A process (or several) whose exit makes waiting pointless. */
  process?: LabProcess | readonly LabProcess[];
}

/**
 * Polls `check` until it returns a value other than undefined/false, or fails
 * with an error that says what was awaited and the last error seen. A check that never
 * settles (a request nobody answers) counts as a failed try once the deadline has passed,
 * so waiting always ends.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const watched = options.process === undefined ? [] : "pid" in options.process ? [options.process] : options.process;
  let last: unknown;
  for (;;) {
    const gone = watched.find((p) => p.hasExited());
    if (gone) throw new Error(`${options.what}: ${gone.name} exited early; see ${gone.logFile}`);
    try {
      const value = await withinDeadline(check, deadline, options.what);
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}

/** Runs one check of {@link waitFor}, giving up on it (not on the caller's work) once the deadline is reached. */
async function withinDeadline<T>(check: () => Promise<T> | T, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`a check of ${what} did not settle before the deadline`)), Math.max(0, deadline - Date.now()) + 1_000);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), expired]);
  } finally {
    clearTimeout(timer);
  }
}
