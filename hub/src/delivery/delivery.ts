// The hub's delivery part: follows the fleet repository, resolves each commit for the registered
// clusters and publishes what changed. One apply runs at a time; nothing here throws out of its
// loops: failures are logged, kept for the API (current(), errorsFor()) and retried.
import type { DesiredStateSigner } from "../signing/index.js";
import { messageOf } from "@gitfleet/proto/rules";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { DEFAULT_PUBLISH_CONCURRENCY, createPublisher, openDesiredBucket, type PublishFence, type Publisher } from "./publish/index.js";
import { createGitSource, type GitSource, type GitSourceOptions } from "./git/index.js";
import { createOverlayRenderer, type OverlayRenderer } from "./render/index.js";
import { createCommitLog, type CommitLog } from "./commit-log.js";
import type { BundleFailure } from "./resolution.js";
import { resolve, type RenderMemo, type Resolution } from "./resolve.js";
import { createRevisionResolver } from "./revisions.js";
import { compareCodeUnits, type ClusterRef, type Snapshot } from "./snapshot.js";

/** Where delivery learns which clusters exist; the hub's cluster store implements it. */
export interface ClusterSource {
  list(): readonly ClusterRef[] | Promise<readonly ClusterRef[]>;
}

/** The outcome label of a timed step. */
export type StepOutcome = "success" | "failure";

/** Where delivery reports how long its steps took and which Git operations failed (the hub's metrics). */
export interface DeliveryMetrics {
  /** A whole resolve of a commit for every cluster (render included). */
  resolved(seconds: number, outcome: StepOutcome): void;
  /** One overlay rendered. */
  rendered(seconds: number, outcome: StepOutcome): void;
  /** One cluster's desired state published (written, or found unchanged). */
  published(seconds: number, outcome: StepOutcome): void;
  /** A Git operation on the fleet repository failed. */
  gitError(operation: "fetch" | "push"): void;
}

/** Options of {@link createDelivery}. */
export interface DeliveryOptions {
  /** The Git source, or the options to create one (without its logger). */
  source: GitSource | Omit<GitSourceOptions, "logger">;
  /** A connection of the hub to its NATS account; delivery does not close it. */
  nats: NatsConnection;
  clusters: ClusterSource;
  logger: Logger;
  /** Signs every pointer (the hub's desired-state keyring). */
  signer: DesiredStateSigner;
  /** KV bucket for desired state; default `gitfleet_desired`. */
  bucket?: string | undefined;
  /** JetStream replicas when the bucket is created; default 1. */
  replicas?: number | undefined;
  /** Largest payload chunk; default 512 KiB. */
  maxChunkBytes?: number | undefined;
  /** Renders overlay folders; default plain folders only (kustomizations fail their bundles). */
  renderer?: OverlayRenderer | undefined;
  /** How many clusters are published at once; default {@link DEFAULT_PUBLISH_CONCURRENCY} (32). */
  concurrency?: number | undefined;
  /** The clock; default the system clock. */
  now?: (() => Date) | undefined;
  /** Told the duration of each resolve, render and publish, and each failed fetch. */
  metrics?: DeliveryMetrics | undefined;
  /** Where fetched commits are remembered; default a log of its own. Shared by successive leaders of one replica. */
  commits?: CommitLog | undefined;
  /** The delivery leader lease's fence: pointers carry its term and are never written without one. */
  fence?: PublishFence | undefined;
  /** Called after each apply and each failed fetch (the leader publishes its view for followers). */
  onChange?: (() => void) | undefined;
}

/** What delivery last saw and did, for the API. */
export interface DeliveryStatus {
  /** Head commit of the last successful fetch. */
  readonly commit: string | undefined;
  readonly fetchedAt: Date | undefined;
  /** The last commit whose fleet.yaml was valid: what clusters are resolved from. */
  readonly resolvedCommit: string | undefined;
  /** Why the last fetch, resolve or publish failed, if it did. */
  readonly error?: string | undefined;
  /** Why the last fetch failed (Git unreachable), if it did. */
  readonly fetchError?: string | undefined;
}

