// A hard memory cap for a child process, where Node has no setrlimit: the child's resident set
// is read from /proc every interval and the caller stops it once over the cap. Go's GOMEMLIMIT
// (set by the caller) is only a goal for its garbage collector; this is the limit. Address space
// limits do not work for Go programs, which reserve far more than they use.
import { readFile } from "node:fs/promises";

/** Options of {@link watchMemory}. */
export interface MemoryWatchOptions {
  pid: number;
  /** Resident bytes past which `onExceeded` is called, once. */
  limitBytes: number;
  onExceeded: (residentBytes: number) => void;
  /** Between two reads; default 50 ms. */
  intervalMs?: number;
}

/**
 * Watches a process's resident set until the returned function is called. Where /proc does not
 * exist (not Linux), it watches nothing: the build's timeout still bounds it.
 */
export function watchMemory(options: MemoryWatchOptions): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    const resident = await residentBytes(options.pid);
    if (stopped || resident === undefined) return;
    if (resident > options.limitBytes) {
      stopped = true;
      options.onExceeded(resident);
      return;
    }
    timer = setTimeout(() => void check(), options.intervalMs ?? 50);
  };
  void check();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}

/** The resident set of `pid` in bytes, or undefined when it cannot be read (gone, not Linux). */
export async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}
