/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** First delay and lower bound of every delay; default 500 ms. */
  minMs?: number;
  /** Upper bound of every delay; default 30 s. */
  maxMs?: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  /** Source of randomness in [0, 1); injected by tests. */
  random?: () => number;
}

/** Delays for retry loops: exponential growth with jitter, capped, reset after a success. */
export interface Backoff {
  /** The delay before the next attempt; each call counts one more failed attempt. */
  next(): number;
  /** Forgets the failures: the next delay starts at the minimum again. */
  reset(): void;
  /** Failed attempts since the last reset. */
  readonly attempts: number;
}

/**
 * Creates an exponential backoff with "equal jitter": attempt n waits a random time between
 * half and all of `min(maxMs, minMs * factor^n)`, never less than `minMs`. Many agents that
 * lost the hub at once spread their reconnects instead of arriving together.
 */
export function createBackoff(options: BackoffOptions = {}): Backoff {
  const minMs = options.minMs ?? 500;
  const maxMs = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const random = options.random ?? Math.random;
  if (!(minMs > 0) || !(maxMs >= minMs) || !(factor >= 1)) {
    throw new RangeError(`invalid backoff: minMs ${minMs}, maxMs ${maxMs}, factor ${factor}`);
  }
  let attempts = 0;
  return {
    next() {
      const ceiling = Math.min(maxMs, minMs * factor ** Math.min(attempts, 64));
      attempts++;
      const jittered = ceiling / 2 + (ceiling / 2) * Math.min(Math.max(random(), 0), 1);
      return Math.round(Math.min(maxMs, Math.max(minMs, jittered)));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