/** The running delivery part; see {@link createDelivery}. */
export interface Delivery {
  /** Opens the bucket and starts polling the repository. */
  start(): Promise<void>;
  /** Stops polling and waits for a running apply. The NATS connection stays open. */
  stop(): Promise<void>;
  /** Fetches, resolves and publishes now (a push webhook); resolves when done, never rejects. */
  triggerFetch(): Promise<void>;
  /** Resolves the last good commit again for the current clusters (one registered, labels changed). */
  clustersChanged(): Promise<void>;
  /** Removes a deleted cluster's desired state; rejects with PublishError when NATS fails. */
  purge(clusterId: string): Promise<void>;
  /** The bundle errors of the latest resolution for a cluster (empty when all resolved). */
  errorsFor(clusterId: string): readonly BundleFailure[];
  /** The bundle errors of the latest resolution, by cluster id. */
  errorsByCluster(): ReadonlyMap<string, readonly BundleFailure[]>;
  /** The latest good resolution (fleet.yaml, targets, per-cluster results), for the bundles API. */
  resolution(): ResolvedFleet | undefined;
  /** The commits fetched lately, with their subjects, authors and parents. */
  readonly commits: Pick<CommitLog, "info" | "descends">;
  /**
   * The resolution of any commit of the branch (whole or abbreviated sha) for the current
   * clusters, without publishing it: the latest good one when it names that commit. Rejects
   * DeliveryError (not-found, invalid-argument, failed-precondition, unavailable).
   */
  resolutionAt(revision: string): Promise<ResolvedFleet>;
  current(): DeliveryStatus;
}

interface Applied {
  commit: string;
  clusters: string;
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/** Creates the delivery part; call start() to poll, or drive it with triggerFetch(). */
export function createDelivery(options: DeliveryOptions): Delivery {
  const logger = options.logger.child({ component: "delivery" });
  const source: GitSource = "url" in options.source ? createGitSource({ ...options.source, logger }) : options.source;
  const now = options.now ?? (() => new Date());
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_PUBLISH_CONCURRENCY);

