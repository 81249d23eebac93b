// Cluster records (gitfleet_clusters) with unique names (gitfleet_cluster_names),
// and a live in-memory index of them on every hub replica.
import type { KV } from "@nats-io/kv";
import type { Logger } from "pino";
import { HubError } from "../errors.js";
import type { Labels } from "@gitfleet/proto/rules";
import { matchesSelector, type Selector } from "../labels/selector.js";
import { isRevisionConflict, storeError } from "./buckets.js";
import { createWatchedIndex, type IndexChange, type WatchedIndex } from "./watched-index.js";

/** A registered cluster, as stored (JSON) in gitfleet_clusters under its id. */
export interface ClusterRecord {
  /** `c` followed by 20 lowercase base32 characters; never reused. */
  id: string;
  /** DNS label, unique in the fleet. */
  name: string;
  labels: Labels;
  /**
   * Variables for substitution in this cluster's bundles, set by an operator
   * (PATCH /api/v1/clusters/{name}); they override a target's. Absent on records
   * that never had any.
   */
  variables?: Record<string, string>;
  registeredAt: string;
  /** When the agent last said anything on its stream; null before its first Connect. */
  lastSeen: string | null;
  /** True while a Connect stream of the agent is open on some hub replica. */
  connected: boolean;
  /** gRPC tokens of an older epoch are refused; bumping it revokes them all. */
  credentialEpoch: number;
  natsUserPublicKey: string;
  signingPublicKey: string;
  agentVersion: string;
  kubernetesVersion: string;
  /** Git revision the agent last reported as applied; empty before its first report. */
  observedRevision: string;
  observedGeneration: number;
  /** The registration token the cluster registered with. */
  registrationTokenId: string;
  /** Expiry of the newest credentials issued to the agent (its NATS JWT lives until then). */
  credentialsExpireAt: string | null;
  /**
   * signed_at (ms since the epoch) of the last Renew accepted for this cluster; a Renew must be
   * signed later than this. Set with compare-and-set, so two replicas cannot accept one request.
   * Absent before the first Renew.
   */
  lastRenewSignedAtMs?: number;
  /** The Connect stream that last marked the cluster connected, so a stale stream cannot mark it disconnected. */
  session: string | null;
}

/**
 * True when the cluster's agent was not heard from (heartbeat or status) for `staleAfterMs`, or
 * never was: its last reported state may no longer hold, so it is never shown as in sync or healthy.
 */
export function clusterStale(cluster: Pick<ClusterRecord, "lastSeen">, now: Date, staleAfterMs: number): boolean {
  return staleSince(cluster.lastSeen === null ? undefined : Date.parse(cluster.lastSeen), now.getTime(), staleAfterMs);
}

/** {@link clusterStale} on times in milliseconds, for callers that keep lastSeen parsed. */
export function staleSince(lastSeenMs: number | undefined, nowMs: number, staleAfterMs: number): boolean {
  return lastSeenMs === undefined || !(nowMs - lastSeenMs < staleAfterMs);
}

/** A change of the cluster set, local or made by another hub replica. */
export type ClusterChange =
  | { type: "added"; cluster: ClusterRecord }
  | { type: "updated"; cluster: ClusterRecord; previous: ClusterRecord }
  | { type: "removed"; cluster: ClusterRecord };

/** Options of {@link createClusterStore}. */
export interface ClusterStoreOptions {
  clusters: KV;
  names: KV;
  logger: Logger;
  now?: () => Date;
  /** A name reservation without a cluster record is taken over after this long; default 60 s. */
  staleReservationMs?: number;
}

