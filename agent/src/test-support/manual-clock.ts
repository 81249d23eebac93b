// A clock for unit tests: time moves only when the test advances it. Not part of the build.
import type { Clock } from "../clock.js";

/** A {@link Clock} driven by the test. */
export interface ManualClock extends Clock {
  /** Moves time forward, waking every sleeper due on the way, in order. */
  advance(ms: number): Promise<void>;
  /** Number of sleeps waiting now. */
  sleepers(): number;
}

interface Sleeper {
  at: number;
  wake: () => void;
}

/** Lets pending promise callbacks (and I/O callbacks) run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Creates a {@link ManualClock} starting at `start` ms since the epoch. */
export function createManualClock(start = 1_700_000_000_000): ManualClock {
  let now = start;
  const waiting = new Set<Sleeper>();
  return {
    now: () => now,
    sleep(ms, signal) {
      return new Promise<void>((resolve) => {
        if (signal?.aborted) {
          resolve();
          return;
        }
        const sleeper: Sleeper = {
          at: now + Math.max(0, ms),
          wake: () => {
            waiting.delete(sleeper);
            signal?.removeEventListener("abort", sleeper.wake);
            resolve();
          },
        };
        waiting.add(sleeper);
        signal?.addEventListener("abort", sleeper.wake, { once: true });
      });
    },
    async advance(ms) {
      const target = now + ms;
      for (;;) {
        await settle();
        let next: Sleeper | undefined;
        for (const s of waiting) if (s.at <= target && (!next || s.at < next.at)) next = s;
        if (!next) break;
        now = next.at;
        next.wake();
      }
      now = target;
      await settle();
    },
    sleepers: () => waiting.size,
  };
}

/**
 * Waits until `check` holds, letting callbacks run in between; fails after `rounds` turns of
 * the event loop with a message saying what was awaited.
 */
export async function until(check: () => boolean, what: string, rounds = 1000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (check()) return;
    await settle();
  }
  throw new Error(`gave up waiting for ${what}`);
}
