// The contract between the hub's control plane and its delivery part (Git
// source, fleet.yaml resolver, desired-state publisher), so either side can be
// built, tested and replaced alone.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { HubEvents } from "./events.js";
import type { Selector } from "./labels/selector.js";
import type { ClusterRecord } from "./store/clusters.js";

/**
 * One error of one bundle for one cluster, shown by `GET /api/v1/clusters/{name}`.
 * Only `bundle` and `message` are required; the rest says where, when known.
 */
export interface BundleError {
  readonly bundle: string;
  /** What went wrong and what to do, e.g. a render error with its file and line. */
  readonly message: string;
  /** A machine-readable reason, e.g. `render-failed`. */
  readonly reason?: string | undefined;
  /** Git commit the error was seen at. */
  readonly commit?: string | undefined;
  /** The bundle's folder in the fleet repository. */
  readonly path?: string | undefined;
  readonly file?: string | undefined;
  readonly line?: number | undefined;
}

/** Where the API reads bundle errors from. */
export interface BundleErrorSource {
  /** Current errors of a cluster's bundles; empty when there are none. */
  errorsFor(clusterId: string): readonly BundleError[];
}

/** A read-only view of the fleet, live on every replica. */
export interface ClusterDirectory {
  /** Clusters matching `selector` (all when omitted), sorted by name. */
  list(selector?: Selector): ClusterRecord[];
  getByName(name: string): ClusterRecord | undefined;
}

/** What the hub gives its delivery part. */
export interface DeliveryContext {
  /** The hub's NATS connection (the gitfleet account). */
  nc: NatsConnection;
  logger: Logger;
  clusters: ClusterDirectory;
  events: HubEvents;
  /** JetStream replicas for the buckets the delivery part creates. */
  replicas: number;
  /** Asks a cluster's agent to re-read and re-apply its desired state. */
  resync(clusterId: string, reason: string, bundles?: readonly string[]): Promise<void>;
}

/**
 * The delivery part as the hub drives it. `start` runs after the stores are
 * ready and before the servers listen; `stop` must end every loop it began.
 */
export interface HubDelivery extends BundleErrorSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Fetch the fleet repository now (push webhook); must not reject. */
  triggerFetch(): Promise<void> | void;
  /**
   * The set of clusters or their names or labels changed (a registration or
   * deletion through any replica): resolve and publish for them. Carries every
   * cluster. Must not reject.
   */
  onClustersChanged(clusters: readonly ClusterRecord[]): Promise<void> | void;
  /**
   * Removes a deleted cluster's desired state, in order with publishing. When
   * absent, the hub purges the cluster's keys from gitfleet_desired itself.
   */
  purge?(clusterId: string): Promise<void>;
}

/** Builds the delivery part once the hub is connected. */
export type DeliveryFactory = (context: DeliveryContext) => HubDelivery;
