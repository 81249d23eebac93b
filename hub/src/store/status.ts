// The latest StatusReport of each cluster (gitfleet_status), kept in memory on
// every replica so fleet-wide queries never touch NATS.
import { fromBinary, StatusReportSchema, toBinary, type StatusReport } from "@gitfleet/proto";
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { storeError } from "./buckets.js";
import { createWatchedIndex, type WatchedIndex } from "./watched-index.js";

/** Options of {@link createStatusStore}. */
export interface StatusStoreOptions {
  kv: KV;
  logger: Logger;
}

/** The status store. */
export interface StatusStore {
  /** Resolves once the in-memory index holds every stored report. */
  ready(): Promise<void>;
  readonly isReady: boolean;
  /** Stores the latest report of a cluster, replacing the previous one. */
  put(clusterId: string, report: StatusReport): Promise<void>;
  /** The latest report of a cluster, from memory. */
  get(clusterId: string): StatusReport | undefined;
  /** Forgets a cluster's report (when the cluster is deleted). */
  delete(clusterId: string): Promise<void>;
  stop(): Promise<void>;
}

/** Creates the status store and starts its index. */
export function createStatusStore(options: StatusStoreOptions): StatusStore {
  const { kv } = options;
  const index: WatchedIndex<StatusReport> = createWatchedIndex({
    kv,
    decode: (entry) => fromBinary(StatusReportSchema, entry.value),
    logger: options.logger.child({ index: "status" }),
  });
  return {
    ready: () => index.ready(),
    get isReady() {
      return index.isReady;
    },
    async put(clusterId, report) {
      try {
        const revision = await kv.put(clusterId, toBinary(StatusReportSchema, report));
        index.applyPut(clusterId, revision, report);
      } catch (err) {
        throw storeError(`cannot store the status of cluster ${clusterId}`, err);
      }
    },
    get: (clusterId) => index.get(clusterId),
    async delete(clusterId) {
      try {
        const entry = await kv.get(clusterId);
        await kv.purge(clusterId);
        if (entry) index.applyDelete(clusterId, entry.revision);
      } catch (err) {
        throw storeError(`cannot delete the status of cluster ${clusterId}`, err);
      }
    },
    stop: () => index.stop(),
  };
}
