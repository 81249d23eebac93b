// The drift index: every replica keeps, per cluster, its name, labels and last contact (from the
// cluster store) and the drifted objects and bundle states of its status (from the status store's
// watch), so fleet-wide drift queries answer from memory. A change of one cluster costs
// O(that cluster's objects); a query costs O(clusters + drifted objects).
import type { StatusReport } from "@gitfleet/proto";
import { staleSince, type ClusterRecord } from "../store/clusters.js";
import { statusEntry, type IndexedBundle, type StatusEntry } from "./entries.js";
import { createInterner } from "./intern.js";
import { queryDrift, type DriftPage, type DriftPageRequest } from "./query.js";
import type { DriftFilter, ScannedCluster } from "./scan.js";
import { summarizeDrift, type DriftGroupBy, type DriftSummary } from "./summary.js";

/** Options of {@link createDriftIndex}. */
export interface DriftIndexOptions {
  /** A cluster not heard from for this long is stale. */
  staleAfterMs: number;
  now?: () => Date;
}

/** The part of a cluster record the index reads. */
export type IndexedClusterRecord = Pick<ClusterRecord, "id" | "name" | "labels" | "lastSeen">;

/** Fleet-wide drift, from memory. */
export interface DriftIndex {
  /** Records a new or changed cluster (name, labels, last contact). */
  putCluster(record: IndexedClusterRecord): void;
  removeCluster(clusterId: string): void;
  /** Replaces what the index holds of a cluster's status; undefined forgets it. */
  putStatus(clusterId: string, report: StatusReport | undefined): void;
  /** A page of drifted objects, ordered by cluster name, bundle, group, kind, namespace, name. */
  query(filter: DriftFilter, page: DriftPageRequest): DriftPage;
  /** Drift counted per group. */
  summary(filter: DriftFilter, groupBy: DriftGroupBy): DriftSummary;
  /** A bundle's last reported state in a cluster. */
  bundle(clusterId: string, name: string): IndexedBundle | undefined;
  /** True when the cluster is unknown or not heard from for longer than the stale limit. */
  isStale(clusterId: string): boolean;
  /** Clusters known, statuses held, and drifted objects held. */
  stats(): { clusters: number; statuses: number; objects: number };
}

interface ClusterSlot {
  id: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  lastSeenMs: number | undefined;
}

/** Creates an empty drift index; feed it with {@link feedDriftIndex} or its put methods. */
export function createDriftIndex(options: DriftIndexOptions): DriftIndex {
  const now = options.now ?? (() => new Date());
  const intern = createInterner();
  const clusters = new Map<string, ClusterSlot>();
  const statuses = new Map<string, StatusEntry>();
  let byName: ClusterSlot[] = [];
  let sorted = true;
  let objects = 0;

  const ordered = (): ClusterSlot[] => {
    if (!sorted) {
      byName = [...clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      sorted = true;
    }
    return byName;
  };

  const stale = (slot: ClusterSlot | undefined, atMs: number): boolean => !slot || staleSince(slot.lastSeenMs, atMs, options.staleAfterMs);

  // A fresh view per query: staleness is read at one instant for the whole answer.
  function* scanned(): Generator<ScannedCluster> {
    const at = now().getTime();
    for (const slot of ordered()) {
      yield { id: slot.id, name: slot.name, labels: slot.labels, stale: stale(slot, at), status: statuses.get(slot.id) };
    }
  }

  return {
    putCluster(record) {
      const slot = clusters.get(record.id);
      const lastSeenMs = record.lastSeen === null ? undefined : Date.parse(record.lastSeen);
      if (!slot) {
        clusters.set(record.id, { id: record.id, name: record.name, labels: record.labels, lastSeenMs });
        sorted = false;
        return;
      }
      // In place: heartbeats change lastSeen many times a second across a fleet, and the sorted list holds the slot.
      if (slot.name !== record.name) sorted = false;
      Object.assign(slot, { name: record.name, labels: record.labels, lastSeenMs });
    },
    removeCluster(clusterId) {
      if (clusters.delete(clusterId)) sorted = false;
    },
    putStatus(clusterId, report) {
      objects -= statuses.get(clusterId)?.objects.length ?? 0;
      if (!report) {
        statuses.delete(clusterId);
        return;
      }
      const entry = statusEntry(report, intern);
      statuses.set(clusterId, entry);
      objects += entry.objects.length;
    },
    query: (filter, page) => queryDrift(scanned(), filter, page),
    summary: (filter, groupBy) => summarizeDrift(scanned(), filter, groupBy),
    bundle: (clusterId, name) => statuses.get(clusterId)?.bundles.find((b) => b.name === name),
    isStale: (clusterId) => stale(clusters.get(clusterId), now().getTime()),
    stats: () => ({ clusters: clusters.size, statuses: statuses.size, objects }),
  };
}
