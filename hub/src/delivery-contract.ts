// The contract between the hub's control plane and its delivery part (Git
// source, fleet.yaml resolver, desired-state publisher), so either side can be
// built, tested and replaced alone.
import type { DesiredStateSigner } from "./signing/index.js";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { CommitInfo, DeliveryLease, DeliveryMetrics, FleetSpec } from "./delivery/index.js";
import type { HubEvents } from "./events.js";
import type { Selector } from "./labels/selector.js";
import type { ClusterRecord } from "./store/clusters.js";

/**
 * One error of one bundle for one cluster, shown by `GET /api/v1/clusters/{name}`.
 * Only `bundle` and `message` are required; the rest says where, when known.
 */
export interface BundleError {
  readonly bundle: string;
  /** The bundle's target the cluster matched. */
  readonly target?: string | undefined;
  /** What went wrong and what to do, e.g. a render error with its file and line. */
  readonly message: string;
  /** A machine-readable reason, e.g. `render-failed`. */
  readonly reason?: string | undefined;
  /** Git commit the error was seen at. */
  readonly commit?: string | undefined;
  /** The overlay folder in the fleet repository. */
  readonly path?: string | undefined;
  readonly file?: string | undefined;
  readonly line?: number | undefined;
}

/** Where the API reads bundle errors from. */
export interface BundleErrorSource {
  /** Current errors of a cluster's bundles; empty when there are none. */
  errorsFor(clusterId: string): readonly BundleError[];
}

/** One target of a bundle and the clusters it took at the last good commit. */
export interface FleetBundleTarget {
  readonly name: string;
  /** Its clusterSelector in kubectl syntax; "" matches every cluster. */
  readonly clusterSelector: string;
  /** The overlay folder in the fleet repository. */
  readonly overlay: string;
  readonly variables: Readonly<Record<string, string>>;
  /** Clusters whose first matching target this is; `desiredDigest` is absent while their bundle fails. */
  readonly clusters: readonly { readonly clusterId: string; readonly desiredDigest?: string | undefined }[];
}

/** A JSON pointer ignored on every object, or one scoped to objects (absent scope fields match any). */
export type FleetIgnoreRule =
  | string
  | { readonly path: string; readonly group?: string; readonly kind?: string; readonly namespace?: string; readonly name?: string };

/** One bundle of fleet.yaml as resolved at the last good commit. */
export interface FleetBundle {
  readonly name: string;
  /** The bundle root in the fleet repository. */
  readonly path: string;
  readonly namespace?: string | undefined;
  readonly drift: string;
  readonly prune: boolean;
  /** Ignore rules as fleet.yaml writes them: a JSON pointer, or a pointer scoped to objects. */
  readonly ignore: readonly FleetIgnoreRule[];
  readonly targets: readonly FleetBundleTarget[];
}

/** The bundles of the last good commit, and why the head is not resolved when it is not. */
export interface FleetBundles {
  readonly commit: string;
  readonly bundles: readonly FleetBundle[];
  /** Set when the head commit could not be resolved (fleet.yaml invalid, fetch failed). */
  readonly error?: string | undefined;
}

/** Where the API reads the fleet's bundles from. */
export interface FleetBundleSource {
  /** Undefined before the first good resolution. */
  bundles(): FleetBundles | undefined;
}

/** The commits of the fleet repository the delivery part fetched lately (a bounded memory). */
export interface FleetCommits {
  /** Subject, author, time, trailers and parents of a fetched commit; undefined when not (or no longer) known. */
  info(commit: string): CommitInfo | undefined;
  /** True when `head` is `ancestor` or a commit after it, as far as the fetched commits tell. */
  descends(head: string, ancestor: string): boolean;
}

/** One bundle of one cluster as rendered at a commit: the objects its agent would apply. */
export interface EnvironmentBundle {
  readonly name: string;
  readonly target: string;
  readonly overlay: string;
  /** The payload digest (what the agent reports back when it runs it). */
  readonly digest: string;
  readonly objects: readonly Readonly<Record<string, unknown>>[];
}

/** One cluster's desired state at a commit. */
export interface EnvironmentCluster {
  readonly name: string;
  /** Bundles that rendered, in fleet.yaml order. */
  readonly bundles: readonly EnvironmentBundle[];
  /** Bundles aimed at the cluster that failed to render at that commit. */
  readonly errors: readonly BundleError[];
}

/** A pipeline stage as the commit's fleet.yaml defines it, with the clusters it covers. */
export interface EnvironmentStage {
  readonly pipeline: string;
  readonly bundle: string;
  readonly name: string;
  readonly target: string;
  /** Clusters that match the stage and get the bundle from its target, by name. */
  readonly clusters: readonly string[];
}

