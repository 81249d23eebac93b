// The delivery part across hub replicas (docs/high-availability.md). Only the holder of the
// delivery leader lease runs a started Delivery: it follows Git, resolves and publishes, and after
// each resolution writes a compact view (head and last good commit, bundles, per-cluster bundle
// errors, source error, recent commits) that every replica follows. Followers answer the API from
// that view, forward Git push webhooks to the leader over NATS, and leave cluster changes to it.
// Request-driven work (environment diffs at a commit, purges of deleted clusters) runs on any
// replica with an idle Delivery that is never started.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { BundleError, DeliveryContext, DeliveryLeadership, EnvironmentSource, FleetBundles, FleetCommits } from "./delivery-contract.js";
import { environmentSource } from "./delivery-environments.js";
import { createCommitLog, openSharedView, ViewFencedError, type CommitInfo, type Delivery, type DeliveryOptions, type SharedView } from "./delivery/index.js";
import { HubError } from "./errors.js";

/** The NATS subject a follower forwards a Git push to; the leader answers once it has fetched. */
export const DELIVERY_FETCH_SUBJECT = "gitfleet.hub.delivery.fetch";

/** What the leader tells its followers after each resolution and failed fetch. */
export interface DeliveryView {
  owner: string;
  term: number;
  commit?: string | undefined;
  fetchedAt?: string | undefined;
  resolvedCommit?: string | undefined;
  error?: string | undefined;
  fetchError?: string | undefined;
  bundles?: FleetBundles | undefined;
  errors: Record<string, readonly BundleError[]>;
  /** The newest commits the leader fetched, oldest first (history reads their subjects). */
  commits: [string, CommitInfo][];
}

/** Options of {@link replicatedDelivery}. */
export interface ReplicatedDeliveryOptions {
  context: DeliveryContext;
  /** Builds a Delivery; `extra` carries the fence, the shared commit log and the change hook. */
  build(extra: Pick<DeliveryOptions, "fence" | "commits" | "onChange">): Delivery;
  /** The bundles API's view of the delivery's latest resolution. */
  bundles(delivery: Delivery): FleetBundles | undefined;
  /** How long a follower waits for the leader's fetch after forwarding a push; default 60 s. */
  forwardTimeoutMs?: number | undefined;
  /**
   * Checks that this replica reaches Git (rejects saying why). A follower runs it at start and
   * every `probeIntervalMs` (default 60 s), so its /readyz tells its own Git reachability.
   */
  probeSource?: (() => Promise<unknown>) | undefined;
  probeIntervalMs?: number | undefined;
}

/** The replicated delivery: see the file comment. */
export interface ReplicatedDelivery {
  start(): Promise<void>;
  stop(): Promise<void>;
  triggerFetch(): Promise<void>;
  clustersChanged(): Promise<void>;
  purge(clusterId: string): Promise<void>;
  errorsFor(clusterId: string): readonly BundleError[];
  bundles(): FleetBundles | undefined;
  sourceError(): string | undefined;
  readonly commits: FleetCommits;
  readonly environments: EnvironmentSource;
}

const VIEW_COMMITS = 50;

