/**
 * Time as the agent's loops see it. Every wait goes through `sleep`, so tests drive the loops
 * with a manual clock instead of real time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (never rejecting) once `signal` is aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/**
 * Wakes a loop that waits for "the next interval or an earlier trigger". A trigger that arrives
 * while the loop is busy is remembered, so the next wait returns at once.
 */
export interface Wakeup {
  /** Asks the waiting loop to run now. */
  trigger(): void;
  /** Waits `ms` or until triggered; true when triggered. */
  wait(ms: number, signal?: AbortSignal): Promise<boolean>;
  /** Forgets a trigger that arrived before the work it asked for began. */
  clear(): void;
}

/** Creates a {@link Wakeup} whose timed waits use `clock`. */
export function createWakeup(clock: Clock): Wakeup {
  let pending = false;
  let wake: (() => void) | undefined;
  return {
    clear() {
      pending = false;
    },
    trigger() {
      pending = true;
      wake?.();
    },
    async wait(ms, signal) {
      if (!pending) {
        const local = new AbortController();
        const onAbort = (): void => local.abort();
        if (signal?.aborted) local.abort();
        signal?.addEventListener("abort", onAbort, { once: true });
        wake = () => local.abort();
        try {
          await clock.sleep(ms, local.signal);
        } finally {
          wake = undefined;
          signal?.removeEventListener("abort", onAbort);
        }
      }
      const triggered = pending;
      pending = false;
      return triggered;
    },
  };
}
