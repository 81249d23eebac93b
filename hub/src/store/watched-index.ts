// An in-memory copy of a KV bucket, fed by a watch so that every hub replica sees
// every other replica's writes, and by the local writes so a replica sees its own
// at once.
import { KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
import type { Logger } from "pino";

/** One change of a {@link WatchedIndex}: `current` is undefined for a deletion. */
export interface IndexChange<T> {
  key: string;
  previous: T | undefined;
  current: T | undefined;
}

/** Options of {@link createWatchedIndex}. */
export interface WatchedIndexOptions<T> {
  kv: KV;
  /** Decodes a stored value; a throw skips the entry with a warning. */
  decode: (entry: KvEntry) => T;
  logger: Logger;
  /** Called after every change, local or seen through the watch. */
  onChange?: (change: IndexChange<T>) => void;
  /** Delay before the watch is opened again after it failed; default 1 s. */
  retryDelayMs?: number;
  /**
   * How often the watch is compared with the bucket; default 5 s, 0 never. A watch still behind
   * the bucket's last revision at two checks in a row, without having moved, is opened again
   * from where it was: a watch whose NATS server died can otherwise stay silent for a minute
   * (the client notices a lost consumer only after missing two 30 s heartbeats).
   */
  stallCheckMs?: number;
}

/** A live in-memory map of a bucket's keys to decoded values. */
export interface WatchedIndex<T> {
  /** Resolves once the bucket's content at start has been loaded. */
  ready(): Promise<void>;
  /** True once the initial content has been loaded. */
  readonly isReady: boolean;
  get(key: string): T | undefined;
  /** The value with the bucket revision it was stored at; undefined when absent or deleted. */
  entry(key: string): { value: T; revision: number } | undefined;
  /** Every current value, in no particular order. */
  values(): T[];
  /** Records a local write at `revision`, unless the index already holds a newer one. */
  applyPut(key: string, revision: number, value: T): void;
  /** Records a local deletion of the value stored at `revision`; older puts are ignored after it. */
  applyDelete(key: string, revision: number): void;
  /** Stops the watch; the index keeps its last content. */
  stop(): Promise<void>;
}

interface Slot<T> {
  revision: number;
  value: T | undefined;
}

/** Starts watching `kv` and returns the index; call `ready()` before relying on its content. */
export function createWatchedIndex<T>(options: WatchedIndexOptions<T>): WatchedIndex<T> {
  const { kv, decode, logger } = options;
  const slots = new Map<string, Slot<T>>();
  let stopped = false;
  let isReady = false;
  let lastRevision = 0;
  let stopCurrent: (() => void) | undefined;
  let wake: (() => void) | undefined;
  let markReady: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => {
    markReady = () => {
      isReady = true;
      resolve();
    };
  });

  const apply = (key: string, revision: number, value: T | undefined): void => {
    const slot = slots.get(key);
    if (slot && slot.revision >= revision) return;
    const previous = slot?.value;
    slots.set(key, { revision, value });
    if (previous === undefined && value === undefined) return;
    options.onChange?.({ key, previous, current: value });
  };

  const watchOnce = async (): Promise<void> => {
    const { values } = await kv.status();
    const iterator = await kv.watch({
      include: lastRevision > 0 ? KvWatchInclude.AllHistory : KvWatchInclude.LastValue,
      ...(lastRevision > 0 ? { resumeFromRevision: lastRevision + 1 } : {}),
    });
    stopCurrent = () => iterator.stop();
    if (stopped) iterator.stop();
    if (values === 0) markReady();
    for await (const entry of iterator) {
      lastRevision = Math.max(lastRevision, entry.revision);
      if (entry.operation === "PUT") {
        // This replica's own write, applied when it was made (applyPut): nothing to decode.
        const held = slots.get(entry.key);
        if (held && held.revision >= entry.revision) {
          if (entry.delta === 0) markReady();
          continue;
        }
        let value: T;
        try {
          value = decode(entry);
        } catch (err) {
          logger.warn({ bucket: entry.bucket, key: entry.key, err }, "skipping undecodable KV entry");
          continue;
        } finally {
          if (entry.delta === 0) markReady();
        }
        apply(entry.key, entry.revision, value);
      } else {
        apply(entry.key, entry.revision, undefined);
        if (entry.delta === 0) markReady();
      }
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        await watchOnce();
        if (!stopped) logger.warn({ lastRevision }, "KV watch ended; watching again");
      } catch (err) {
        if (stopped) break;
        logger.warn({ err, lastRevision }, "KV watch failed; retrying");
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.retryDelayMs ?? 1_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
  const running = loop();

  // The stall check (see WatchedIndexOptions.stallCheckMs).
  let behindSince: { watched: number; bucket: number } | undefined;
  let reopenedAt = 0;
  const checkStall = async (): Promise<void> => {
    if (!isReady || stopCurrent === undefined) return;
    const bucket = (await kv.status()).streamInfo.state.last_seq;
    if (bucket <= lastRevision || bucket <= reopenedAt) {
      behindSince = undefined;
      return;
    }
    if (behindSince === undefined || behindSince.watched !== lastRevision) {
      behindSince = { watched: lastRevision, bucket };
      return;
    }
    logger.warn({ watched: lastRevision, bucket }, "KV watch fell behind the bucket and does not move; watching again");
    behindSince = undefined;
    reopenedAt = bucket;
    stopCurrent();
  };
  const stallCheckMs = options.stallCheckMs ?? 5_000;
  let checking = false;
  const stallTimer =
    stallCheckMs > 0
      ? setInterval(() => {
          if (checking || stopped) return;
          checking = true;
          checkStall()
            .catch((err: unknown) => logger.debug({ err }, "cannot compare the KV watch with its bucket"))
            .finally(() => {
              checking = false;
            });
        }, stallCheckMs)
      : undefined;
  stallTimer?.unref();

  return {
    ready: () => readyPromise,
    get isReady() {
      return isReady;
    },
    get: (key) => slots.get(key)?.value,
    entry: (key) => {
      const slot = slots.get(key);
      return slot?.value === undefined ? undefined : { value: slot.value, revision: slot.revision };
    },
    values: () => [...slots.values()].flatMap((s) => (s.value === undefined ? [] : [s.value])),
    applyPut: (key, revision, value) => apply(key, revision, value),
    applyDelete: (key, revision) => {
      const slot = slots.get(key);
      if (slot && slot.revision > revision) return;
      // The deletion marker's own revision is unknown here; any put at or below
      // the deleted revision is older than the deletion and must not revive it.
      slots.set(key, { revision, value: undefined });
      if (slot?.value !== undefined) options.onChange?.({ key, previous: slot.value, current: undefined });
    },
    async stop() {
      stopped = true;
      clearInterval(stallTimer);
      stopCurrent?.();
      wake?.();
      await running;
    },
  };
}
