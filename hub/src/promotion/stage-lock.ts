// A lock in the gitfleet_locks bucket that serialises work on one key (a pipeline's stage) across
// hub replicas. Taking it is a KV create, which fails when the key exists; the holder renews the
// expiry written in the value with compare-and-set updates; a lock whose expiry has passed (its
// holder died or lost NATS) is taken over with a compare-and-set on its revision, so of several
// waiters exactly one wins; release deletes it with a compare-and-set too, so a holder that lost
// its lock never deletes its successor's.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { KV, Kvm } from "@nats-io/kv";
import type { Logger } from "pino";
import { HubError } from "../errors.js";
import { bucketNames, isRevisionConflict, openBucket, storeError } from "../store/buckets.js";

/** The value of a held lock. */
export interface StageLockValue {
  /** Who holds it (a hub replica). */
  owner: string;
  /** Random per acquisition: tells two holds by one owner apart. */
  token: string;
  /** ISO times; the lock is free once `expiresAt` has passed. */
  acquiredAt: string;
  expiresAt: string;
}

/** Options of {@link StageLock.withLock}. */
export interface WithLockOptions {
  /** How long to wait for a lock someone else holds; default the lock's `waitMs`. */
  waitMs?: number | undefined;
}

/** Options of {@link createStageLock}. */
export interface StageLockOptions {
  /** The gitfleet_locks bucket ({@link openLocksBucket}). */
  kv: KV;
  /** How long a lock lasts without renewal; the holder renews it every third of it. Default 30 s. */
  ttlMs?: number | undefined;
  /** Who takes locks, named to waiters that give up; default `<hostname>/<pid>`. */
  owner?: string | undefined;
  now?: (() => Date) | undefined;
  /** Default wait for a held lock; 30 s. */
  waitMs?: number | undefined;
  /** How often a waiter looks again; default 100 ms. */
  pollMs?: number | undefined;
  logger?: Logger | undefined;
}

/** Serialises work on a key across hub replicas. */
export interface StageLock {
  /**
   * Runs `fn` while holding the lock on `key` (KV-key safe, e.g. `web.prod-us`), then releases it,
   * also when `fn` throws. Waits up to `waitMs` for a lock someone holds, then throws HubError
   * `unavailable` naming the holder. Not reentrant: taking a key again inside `fn` waits for itself.
   */
  withLock<T>(key: string, fn: () => Promise<T>, options?: WithLockOptions): Promise<T>;
}

const keyPattern = /^[-/_=.a-zA-Z0-9]+$/;

/** Opens (creating when absent) the gitfleet_locks bucket. */
export function openLocksBucket(kvm: Kvm, replicas: number): Promise<KV> {
  return openBucket(kvm, bucketNames.locks, { replicas, description: "gitfleet locks across hub replicas (promotions into a stage)" });
}

/**
 * Creates a lock on the gitfleet_locks bucket. Expiry compares the holder's clock with the
 * waiter's: keep `ttlMs` well above the clock skew between replicas.
 */
export function createStageLock(options: StageLockOptions): StageLock {
  const { kv } = options;
  const ttlMs = options.ttlMs ?? 30_000;
  const owner = options.owner ?? `${hostname()}/${process.pid}`;
  const now = options.now ?? (() => new Date());
  const defaultWaitMs = options.waitMs ?? 30_000;
  const pollMs = options.pollMs ?? 100;
  const logger = options.logger;

  const valueOf = (token: string, acquiredAt: string): StageLockValue => ({
    owner,
    token,
    acquiredAt,
    expiresAt: new Date(now().getTime() + ttlMs).toISOString(),
  });

  type Attempt = { held: true; revision: number } | { held: false; holder: StageLockValue | undefined };

  // One try: create the key, or take over an expired or unreadable lock. Never waits.
  const tryAcquire = async (key: string, token: string): Promise<Attempt> => {
    const value = valueOf(token, now().toISOString());
    try {
      return { held: true, revision: await kv.create(key, JSON.stringify(value)) };
    } catch (err) {
      if (!isRevisionConflict(err)) throw storeError(`cannot take the lock ${key}`, err);
    }
    let entry;
    try {
      entry = await kv.get(key);
    } catch (err) {
      throw storeError(`cannot read the lock ${key}`, err);
    }
    // Released between our create and get: the next try creates it.
    if (!entry || entry.operation !== "PUT") return { held: false, holder: undefined };
    let holder: StageLockValue | undefined;
    try {
      holder = entry.json<StageLockValue>();
    } catch {
      holder = undefined;
    }
    const expires = holder ? Date.parse(holder.expiresAt) : Number.NaN;
    if (holder && expires > now().getTime()) return { held: false, holder };
    try {
      const revision = await kv.update(key, JSON.stringify(value), entry.revision);
      logger?.warn({ key, previous: holder }, "took over an expired lock");
      return { held: true, revision };
    } catch (err) {
      if (!isRevisionConflict(err)) throw storeError(`cannot take over the lock ${key}`, err);
      return { held: false, holder };
    }
  };

  const acquire = async (key: string, token: string, waitMs: number): Promise<number> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const attempt = await tryAcquire(key, token);
      if (attempt.held) return attempt.revision;
      const left = deadline - Date.now();
      if (left <= 0) {
        const holder = attempt.holder;
        throw new HubError(
          "unavailable",
          holder
            ? `${key} is locked by ${holder.owner} since ${holder.acquiredAt} (until ${holder.expiresAt}); waited ${waitMs} ms, try again`
            : `${key} is locked; waited ${waitMs} ms, try again`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
    }
  };

  return {
    async withLock(key, fn, withOptions = {}) {
      if (!keyPattern.test(key) || key.startsWith(".") || key.endsWith(".")) {
        throw new HubError("internal", `lock key ${JSON.stringify(key)} is not a valid KV key`);
      }
      const token = randomBytes(8).toString("hex");
      let revision = await acquire(key, token, withOptions.waitMs ?? defaultWaitMs);
      const acquiredAt = now().toISOString();
      let lost = false;
      let timer: NodeJS.Timeout | undefined;
      let renewing: Promise<void> = Promise.resolve();
      let released = false;

      // Renewal: a timer chain (never two at once) that extends the expiry while fn runs.
      const renew = async (): Promise<void> => {
        try {
          revision = await kv.update(key, JSON.stringify(valueOf(token, acquiredAt)), revision);
        } catch (err) {
          if (isRevisionConflict(err)) {
            lost = true;
            logger?.error({ key, owner }, "lost a held lock: another holder took it over after it expired");
            return;
          }
          logger?.warn({ err, key }, "cannot renew a held lock; will try again");
        }
      };
      const schedule = (): void => {
        timer = setTimeout(() => {
          renewing = renew().then(() => {
            if (!released && !lost) schedule();
          });
        }, Math.max(1, Math.floor(ttlMs / 3)));
      };
      schedule();

      try {
        return await fn();
      } finally {
        released = true;
        if (timer !== undefined) clearTimeout(timer);
        await renewing;
        if (!lost) {
          try {
            await kv.delete(key, { previousSeq: revision });
          } catch (err) {
            // A lock we cannot delete expires on its own; waiters then take it over.
            if (!isRevisionConflict(err)) logger?.warn({ err, key }, "cannot release a lock; it expires on its own");
          }
        }
      }
    },
  };
}
