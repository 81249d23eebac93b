// The delivery leader lease: one key (`delivery-leader`) in the gitfleet_locks bucket that says
// which hub replica follows Git and publishes desired state. Taking it is a KV create; the holder
// renews the expiry in the value with compare-and-set updates every third of the TTL; a lease whose
// expiry has passed (its holder died or lost NATS) is taken over with a compare-and-set on its
// revision, so of several followers exactly one wins. Every change of holder raises `term` by one,
// and the term goes into each pointer the leader writes (DesiredState.leader_term), which is what
// fences a deposed leader (docs/high-availability.md).
//
// A clean stop releases the lease with a compare-and-set update that marks it expired (rather than
// a delete), so the term survives and the successor continues from it; followers watch the key and
// take a released lease at once. A leader that cannot renew before its own deadline (TTL from the
// moment it sent its last successful renewal, less a tenth) stops being leader by itself, even
// without hearing from NATS: fence() answers undefined from then on.
import { hostname } from "node:os";
import type { KV, KvEntry, KvWatchEntry } from "@nats-io/kv";
import type { Logger } from "pino";
import { isRevisionConflict } from "../../store/buckets.js";

/** The key of the lease in the gitfleet_locks bucket. */
export const DELIVERY_LEADER_KEY = "delivery-leader";

/** The value of the lease. */
export interface DeliveryLeaseValue {
  /** The replica that holds it. */
  owner: string;
  /** Lease generation: one more at every change of holder. */
  term: number;
  /** ISO times; the lease is free once `expiresAt` has passed. */
  acquiredAt: string;
  expiresAt: string;
  /** Set by a clean stop: free at once. */
  released?: boolean;
}

/** The role of a replica in delivery. */
export type DeliveryRole = "leader" | "follower";

/** A change of role, as {@link DeliveryLease.onChange} tells it. */
export interface DeliveryRoleChange {
  role: DeliveryRole;
  /** The term held (leader), or the last term seen (follower). */
  term: number;
  /** Why the role changed, e.g. "acquired", "took over an expired lease", "lost NATS". */
  reason: string;
}

/** Options of {@link createDeliveryLease}. */
export interface DeliveryLeaseOptions {
  /** The gitfleet_locks bucket. */
  kv: KV;
  /** How long the lease lasts without renewal; renewed every third of it. Default 15 s. */
  ttlMs?: number | undefined;
  /** This replica's name in the lease; default `<hostname>/<pid>/<random>`. */
  owner?: string | undefined;
  logger: Logger;
  now?: (() => Date) | undefined;
  /** The monotonic clock the holder's own deadline is kept by, in ms; default performance.now. */
  monotonic?: (() => number) | undefined;
}

/** The lease as a replica holds or waits for it; see {@link createDeliveryLease}. */
export interface DeliveryLease {
  /** Tries once to take the lease (so the first replica leads at once), then keeps trying or renewing. */
  start(): Promise<void>;
  /** Stops the loop and releases the lease if held. */
  stop(): Promise<void>;
  readonly role: DeliveryRole;
  readonly owner: string;
  /**
   * The term while this replica may publish: it holds the lease and its own deadline has not
   * passed. Undefined otherwise. Read it right before each write.
   */
  fence(): number | undefined;
  /**
   * Gives up leadership now (a publish found a pointer of a higher term). `seenTerm` raises the
   * term this replica takes next time.
   */
  stepDown(reason: string, seenTerm?: number): void;
  /** The last value seen in the bucket (any holder). */
  holder(): DeliveryLeaseValue | undefined;
  /** Calls `listener` on every change of role; returns the unsubscribe. */
  onChange(listener: (change: DeliveryRoleChange) => void): () => void;
}