/** The cluster store. */
export interface ClusterStore {
  /** Resolves once the in-memory index holds every stored cluster. */
  ready(): Promise<void>;
  readonly isReady: boolean;
  /**
   * Reserves `name` for `clusterId` (registering with token `tokenId`) across all replicas; throws
   * HubError `already-exists` when another cluster has it, `unavailable` while another
   * registration holds it without a record yet. Resolves with the holder of a stale reservation
   * it took over (a registration that died with its replica), whose token use is to be given back.
   */
  reserveName(name: string, clusterId: string, tokenId?: string): Promise<StaleReservation | undefined>;
  /**
   * Frees `name` when it is held by a stale reservation (no record, older than the stale time),
   * and resolves with its holder; undefined when it is free or has a record. Throws HubError
   * `unavailable` while a younger reservation holds it.
   */
  reclaimStaleName(name: string): Promise<StaleReservation | undefined>;
  /** Frees a reservation made by {@link reserveName} for `clusterId`. */
  releaseName(name: string, clusterId: string): Promise<void>;
  /** Stores a new record; its name must be reserved for its id. */
  create(record: ClusterRecord): Promise<ClusterRecord>;
  /** From the index, or from KV when another replica created it a moment ago. */
  get(id: string): Promise<ClusterRecord | undefined>;
  /** Reads the record from KV, bypassing the index. */
  read(id: string): Promise<ClusterRecord | undefined>;
  /** Whether the index holds cluster `id` (stored here, or seen through the watch). */
  has(id: string): boolean;
  getByName(name: string): ClusterRecord | undefined;
  /** The record holding `name`, read from KV (bypassing the index, which may not have it yet). */
  readByName(name: string): Promise<ClusterRecord | undefined>;
  /** Clusters whose labels match `selector` (all when omitted), sorted by name. */
  list(selector?: Selector): ClusterRecord[];
  /**
   * Changes a record with compare-and-set, retrying on conflict; `change`
   * returns undefined to leave it as is. Throws `not-found` when it is gone.
   */
  update(id: string, change: (record: ClusterRecord) => ClusterRecord | undefined): Promise<ClusterRecord>;
  /** Deletes the record and frees its name; returns what was deleted. */
  delete(id: string): Promise<ClusterRecord>;
  /** Calls `listener` on every change; returns the function that unsubscribes. */
  subscribe(listener: (change: ClusterChange) => void): () => void;
  stop(): Promise<void>;
}

interface NameReservation {
  clusterId: string;
  reservedAt: string;
  /** The token the registration used (absent in reservations of older hubs). */
  tokenId?: string;
}

/** A name reservation left by a registration that died before storing its record. */
export interface StaleReservation {
  clusterId: string;
  tokenId?: string | undefined;
}

