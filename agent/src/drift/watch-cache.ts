// Live copies of the objects drift watches, kept by one list-and-watch loop per kind and
// namespace. A loop lists, then watches from the list's version; when the watch ends it
// continues from the last version seen, and when that version is too old (410 Gone) or the
// watch fails it lists again after a back-off. Only tracked objects are kept. Objects added to a
// running loop make it list again at once: a watch only tells of changes, so without a list an
// unchanged object would stay unknown, and be read directly on every verify, for good.
import type { Logger } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { createBackoff } from "../backoff.js";
import type { Clock } from "../clock.js";
import { KubeApiError } from "../errors.js";
import type { KubeClient } from "../kube-client.js";
import { apiVersionOf, refKey, refOf } from "../kube-objects.js";
import type { KubeObject, ObjectRef } from "../kube-objects.js";

/** What the cache tells its owner. */
export interface WatchCacheEvents {
  /** A tracked object changed, appeared or was deleted (`live` undefined). */
  onObject(key: string, live: KubeObject | undefined): void;
  /** A loop (re)listed: every object it tracks is now known, present or not. */
  onSynced(keys: readonly string[]): void;
}

/** The cache of tracked live objects. */
export interface WatchCache {
  /** Sets the objects to watch; loops for kinds and namespaces no longer needed stop. */
  setTracked(refs: readonly ObjectRef[]): void;
  /** The live object, when its loop is synced; `undefined` object when it does not exist. */
  lookup(key: string): { synced: boolean; live: KubeObject | undefined };
  stop(): Promise<void>;
}

/** Options of {@link createWatchCache}. */
export interface WatchCacheOptions {
  kube: KubeClient;
  clock: Clock;
  logger: Logger;
  events: WatchCacheEvents;
}

interface Loop {
  refs: Map<string, ObjectRef>;
  live: Map<string, KubeObject>;
  synced: boolean;
  stop: AbortController;
  /** Aborted when objects were added: ends the watch so that the loop lists again. */
  relist: AbortController;
  done: Promise<void>;
}

const loopKey = (ref: ObjectRef): string => `${apiVersionOf(ref)}|${ref.kind}|${ref.namespace}`;

/** Creates a {@link WatchCache}; loops start as objects are tracked. */
export function createWatchCache(options: WatchCacheOptions): WatchCache {
  const { kube, clock, logger, events } = options;
  const loops = new Map<string, Loop>();
  // The loop that holds each tracked object, so a lookup is one map read.
  const owners = new Map<string, Loop>();
  const keyOf = (ref: ObjectRef): string => refKey(ref);

  const run = async (loop: Loop, sample: ObjectRef): Promise<void> => {
    const backoff = createBackoff({ minMs: 500, maxMs: 30_000 });
    const query = { apiVersion: apiVersionOf(sample), kind: sample.kind, ...(sample.namespace ? { namespace: sample.namespace } : {}) };
    let version = "";
    while (!loop.stop.signal.aborted) {
      try {
        if (version === "") {
          // Objects added from here on are covered by this list only if they are added before it answers.
          if (loop.relist.signal.aborted) loop.relist = new AbortController();
          const listed = await kube.listWithVersion(query);
          version = listed.resourceVersion;
          const present = new Map<string, KubeObject>();
          for (const item of listed.items) {
            const key = keyOf(refOf(item));
            if (loop.refs.has(key)) present.set(key, item);
          }
          const before = new Set(loop.live.keys());
          loop.live = present;
          loop.synced = true;
          for (const [key, live] of present) events.onObject(key, live);
          for (const key of before) if (!present.has(key)) events.onObject(key, undefined);
          events.onSynced([...loop.refs.keys()]);
        }
        await kube.watch({ ...query, resourceVersion: version }, (event) => {
          const rv = event.object.metadata?.resourceVersion;
          if (typeof rv === "string" && rv !== "") version = rv;
          if (event.type === "BOOKMARK") return;
          const key = keyOf(refOf(event.object));
          if (!loop.refs.has(key)) return;
          if (event.type === "DELETED") {
            loop.live.delete(key);
            events.onObject(key, undefined);
          } else {
            loop.live.set(key, event.object);
            events.onObject(key, event.object);
          }
        }, AbortSignal.any([loop.stop.signal, loop.relist.signal]));
        backoff.reset();
      } catch (error) {
        if (loop.stop.signal.aborted) break;
        if (loop.relist.signal.aborted) {
          version = "";
          continue;
        }
        const gone = error instanceof KubeApiError && error.statusCode === 410;
        if (!gone) logger.warn({ kind: sample.kind, namespace: sample.namespace, err: error }, `watch failed, listing again: ${messageOf(error)}`);
        version = "";
        loop.synced = false;
        if (!gone) await clock.sleep(backoff.next(), loop.stop.signal);
      }
      if (loop.relist.signal.aborted) version = "";
    }
  };

  return {
    setTracked(refs) {
      owners.clear();
      const wanted = new Map<string, Map<string, ObjectRef>>();
      for (const ref of refs) {
        const k = loopKey(ref);
        const group = wanted.get(k) ?? new Map<string, ObjectRef>();
        group.set(keyOf(ref), ref);
        wanted.set(k, group);
      }
      for (const [k, loop] of loops) {
        if (!wanted.has(k)) {
          loop.stop.abort();
          loops.delete(k);
        }
      }
      for (const [k, group] of wanted) {
        const existing = loops.get(k);
        if (existing) {
          const added = [...group.keys()].some((key) => !existing.refs.has(key));
          existing.refs = group;
          for (const key of group.keys()) owners.set(key, existing);
          // Objects new to a running loop are looked up directly until it has listed again.
          if (added) {
            existing.synced = false;
            existing.relist.abort();
          }
          continue;
        }
        const sample = group.values().next().value as ObjectRef;
        const loop: Loop = { refs: group, live: new Map(), synced: false, stop: new AbortController(), relist: new AbortController(), done: Promise.resolve() };
        loop.done = run(loop, sample);
        loops.set(k, loop);
        for (const key of group.keys()) owners.set(key, loop);
      }
    },
    lookup(key) {
      const loop = owners.get(key);
      return loop ? { synced: loop.synced, live: loop.live.get(key) } : { synced: false, live: undefined };
    },
    async stop() {
      for (const loop of loops.values()) loop.stop.abort();
      await Promise.all([...loops.values()].map((l) => l.done));
      loops.clear();
      owners.clear();
    },
  };
}