/** Creates the lease; nothing runs before start(). */
export function createDeliveryLease(options: DeliveryLeaseOptions): DeliveryLease {
  const { kv, logger } = options;
  const ttlMs = options.ttlMs ?? 15_000;
  const renewMs = Math.max(1, Math.floor(ttlMs / 3));
  const owner = options.owner ?? `${hostname()}/${process.pid}/${Math.random().toString(36).slice(2, 8)}`;
  const now = options.now ?? (() => new Date());
  const monotonic = options.monotonic ?? (() => performance.now());
  const listeners = new Set<(change: DeliveryRoleChange) => void>();

  let role: DeliveryRole = "follower";
  let term = 0;
  // The highest term seen anywhere (lease values, fenced pointers): the next acquisition goes above it.
  let floor = 0;
  let revision = 0;
  let acquiredAt = "";
  // performance.now() after which this replica no longer publishes unless it renewed.
  let deadline = 0;
  let last: DeliveryLeaseValue | undefined;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();
  let watch: { stop(): void } | undefined;
  let watching: Promise<void> | undefined;

  const setRole = (next: DeliveryRole, reason: string): void => {
    if (next === role) return;
    role = next;
    if (next === "follower") {
      clearTimeout(deadlineTimer);
      deadlineTimer = undefined;
    }
    const change = { role: next, term, reason };
    if (next === "leader") logger.info({ owner, term, reason }, "became the delivery leader");
    else logger.warn({ owner, term, reason }, "no longer the delivery leader");
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        logger.error({ err }, "a delivery role listener failed");
      }
    }
  };

  const valueOf = (t: number): DeliveryLeaseValue => ({
    owner,
    term: t,
    acquiredAt,
    expiresAt: new Date(now().getTime() + ttlMs).toISOString(),
  });

  // A timer can fire before the monotonic clock reaches the deadline (the event loop's cached time
  // lags it after a long turn), so one that finds the deadline ahead waits again for the rest.
  const watchDeadline = (): void => {
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(() => {
      if (role !== "leader") return;
      if (monotonic() >= deadline) setRole("follower", "could not renew the lease before it expired");
      else watchDeadline();
    }, Math.max(0, deadline - monotonic()) + 1);
    deadlineTimer.unref();
  };

  const armDeadline = (sentAt: number): void => {
    deadline = sentAt + ttlMs * 0.9;
    watchDeadline();
  };

  const parse = (entry: KvEntry | KvWatchEntry | null): DeliveryLeaseValue | undefined => {
    if (!entry || entry.operation !== "PUT") return undefined;
    try {
      const value = entry.json<DeliveryLeaseValue>();
      return typeof value.term === "number" && typeof value.owner === "string" ? value : undefined;
    } catch {
      return undefined;
    }
  };

  const renew = async (): Promise<void> => {
    const sentAt = monotonic();
    try {
      revision = await kv.update(DELIVERY_LEADER_KEY, JSON.stringify(valueOf(term)), revision);
      if (role === "leader") armDeadline(sentAt);
    } catch (err) {
      if (isRevisionConflict(err)) {
        // A renewal whose answer was lost has moved the revision on: the lease is still ours if the
        // entry names this holder and term, so adopt its revision rather than step down.
        const entry = await kv.get(DELIVERY_LEADER_KEY).catch(() => null);
        const value = parse(entry);
        if (entry && value && value.owner === owner && value.term === term && value.acquiredAt === acquiredAt && value.released !== true) {
          revision = entry.revision;
          return;
        }
        setRole("follower", "another replica took the lease over");
        return;
      }
      if (role === "leader" && monotonic() >= deadline) setRole("follower", "could not renew the lease before it expired");
      else logger.warn({ err }, "cannot renew the delivery leader lease; will try again");
    }
  };

  const tryAcquire = async (): Promise<void> => {
    const sentAt = monotonic();
    let entry: KvEntry | null;
    try {
      entry = await kv.get(DELIVERY_LEADER_KEY);
    } catch (err) {
      logger.debug({ err }, "cannot read the delivery leader lease");
      return;
    }
    const holder = parse(entry);
    if (holder) {
      last = holder;
      floor = Math.max(floor, holder.term);
    }
    const free = !holder || holder.released === true || Date.parse(holder.expiresAt) <= now().getTime();
    if (!free) return;
    const next = Math.max(floor, term) + 1;
    acquiredAt = now().toISOString();
    const value = valueOf(next);
    try {
      revision = entry === null ? await kv.create(DELIVERY_LEADER_KEY, JSON.stringify(value)) : await kv.update(DELIVERY_LEADER_KEY, JSON.stringify(value), entry.revision);
    } catch (err) {
      if (!isRevisionConflict(err)) logger.debug({ err }, "cannot take the delivery leader lease");
      return;
    }
    term = next;
    floor = next;
    last = value;
    armDeadline(sentAt);
    if (holder && holder.owner !== owner && !holder.released) logger.warn({ previous: holder }, "took over an expired delivery leader lease");
    setRole("leader", holder ? (holder.released ? "took over a released lease" : "took over an expired lease") : "acquired the lease");
  };

  // When a follower next looks: at the holder's expiry (so a dead leader is replaced within the
  // TTL), and at least every third of the TTL.
  const nextDelay = (): number => {
    if (role === "leader") return renewMs;
    const expires = last ? Date.parse(last.expiresAt) - now().getTime() + 20 : 0;
    return Math.max(20, Math.min(renewMs, Number.isFinite(expires) ? expires : renewMs));
  };

  const step = (): Promise<void> => {
    const run = tick.then(async () => {
      if (!running) return;
      if (role === "leader") await renew();
      else await tryAcquire();
    });
    tick = run.catch((err: unknown) => logger.error({ err }, "delivery lease step failed"));
    return tick;
  };

  const schedule = (): void => {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      void step().then(schedule);
    }, nextDelay());
    timer.unref();
  };

  const startWatch = async (): Promise<void> => {
    // A release or a new holder is seen at once, not at the next look.
    try {
      const iterator = await kv.watch({ key: DELIVERY_LEADER_KEY });
      watch = iterator;
      watching = (async () => {
        for await (const entry of iterator) {
          const value = parse(entry);
          if (value) {
            last = value;
            floor = Math.max(floor, value.term);
          }
          if (!running) break;
          if (role === "follower" && (entry.operation !== "PUT" || value?.released === true)) void step();
          else if (role === "follower") schedule();
        }
      })().catch((err: unknown) => logger.warn({ err }, "the delivery lease watch ended"));
    } catch (err) {
      logger.warn({ err }, "cannot watch the delivery leader lease; relying on polling");
    }
  };

  return {
    get role() {
      return role;
    },
    owner,
    async start() {
      if (running) return;
      running = true;
      await step();
      await startWatch();
      schedule();
    },
    async stop() {
      if (!running) return;
      running = false;
      clearTimeout(timer);
      watch?.stop();
      await tick;
      await watching;
      if (role === "leader") {
        const value: DeliveryLeaseValue = { ...valueOf(term), expiresAt: now().toISOString(), released: true };
        try {
          await kv.update(DELIVERY_LEADER_KEY, JSON.stringify(value), revision);
          logger.info({ owner, term }, "released the delivery leader lease");
        } catch (err) {
          logger.warn({ err }, "cannot release the delivery leader lease; it expires on its own");
        }
        setRole("follower", "stopped");
      }
      clearTimeout(deadlineTimer);
    },
    fence() {
      return role === "leader" && monotonic() < deadline ? term : undefined;
    },
    stepDown(reason, seenTerm) {
      if (seenTerm !== undefined) floor = Math.max(floor, seenTerm);
      setRole("follower", reason);
    },
    holder: () => last,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