/** Creates the cluster store and starts its index. */
export function createClusterStore(options: ClusterStoreOptions): ClusterStore {
  const { clusters, names, logger } = options;
  const now = options.now ?? (() => new Date());
  const staleMs = options.staleReservationMs ?? 60_000;
  const listeners = new Set<(change: ClusterChange) => void>();

  // By name, and the sorted list, kept beside the index so lookups and listings do not scan or
  // sort the fleet on every call.
  const byName = new Map<string, ClusterRecord>();
  let sorted: ClusterRecord[] | undefined;
  const notify = ({ previous, current }: IndexChange<ClusterRecord>): void => {
    if (previous && byName.get(previous.name) === previous) byName.delete(previous.name);
    if (current) byName.set(current.name, current);
    if (!current || !previous || current.name !== previous.name) sorted = undefined;
    else if (sorted) {
      const at = sorted.indexOf(previous);
      if (at >= 0) sorted[at] = current;
      else sorted = undefined;
    }
    const change: ClusterChange | undefined =
      current && previous
        ? { type: "updated", cluster: current, previous }
        : current
          ? { type: "added", cluster: current }
          : previous
            ? { type: "removed", cluster: previous }
            : undefined;
    if (!change) return;
    for (const listener of listeners) {
      try {
        listener(change);
      } catch (err) {
        logger.error({ err, cluster: change.cluster.id }, "cluster change listener failed");
      }
    }
  };

  const index: WatchedIndex<ClusterRecord> = createWatchedIndex({
    kv: clusters,
    decode: (entry) => entry.json<ClusterRecord>(),
    logger: logger.child({ index: "clusters" }),
    onChange: notify,
  });

  const readEntry = async (id: string): Promise<{ record: ClusterRecord; revision: number } | undefined> => {
    try {
      const entry = await clusters.get(id);
      if (!entry || entry.operation !== "PUT") return undefined;
      return { record: entry.json<ClusterRecord>(), revision: entry.revision };
    } catch (err) {
      throw storeError(`cannot read cluster ${id}`, err);
    }
  };

  const taken = (name: string): HubError =>
    new HubError("already-exists", `cluster name ${name} is already registered`);

  // The reservation of `name` when its registration died: no record, and older than the stale
  // time. Undefined when the name is free or has a record; HubError unavailable while it is young.
  const staleHolder = async (name: string): Promise<{ holder: NameReservation; revision: number } | undefined> => {
    const entry = await names.get(name);
    if (!entry || entry.operation !== "PUT") return undefined;
    const holder = entry.json<NameReservation>();
    if ((await readEntry(holder.clusterId)) !== undefined) return undefined;
    // Another registration holds the name but has not stored its record yet: it may still do
    // so, or it died with its replica. Either way a moment tells, so the caller retries.
    if (now().getTime() - Date.parse(holder.reservedAt) < staleMs) {
      throw new HubError("unavailable", `cluster name ${name} is being registered by another request; retry in a moment`);
    }
    return { holder, revision: entry.revision };
  };

  return {
    ready: () => index.ready(),
    get isReady() {
      return index.isReady;
    },

    async reserveName(name, clusterId, tokenId) {
      const value = JSON.stringify({ clusterId, reservedAt: now().toISOString(), ...(tokenId ? { tokenId } : {}) } satisfies NameReservation);
      try {
        await names.create(name, value);
        return undefined;
      } catch (err) {
        if (!isRevisionConflict(err)) throw storeError(`cannot reserve cluster name ${name}`, err);
      }
      // Taken, unless a registration died between reserving and storing its record.
      const held = await staleHolder(name);
      if (!held) throw taken(name);
      try {
        await names.update(name, value, held.revision);
        logger.warn({ name, staleClusterId: held.holder.clusterId }, "took over a stale cluster name reservation");
        return { clusterId: held.holder.clusterId, tokenId: held.holder.tokenId };
      } catch (err) {
        if (isRevisionConflict(err)) throw taken(name);
        throw storeError(`cannot reserve cluster name ${name}`, err);
      }
    },

    async reclaimStaleName(name) {
      const held = await staleHolder(name);
      if (!held) return undefined;
      try {
        await names.delete(name, { previousSeq: held.revision });
      } catch (err) {
        if (isRevisionConflict(err)) return undefined;
        throw storeError(`cannot free cluster name ${name}`, err);
      }
      logger.warn({ name, staleClusterId: held.holder.clusterId }, "freed a stale cluster name reservation");
      return { clusterId: held.holder.clusterId, tokenId: held.holder.tokenId };
    },

    async releaseName(name, clusterId) {
      try {
        const entry = await names.get(name);
        if (!entry || entry.operation !== "PUT") return;
        if (entry.json<NameReservation>().clusterId !== clusterId) return;
        await names.delete(name, { previousSeq: entry.revision });
      } catch (err) {
        if (isRevisionConflict(err)) return;
        throw storeError(`cannot release cluster name ${name}`, err);
      }
    },

    async create(record) {
      let revision: number;
      try {
        revision = await clusters.create(record.id, JSON.stringify(record));
      } catch (err) {
        if (isRevisionConflict(err)) throw new HubError("conflict", `cluster id ${record.id} is already in use`);
        throw storeError(`cannot store cluster ${record.name}`, err);
      }
      index.applyPut(record.id, revision, record);
      return record;
    },

    async get(id) {
      return index.get(id) ?? (await readEntry(id))?.record;
    },

    async read(id) {
      return (await readEntry(id))?.record;
    },

    has(id) {
      return index.get(id) !== undefined;
    },

    getByName(name) {
      return byName.get(name);
    },

    async readByName(name) {
      let entry;
      try {
        entry = await names.get(name);
      } catch (err) {
        throw storeError(`cannot read cluster name ${name}`, err);
      }
      if (!entry || entry.operation !== "PUT") return undefined;
      const record = (await readEntry(entry.json<NameReservation>().clusterId))?.record;
      return record?.name === name ? record : undefined;
    },

    list(selector) {
      sorted ??= index.values().sort((a, b) => a.name.localeCompare(b.name));
      return selector ? sorted.filter((c) => matchesSelector(selector, c.labels)) : [...sorted];
    },

    async update(id, change) {
      for (let attempt = 0; attempt < 50; attempt++) {
        // First from the index (a heartbeat's write needs no read before it: at 10,000 clusters the
        // reads were half of the hub's NATS requests); the compare-and-set refuses a stale copy,
        // and every later attempt reads the bucket.
        const indexed = attempt === 0 ? index.entry(id) : undefined;
        const current = indexed ? { record: indexed.value, revision: indexed.revision } : await readEntry(id);
        if (!current) throw new HubError("not-found", `cluster ${id} does not exist`);
        const next = change(current.record);
        if (!next) return current.record;
        try {
          const revision = await clusters.update(id, JSON.stringify(next), current.revision);
          index.applyPut(id, revision, next);
          return next;
        } catch (err) {
          if (!isRevisionConflict(err)) throw storeError(`cannot update cluster ${id}`, err);
        }
      }
      throw new HubError("unavailable", `cluster ${id} is under heavy contention; try again`);
    },

    async delete(id) {
      for (let attempt = 0; attempt < 50; attempt++) {
        const current = await readEntry(id);
        if (!current) throw new HubError("not-found", `cluster ${id} does not exist`);
        try {
          await clusters.delete(id, { previousSeq: current.revision });
        } catch (err) {
          if (isRevisionConflict(err)) continue;
          throw storeError(`cannot delete cluster ${id}`, err);
        }
        index.applyDelete(id, current.revision);
        await this.releaseName(current.record.name, id);
        return current.record;
      }
      throw new HubError("unavailable", `cluster ${id} is under heavy contention; try again`);
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    stop: () => index.stop(),
  };
}
