// The drift index: every replica keeps, per cluster, its name, labels and last contact (from the
// cluster store) and the drifted objects and bundle states of its status (from the status store's
// watch), so fleet-wide drift queries answer from memory. A change of one cluster costs
// O(that cluster's objects); a query costs O(clusters + drifted objects).
import type { StatusReport } from "@gitfleet/proto";
import type { ClusterRecord } from "../store/clusters.js";
import { compareText, statusEntry, type IndexedBundle } from "./entries.js";
import { createInterner } from "./intern.js";
import { queryDrift, type DriftPage, type DriftPageRequest } from "./query.js";
import { scannedStale, selectClusters, type DriftFilter, type ScanClock, type ScannedCluster } from "./scan.js";
import { summarizeDrift, type DriftGroupBy, type DriftSummary } from "./summary.js";
import { tallyFleet, type FleetTally } from "./tally.js";

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
  /** Clusters by state, bundles by sync and health, drifted objects by state (for metrics). */
  tally(): FleetTally;
}

// A status may arrive before its cluster's record (the two buckets load side by side): the slot
// exists from the first of them, and only slots with a record are listed.
interface Slot extends ScannedCluster {
  known: boolean;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** Creates an empty drift index; feed it with {@link feedDriftIndex} or its put methods. */
export function createDriftIndex(options: DriftIndexOptions): DriftIndex {
  const now = options.now ?? (() => new Date());
  const intern = createInterner();
  const slots = new Map<string, Slot>();
  let byName: Slot[] = [];
  let sorted = true;
  let objects = 0;
  // Clusters each recent selector matched, until a cluster comes, goes, or changes name or labels.
  const selections = new Map<string, readonly Slot[]>();
  const maxSelections = 64;

  const slotOf = (id: string): Slot => {
    let slot = slots.get(id);
    if (!slot) {
      slot = { id, name: "", labels: {}, lastSeenMs: undefined, status: undefined, known: false };
      slots.set(id, slot);
    }
    return slot;
  };
  const forget = (slot: Slot): void => {
    if (!slot.known && !slot.status) slots.delete(slot.id);
  };
  const ordered = (): Slot[] => {
    if (!sorted) {
      byName = [...slots.values()].filter((s) => s.known).sort((a, b) => compareText(a.name, b.name));
      sorted = true;
      selections.clear();
    }
    return byName;
  };
  const selected = (filter: DriftFilter): readonly Slot[] => {
    const all = ordered();
    if (!filter.selector) return all;
    const key = filter.selector.source;
    let clusters = selections.get(key);
    if (!clusters) {
      if (selections.size >= maxSelections) selections.clear();
      clusters = selectClusters(all, filter.selector);
      selections.set(key, clusters);
    }
    return clusters;
  };
  const clock = (): ScanClock => ({ nowMs: now().getTime(), staleAfterMs: options.staleAfterMs });

  return {
    putCluster(record) {
      const slot = slotOf(record.id);
      if (!slot.known || slot.name !== record.name) sorted = false;
      else if (!sameLabels(slot.labels, record.labels)) selections.clear();
      // In place: heartbeats change lastSeen many times a second across a fleet, and the sorted list holds the slot.
      slot.known = true;
      slot.name = record.name;
      slot.labels = record.labels;
      slot.lastSeenMs = record.lastSeen === null ? undefined : Date.parse(record.lastSeen);
    },
    removeCluster(clusterId) {
      const slot = slots.get(clusterId);
      if (!slot?.known) return;
      slot.known = false;
      sorted = false;
      forget(slot);
    },
    putStatus(clusterId, report) {
      const slot = slotOf(clusterId);
      objects -= slot.status?.objects.length ?? 0;
      slot.status = report ? statusEntry(report, intern) : undefined;
      objects += slot.status?.objects.length ?? 0;
      forget(slot);
    },
    query: (filter, page) => queryDrift(selected(filter), filter, clock(), page),
    summary: (filter, groupBy) => summarizeDrift(selected(filter), filter, clock(), groupBy),
    bundle: (clusterId, name) => slots.get(clusterId)?.status?.bundles.find((b) => b.name === name),
    isStale: (clusterId) => {
      const slot = slots.get(clusterId);
      return !slot?.known || scannedStale(slot, clock());
    },
    stats: () => {
      let clusters = 0;
      let statuses = 0;
      for (const slot of slots.values()) {
        if (slot.known) clusters++;
        if (slot.status) statuses++;
      }
      return { clusters, statuses, objects };
    },
    tally: () => tallyFleet(ordered(), clock()),
  };
}