/** The fleet's desired state at one commit, for registered clusters as they are now. */
export interface EnvironmentRevision {
  /** The commit (40 hex). */
  readonly commit: string;
  /** Every cluster resolved at that commit, by name, sorted. */
  readonly clusterNames: readonly string[];
  readonly stages: readonly EnvironmentStage[];
  /** A cluster's bundles at that commit; undefined for a name not resolved. */
  cluster(name: string): EnvironmentCluster | undefined;
}

/** Where environment diffs read rendered desired state from. */
export interface EnvironmentSource {
  /**
   * The desired state at `revision` (a whole or abbreviated commit sha of the followed branch), or
   * at the last good commit when omitted. Rejects HubError: "not-found" (no such commit),
   * "invalid-argument" (malformed or ambiguous sha), "failed-precondition" (fleet.yaml invalid
   * there, or nothing resolved yet), "unavailable" (Git unreachable).
   */
  at(revision?: string): Promise<EnvironmentRevision>;
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
  /** Signs desired-state pointers with the hub's active key; every pointer must be signed. */
  signer: DesiredStateSigner;
  /** Asks a cluster's agent to re-read and re-apply its desired state. */
  resync(clusterId: string, reason: string, bundles?: readonly string[]): Promise<void>;
  /** Where the delivery part reports its timings and Git errors (the hub's metrics). */
  metrics?: DeliveryMetrics | undefined;
  /**
   * The delivery leader lease shared by the hub's replicas: only its holder follows Git and
   * publishes (docs/high-availability.md). Absent: this replica always delivers.
   */
  leadership?: DeliveryLeadership | undefined;
}

/** What the delivery part sees of the delivery leader lease. */
export type DeliveryLeadership = Pick<DeliveryLease, "role" | "owner" | "fence" | "stepDown" | "onChange">;

/**
 * The delivery part as the hub drives it. `start` runs after the stores are
 * ready and before the servers listen; `stop` must end every loop it began.
 */
export interface HubDelivery extends BundleErrorSource, Partial<FleetBundleSource> {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Fetch the fleet repository now (push webhook); must not reject. */
  triggerFetch(): Promise<void> | void;
  /**
   * The set of clusters or their names, labels or variables changed (a registration, an update or
   * deletion through any replica): resolve and publish for them. Carries every
   * cluster. Must not reject.
   */
  onClustersChanged(clusters: readonly ClusterRecord[]): Promise<void> | void;
  /**
   * Removes a deleted cluster's desired state, in order with publishing. When
   * absent, the hub purges the cluster's keys from gitfleet_desired itself.
   */
  purge?(clusterId: string): Promise<void>;
  /** The commits fetched lately; absent when the delivery part does not follow Git. */
  readonly commits?: FleetCommits;
  /** Rendered desired state at any commit, for environment diffs; absent without a Git source. */
  readonly environments?: EnvironmentSource;
  /** Reading the fleet repository's head and writing commits to it; absent without a Git source. */
  readonly repository?: FleetRepository | undefined;
  /** Why the fleet repository cannot be fetched (the leader's last fetch), or undefined when it can; for /readyz. */
  sourceError?(): string | undefined;
}

/** The head of the fleet repository's branch. */
export interface FleetHead {
  readonly commit: string;
  /** Every regular file of the commit, by repository-relative path. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** The fleet repository as promotions read and write it. */
export interface FleetRepository {
  /**
   * Fetches the branch head now: commit, files and validated fleet.yaml. Rejects HubError
   * "unavailable" when unreachable, "failed-precondition" when fleet.yaml is invalid or the
   * credentials cannot read the repository.
   */
  head(): Promise<FleetHead & { readonly fleet: FleetSpec }>;
  /**
   * Writes one commit on the branch and pushes it; on a non-fast-forward fetches again and calls
   * `change()` again (at most 5 attempts). Rejects HubError "unavailable" when unreachable (or the
   * branch kept moving), "failed-precondition" when the credentials cannot push, and whatever
   * `change()` throws (e.g. "conflict").
   */
  commit(request: CommitRequest): Promise<CommitResult>;
}

/** One commit to write with {@link FleetRepository.commit}. */
export interface CommitRequest {
  /** Subject, body and trailers, already formatted. */
  readonly message: string;
  readonly author: { readonly name: string; readonly email: string };
  /**
   * Given the head, the new content of each changed file (null deletes), by repository-relative
   * path. Throwing aborts the commit with that error (e.g. HubError "conflict"). Returning an
   * empty map, or changes that leave every file as it is, aborts with HubError "conflict"
   * "nothing to change".
   */
  change(head: FleetHead): ReadonlyMap<string, string | null> | Promise<ReadonlyMap<string, string | null>>;
}

/** The commit {@link FleetRepository.commit} pushed. */
export interface CommitResult {
  readonly commit: string;
  /** The head it was written on. */
  readonly parent: string;
  /** 1 when the first push went through; more when the branch moved meanwhile. */
  readonly attempts: number;
}

/** Builds the delivery part once the hub is connected. */
export type DeliveryFactory = (context: DeliveryContext) => HubDelivery;
