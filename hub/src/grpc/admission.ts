// Admission pacing for Connect handshakes: after a hub restart every agent of the fleet
// reconnects within seconds. A handshake's hub work is authentication (then Welcome) and, once the
// agent proved its key, the cluster record's write; each step takes a turn, a bounded number run at
// once and the rest wait in order, so a reconnect storm is a queue the hub works through rather
// than thousands of handshakes (and their NATS writes) competing until they time out. The agent's
// round trip between the two steps holds no turn: agents far away or busy do not slow the queue.

/** A bounded number of handshakes at a time. */
export interface Admission {
  /** Waits for a turn; resolves with the function that ends it (safe to call more than once). */
  acquire(): Promise<() => void>;
  /** Handshakes under way. */
  readonly active: number;
  /** Handshakes waiting for a turn. */
  readonly waiting: number;
}

/** Creates an {@link Admission} letting `limit` handshakes run at once. */
export function createAdmission(limit: number): Admission {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`admission limit must be a whole number of at least 1, got ${limit}`);
  let active = 0;
  const queue: Array<() => void> = [];
  const turn = (): (() => void) => {
    active++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      active--;
      const next = queue.shift();
      if (next) next();
    };
  };
  return {
    acquire() {
      if (active < limit) return Promise.resolve(turn());
      return new Promise((resolve) => queue.push(() => resolve(turn())));
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}