/** Creates the replicated delivery over `options.context.leadership` (always leading without one). */
export function replicatedDelivery(options: ReplicatedDeliveryOptions): ReplicatedDelivery {
  const { context } = options;
  const logger: Logger = context.logger;
  const nc: NatsConnection = context.nc;
  const leadership: DeliveryLeadership | undefined = context.leadership;
  const commits = createCommitLog();
  // Commits in the order fetched, for the view.
  const recent: string[] = [];
  const remembered = {
    info: (commit: string) => commits.info(commit),
    descends: (head: string, ancestor: string) => commits.descends(head, ancestor),
  };
  const forwardTimeoutMs = options.forwardTimeoutMs ?? 60_000;

  let active: { delivery: Delivery; term: number | undefined; sub?: Subscription } | undefined;
  let followed: DeliveryView | undefined;
  let view: Promise<SharedView<DeliveryView>> | undefined;
  let stopFollowing: (() => Promise<void>) | undefined;
  let unsubscribe: (() => void) | undefined;
  let transitions: Promise<void> = Promise.resolve();
  let stopped = false;
  let writing = false;
  let writeAgain = false;

  const sharedView = (): Promise<SharedView<DeliveryView>> => {
    view ??= openSharedView<DeliveryView>(nc, { replicas: context.replicas, logger }).catch((err: unknown) => {
      view = undefined;
      throw err;
    });
    return view;
  };

  const remember = (commit: string, info: CommitInfo | undefined): void => {
    if (!info) return;
    commits.remember(commit, info);
    const at = recent.indexOf(commit);
    if (at >= 0) recent.splice(at, 1);
    recent.push(commit);
    if (recent.length > VIEW_COMMITS) recent.shift();
  };

  const fence = leadership && {
    term: () => leadership.fence(),
    deposed: (pointerTerm: number, clusterId: string) => leadership.stepDown(`cluster ${clusterId}'s pointer has leader term ${pointerTerm}`, pointerTerm),
  };

  // Sharing the commit log keeps history's commit subjects across terms; `recent` feeds the view.
  const sharedLog = {
    remember(commit: string, info: CommitInfo) {
      remember(commit, info);
    },
    info: remembered.info,
    descends: remembered.descends,
  };

  const viewOf = (delivery: Delivery, term: number): DeliveryView => {
    const status = delivery.current();
    const errors: Record<string, readonly BundleError[]> = {};
    for (const [clusterId, failures] of delivery.errorsByCluster()) if (failures.length > 0) errors[clusterId] = failures;
    return {
      owner: leadership?.owner ?? "",
      term,
      commit: status.commit,
      fetchedAt: status.fetchedAt?.toISOString(),
      resolvedCommit: status.resolvedCommit,
      error: status.error,
      fetchError: status.fetchError,
      bundles: options.bundles(delivery),
      errors,
      commits: recent.flatMap((c): [string, CommitInfo][] => {
        const info = commits.info(c);
        return info ? [[c, info]] : [];
      }),
    };
  };

  // One write at a time; a change during a write writes once more with the newest state.
  const writeView = (): void => {
    if (!leadership || !active) return;
    if (writing) {
      writeAgain = true;
      return;
    }
    const current = active;
    const term = leadership.fence();
    if (term === undefined) return;
    writing = true;
    void sharedView()
      .then((shared) => shared.write(viewOf(current.delivery, term), term))
      .catch((err: unknown) => {
        if (err instanceof ViewFencedError) leadership?.stepDown(`another replica wrote the delivery view under term ${err.newerTerm}`, err.newerTerm);
        else logger.warn({ err }, "cannot write the delivery view for follower replicas");
      })
      .finally(() => {
        writing = false;
        if (writeAgain) {
          writeAgain = false;
          writeView();
        }
      });
  };

  // The idle Delivery: resolutions at other commits and purges on any replica. Never started.
  const idle = options.build({ commits: sharedLog, fence });

  const lead = async (): Promise<void> => {
    if (active || stopped) return;
    const term = leadership?.fence();
    const delivery = options.build({ fence, commits: sharedLog, onChange: writeView });
    active = { delivery, term };
    await delivery.start();
    if (leadership) {
      active.sub = nc.subscribe(DELIVERY_FETCH_SUBJECT, {
        callback: (_err, msg) => {
          void delivery.triggerFetch().then(() => msg.respond(JSON.stringify({ fetched: true })));
        },
      });
    }
    logger.info({ term }, "delivering: following the fleet repository and publishing");
  };

  const follow = async (): Promise<void> => {
    const was = active;
    active = undefined;
    if (!was) return;
    was.sub?.unsubscribe();
    await was.delivery.stop();
    logger.info({ term: was.term }, "stopped delivering; following the delivery leader's view");
  };

  const transition = (role: "leader" | "follower"): Promise<void> => {
    transitions = transitions
      .then(() => (role === "leader" ? lead() : follow()))
      .catch((err: unknown) => logger.error({ err, role }, "changing delivery role failed"));
    return transitions;
  };

  const onView = (value: DeliveryView): void => {
    followed = value;
    for (const [commit, info] of value.commits) {
      if (commits.info(commit) === undefined) remember(commit, info);
    }
  };

  // A follower's own view of Git: the leader's fetch error says whether delivery is stuck, this
  // one whether this replica (which serves promotions and diffs) can read the repository.
  let probeError: string | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let probing: Promise<void> | undefined;
  const probe = (): void => {
    if (stopped || !options.probeSource) return;
    probing = (active ? Promise.resolve() : options.probeSource().then(() => undefined))
      .then(
        () => {
          if (probeError !== undefined) logger.info("this replica reaches Git again");
          probeError = undefined;
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          if (probeError === undefined) logger.warn({ err: message }, "this replica cannot reach Git");
          probeError = message;
        },
      )
      .finally(() => {
        if (stopped) return;
        probeTimer = setTimeout(probe, options.probeIntervalMs ?? 60_000);
        probeTimer.unref();
      });
  };

  const environments = environmentSource(
    {
      resolution: () => active?.delivery.resolution(),
      resolutionAt: (revision) => (active?.delivery ?? idle).resolutionAt(revision),
    },
    context.clusters,
  );

  return {
    async start() {
      if (!leadership) {
        await lead();
        return;
      }
      try {
        stopFollowing = await (await sharedView()).follow(onView);
      } catch (err) {
        logger.error({ err }, "cannot follow the delivery leader's view; the API answers from this replica only");
      }
      unsubscribe = leadership.onChange((change) => void transition(change.role));
      await transition(leadership.role);
      probe();
    },
    async stop() {
      stopped = true;
      clearTimeout(probeTimer);
      await probing;
      unsubscribe?.();
      await transitions;
      await follow();
      await stopFollowing?.();
      await idle.stop();
    },
    async triggerFetch() {
      if (active) return active.delivery.triggerFetch();
      try {
        await nc.request(DELIVERY_FETCH_SUBJECT, "", { timeout: forwardTimeoutMs });
        logger.info("forwarded a Git push to the delivery leader");
      } catch (err) {
        logger.warn({ err }, "cannot forward a Git push to the delivery leader; it fetches at its next poll");
      }
    },
    clustersChanged: () => active?.delivery.clustersChanged() ?? Promise.resolve(),
    purge: (clusterId) => (active?.delivery ?? idle).purge(clusterId),
    errorsFor: (clusterId) => (active ? active.delivery.errorsFor(clusterId) : (followed?.errors[clusterId] ?? [])),
    bundles: () => (active ? options.bundles(active.delivery) : followed?.bundles),
    sourceError: () => (active ? active.delivery.current().fetchError : probeError !== undefined ? `this replica: ${probeError}` : followed?.fetchError),
    commits: remembered,
    environments: {
      async at(revision) {
        if (revision === undefined && !active) {
          const commit = followed?.resolvedCommit;
          if (commit === undefined) {
            throw new HubError("failed-precondition", "the delivery leader has not resolved the fleet repository yet; try again once it has fetched a valid fleet.yaml");
          }
          return environments.at(commit);
        }
        return environments.at(revision);
      },
    },
  };
}
