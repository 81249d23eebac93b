// The whole status of each cluster (gitfleet_status), kept on every replica as the compressed
// bytes stored in KV (status-codec.ts) and decoded only when read; listeners get every change
// decoded once, which is how the drift index stays current without touching NATS.
import type { StatusReport } from "@gitfleet/proto";
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { storeError } from "./buckets.js";
import { decodeStatus, encodeStatus } from "./status-codec.js";
import { createWatchedIndex, type WatchedIndex } from "./watched-index.js";

/** Options of {@link createStatusStore}. */
export interface StatusStoreOptions {
  kv: KV;
  logger: Logger;
}

/** A cluster's status changed (locally or through another replica); `report` is undefined once deleted. */
export interface StatusChange {
  clusterId: string;
  report: StatusReport | undefined;
}

/** The status store. */
export interface StatusStore {
  /** Resolves once the in-memory index holds every stored report. */
  ready(): Promise<void>;
  readonly isReady: boolean;
  /** Stores the whole status of a cluster, replacing the previous one. */
  put(clusterId: string, report: StatusReport): Promise<void>;
  /** The whole status of a cluster, decoded from memory. */
  get(clusterId: string): StatusReport | undefined;
  /** Forgets a cluster's report (when the cluster is deleted). */
  delete(clusterId: string): Promise<void>;
  /**
   * Calls `listener` on every change from now on, including the initial load when subscribed
   * right after {@link createStatusStore} (the watch starts delivering only after it awaited NATS).
   * Returns the function that unsubscribes.
   */
  subscribe(listener: (change: StatusChange) => void): () => void;
  stop(): Promise<void>;
}

/** Creates the status store and starts its index. */
export function createStatusStore(options: StatusStoreOptions): StatusStore {
  const { kv, logger } = options;
  const listeners = new Set<(change: StatusChange) => void>();
  // The report just decoded (or just stored), so the change it causes is not decoded twice.
  let fresh: { bytes: Uint8Array; report: StatusReport } | undefined;

  const index: WatchedIndex<Uint8Array> = createWatchedIndex({
    kv,
    decode: (entry) => {
      // A copy: the entry's bytes may be a view into a much larger read buffer.
      const bytes = entry.value.slice();
      fresh = { bytes, report: decodeStatus(bytes) };
      return bytes;
    },
    logger: logger.child({ index: "status" }),
    onChange: ({ key, current }) => {
      const report = current === undefined ? undefined : fresh?.bytes === current ? fresh.report : decodeStatus(current);
      fresh = undefined;
      for (const listener of listeners) {
        try {
          listener({ clusterId: key, report });
        } catch (err) {
          logger.error({ err, clusterId: key }, "status change listener failed");
        }
      }
    },
  });

  return {
    ready: () => index.ready(),
    get isReady() {
      return index.isReady;
    },
    async put(clusterId, report) {
      const encoded = encodeStatus(clusterId, report);
      try {
        const revision = await kv.put(clusterId, encoded.bytes);
        fresh = encoded;
        index.applyPut(clusterId, revision, encoded.bytes);
      } catch (err) {
        throw storeError(`cannot store the status of cluster ${clusterId}`, err);
      } finally {
        fresh = undefined;
      }
    },
    get(clusterId) {
      const bytes = index.get(clusterId);
      return bytes === undefined ? undefined : decodeStatus(bytes);
    },
    async delete(clusterId) {
      try {
        const entry = await kv.get(clusterId);
        await kv.purge(clusterId);
        if (entry) index.applyDelete(clusterId, entry.revision);
      } catch (err) {
        throw storeError(`cannot delete the status of cluster ${clusterId}`, err);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => index.stop(),
  };
}