  let publisher: Promise<Publisher> | undefined;
  const metrics = options.metrics;
  const baseRenderer = options.renderer ?? createOverlayRenderer();
  // Renders for deliveries are timed; renders of other commits (environment diffs) are not.
  const renderer = timedRenderer(baseRenderer, metrics);
  let memo: RenderMemo | undefined;
  let resolved: ResolvedFleet | undefined;
  let lastGood: Snapshot | undefined;
  let applied: Applied | undefined;
  let dirty = false;
  let started = false;
  let stopped = false;
  let fetched: { commit: string; at: Date } | undefined;
  // Kept apart so that re-resolving the last good commit does not hide a broken head.
  let fetchError: string | undefined;
  let fleetError: string | undefined;
  let applyError: string | undefined;
  let errors = new Map<string, readonly BundleFailure[]>();
  let queue: Promise<unknown> = Promise.resolve();
  const commits = options.commits ?? createCommitLog();
  const changed = (): void => {
    try {
      options.onChange?.();
    } catch (err) {
      logger.error({ err }, "a delivery change listener failed");
    }
  };
  const revisions = createRevisionResolver({ source, renderer: baseRenderer, clusters: () => options.clusters.list(), memo: () => memo });

  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };

  const openPublisher = (): Promise<Publisher> => {
    publisher ??= openDesiredBucket(options.nats, {
      ...(options.bucket !== undefined ? { bucket: options.bucket } : {}),
      ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
    }).then(
      (bucket) => createPublisher({ bucket, source, logger, signer: options.signer, maxChunkBytes: options.maxChunkBytes, now, fence: options.fence }),
      (err: unknown) => {
        publisher = undefined;
        throw err;
      },
    );
    return publisher;
  };

  const failFetch = (err: unknown): void => {
    metrics?.gitError("fetch");
    fetchError = `fetching ${source.repository} failed: ${messageOf(err)}`;
    logger.error({ err }, "fetching the fleet repository failed");
    changed();
  };

  /**
   * Resolves `snapshot` for the current clusters and publishes. `head` says it is the branch head
   * (its fleet.yaml errors are reported); `force` skips the no-change check.
   */
  const apply = async (snapshot: Snapshot, head: boolean, force: boolean): Promise<void> => {
    if (stopped) return;
    const clusters = [...(await options.clusters.list())].sort((a, b) => compareCodeUnits(a.id, b.id));
    const clustersKey = JSON.stringify(clusters.map((c) => [c.id, c.name, sortedEntries(c.labels), sortedEntries(c.variables ?? {})]));
    if (!force && !dirty && applied?.commit === snapshot.commit && applied.clusters === clustersKey) return;
    const started = performance.now();
    let resolution: Resolution;
    try {
      resolution = await resolve({ snapshot, clusters, renderer, previous: memo });
    } catch (err) {
      metrics?.resolved(secondsSince(started), "failure");
      throw err;
    }
    metrics?.resolved(secondsSince(started), resolution.ok ? "success" : "failure");
    if (!resolution.ok) {
      // Nothing is published from a broken fleet.yaml; clusters keep their last good state.
      applied = { commit: snapshot.commit, clusters: clustersKey };
      dirty = false;
      if (head) fleetError = resolution.error.message;
      logger.error({ commit: snapshot.commit, issues: resolution.error.issues }, "fleet.yaml is invalid; keeping the last good state");
      return;
    }
    memo = resolution.renders;
    lastGood = snapshot;
    resolved = resolution;
    if (head) fleetError = undefined;
    errors = new Map([...resolution.clusters].map(([id, cluster]) => [id, cluster.errors]));
    const failed = new Map([...resolution.clusters.values()].flatMap((c) => c.errors.map((e) => [`${e.bundle}\0${e.target}\0${e.message}`, e] as const)));
    for (const error of failed.values()) {
      logger.warn(
        { commit: snapshot.commit, bundle: error.bundle, target: error.target, path: error.path, reason: error.reason, error: error.message },
        "bundle failed to render; its clusters keep the last good state",
      );
    }
    const pub = await openPublisher();
    const failures: string[] = [];
    await pub.publishAll(snapshot.commit, resolution.clusters.values(), {
      concurrency,
      onResult: (clusterId, result, seconds) => {
        if (result instanceof Error) {
          metrics?.published(seconds, "failure");
          failures.push(clusterId);
          logger.error({ cluster: clusterId, err: result }, "publishing desired state failed; will retry");
          return;
        }
        metrics?.published(seconds, "success");
        if (result.published) {
          logger.info({ cluster: clusterId, commit: snapshot.commit, generation: result.generation.toString(), written: result.written, removed: result.removed }, "desired state published");
        }
      },
    });
    // A failed publish, or a render that may pass later (a kustomize timeout), makes the
    // commit apply again with backoff, even though it did not change.
    dirty = failures.length > 0 || resolution.stats.unsettled > 0;
    applied = { commit: snapshot.commit, clusters: clustersKey };
    applyError = failures.length > 0 ? `publishing failed for ${failures.length} cluster(s): ${failures.join(", ")}` : undefined;
    logger.info({ commit: snapshot.commit, clusters: clusters.length, ms: Math.round(performance.now() - started), ...resolution.stats }, "resolved");
  };

  // A failed publish (NATS away, a timeout) is retried with backoff rather than at the next
  // poll, which may be an hour away when pushes arrive by webhook.
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelayMs = RETRY_MIN_MS;
  const scheduleRetry = (snapshot: Snapshot, head: boolean): void => {
    if (stopped || retryTimer !== undefined) return;
    logger.info({ commit: snapshot.commit, inMs: retryDelayMs }, "will apply the commit again");
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void applySerially(snapshot, head, false);
    }, retryDelayMs);
    retryTimer.unref();
    retryDelayMs = Math.min(retryDelayMs * 2, RETRY_MAX_MS);
  };

  /** Runs one apply in the queue; a failure is logged, kept for current() and retried with backoff. */
  const applySerially = (snapshot: Snapshot, head: boolean, force: boolean): Promise<void> =>
    serial(async () => {
      try {
        await apply(snapshot, head, force);
      } catch (err) {
        dirty = true;
        applyError = `applying commit ${snapshot.commit} failed: ${messageOf(err)}`;
        logger.error({ commit: snapshot.commit, err }, "applying a commit failed; will retry");
      }
      if (dirty) scheduleRetry(lastGood ?? snapshot, head);
      else retryDelayMs = RETRY_MIN_MS;
      changed();
    });

  const onSnapshot = (snapshot: Snapshot): Promise<void> => {
    fetched = { commit: snapshot.commit, at: now() };
    fetchError = undefined;
    if (snapshot.info) commits.remember(snapshot.commit, snapshot.info);
    return applySerially(snapshot, true, false);
  };

  return {
    async start() {
      if (started) return;
      started = true;
      try {
        await openPublisher();
      } catch (err) {
        // Not fatal: the first apply opens it again.
        applyError = messageOf(err);
        logger.error({ err }, "opening the desired state bucket failed; will retry");
      }
      source.start(onSnapshot, failFetch);
    },

    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      await source.stop();
      await queue;
    },

    async triggerFetch() {
      try {
        if (started) await source.trigger();
        else await onSnapshot(await source.fetch());
      } catch (err) {
        failFetch(err);
      }
    },

    clustersChanged() {
      // Read the last good commit behind the apply under way, not now: a cluster that registers
      // while the first commit is being resolved (lastGood still unset) is resolved right after.
      return serial(() => Promise.resolve()).then(() => {
        const snapshot = lastGood;
        return snapshot === undefined ? undefined : applySerially(snapshot, false, true);
      });
    },

    purge(clusterId) {
      return serial(async () => {
        errors.delete(clusterId);
        await (await openPublisher()).purge(clusterId);
        logger.info({ cluster: clusterId }, "desired state removed");
      });
    },

    errorsFor: (clusterId) => errors.get(clusterId) ?? [],
    errorsByCluster: () => errors,
    resolution: () => resolved,
    commits,
    resolutionAt(revision) {
      const wanted = revision.toLowerCase();
      if (resolved !== undefined && wanted.length >= 4 && resolved.commit.startsWith(wanted)) return Promise.resolve(resolved);
      return revisions.resolutionAt(revision);
    },
    current: () => ({
      commit: fetched?.commit,
      fetchedAt: fetched?.at,
      resolvedCommit: lastGood?.commit,
      error: fetchError ?? fleetError ?? applyError,
      fetchError,
    }),
  };
}

/** The successful resolution delivery publishes from. */
export type ResolvedFleet = Extract<Resolution, { ok: true }>;

function secondsSince(startedMs: number): number {
  return (performance.now() - startedMs) / 1000;
}

// Times each render; a render reused from the memo never reaches the renderer and is not counted.
function timedRenderer(renderer: OverlayRenderer, metrics: DeliveryMetrics | undefined): OverlayRenderer {
  if (!metrics) return renderer;
  return {
    async render(input) {
      const started = performance.now();
      try {
        const rendered = await renderer.render(input);
        metrics.rendered(secondsSince(started), "success");
        return rendered;
      } catch (err) {
        metrics.rendered(secondsSince(started), "failure");
        throw err;
      }
    },
  };
}

function sortedEntries(record: Readonly<Record<string, string>>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => compareCodeUnits(a, b));
}
