// Plugs the delivery part (./delivery) into the hub's DeliveryFactory contract.
import type { Logger } from "pino";
import type { HubConfig } from "./config.js";
import type { DeliveryFactory, FleetBundles, FleetRepository } from "./delivery-contract.js";
import { replicatedDelivery } from "./delivery-replicated.js";
import {
  FleetFileError,
  createDelivery,
  createKustomizeRenderer,
  createOverlayRenderer,
  describeSelector,
  ignoreRuleForm,
  probeBranch,
  readFleetFile,
  type ResolvedFleet,
} from "./delivery/index.js";
import { HubError } from "./errors.js";
import { createGitWriter, type GitWriter } from "./promotion/index.js";

/** Options of {@link gitDelivery} beyond the repository. */
export interface GitDeliveryOptions {
  /** The kustomize binary: a path, or a name looked up on PATH; default "kustomize". */
  kustomize?: string | undefined;
}

/** The delivery factory for the fleet repository of `git`. */
export function gitDelivery(git: NonNullable<HubConfig["git"]>, options: GitDeliveryOptions = {}): DeliveryFactory {
  return (context) => {
    const kustomize = createKustomizeRenderer({ binary: options.kustomize ?? "kustomize", logger: context.logger });
    const writer = createGitWriter({ url: git.url, branch: git.branch, auth: git.auth, logger: context.logger });
    const renderer = createOverlayRenderer({ kustomize });
    const delivery = replicatedDelivery({
      context,
      probeSource: () => probeBranch({ url: git.url, branch: git.branch, ...(git.auth !== undefined ? { auth: git.auth } : {}) }),
      probeIntervalMs: Math.min(git.pollIntervalMs, 60_000),
      build: (extra) =>
        createDelivery({
          source: { url: git.url, branch: git.branch, pollIntervalMs: git.pollIntervalMs, ...(git.auth !== undefined ? { auth: git.auth } : {}) },
          nats: context.nc,
          clusters: context.clusters,
          logger: context.logger,
          signer: context.signer,
          replicas: context.replicas,
          renderer,
          metrics: context.metrics,
          ...extra,
        }),
      bundles: (d) => {
        const resolution = d.resolution();
        return resolution && fleetBundles(resolution, d.current().error);
      },
    });
    return {
      start: () => delivery.start(),
      async stop() {
        await writer.stop();
        await delivery.stop();
        await kustomize.close();
      },
      repository: fleetRepository({
        writer,
        afterCommit: () => delivery.triggerFetch(),
        onPushError: () => context.metrics?.gitError("push"),
        logger: context.logger,
      }),
      triggerFetch: () => delivery.triggerFetch(),
      onClustersChanged: () => delivery.clustersChanged(),
      purge: (clusterId) => delivery.purge(clusterId),
      errorsFor: (clusterId) => delivery.errorsFor(clusterId),
      commits: delivery.commits,
      environments: delivery.environments,
      bundles: () => delivery.bundles(),
      sourceError: () => delivery.sourceError(),
    };
  };
}

/** Options of {@link fleetRepository}. */
export interface FleetRepositoryOptions {
  writer: GitWriter;
  /** Runs after each pushed commit, so it is delivered at once (the delivery's fetch); must not reject. */
  afterCommit?: (() => Promise<void> | void) | undefined;
  /** Told when a commit could not be made or pushed (counted by the hub's metrics). */
  onPushError?: (() => void) | undefined;
  logger: Logger;
}

/**
 * The fleet repository as promotions see it: the writer's fetch of the head with fleet.yaml
 * validated, and its commits, each followed by a fetch of the delivery so the commit is
 * resolved and published before commit() returns.
 */
export function fleetRepository(options: FleetRepositoryOptions): FleetRepository {
  const { writer } = options;
  return {
    async head() {
      const head = await writer.head();
      try {
        return { ...head, fleet: readFleetFile(head) };
      } catch (err) {
        if (!(err instanceof FleetFileError)) throw err;
        throw new HubError("failed-precondition", `fleet.yaml at ${head.commit.slice(0, 7)} of ${writer.repository} is invalid: ${err.message}`, { cause: err });
      }
    },
    async commit(request) {
      let result: Awaited<ReturnType<GitWriter["commit"]>>;
      try {
        result = await writer.commit(request);
      } catch (err) {
        // "nothing to change" is an answer, not a Git error.
        if (!(err instanceof HubError && err.code === "conflict")) options.onPushError?.();
        throw err;
      }
      try {
        await options.afterCommit?.();
      } catch (err) {
        options.logger.warn({ err, commit: result.commit }, "cannot fetch the fleet repository after a commit; the next poll delivers it");
      }
      return result;
    },
  };
}

/** The bundles API's view of a resolution: per bundle and target, the clusters it took. */
export function fleetBundles(resolution: ResolvedFleet, error: string | undefined): FleetBundles {
  const taken = new Map<string, { clusterId: string; desiredDigest?: string }[]>();
  for (const cluster of resolution.clusters.values()) {
    for (const assignment of cluster.assignments) {
      const key = `${assignment.bundle}\0${assignment.target}`;
      const digest = cluster.bundles.find((b) => b.name === assignment.bundle)?.digest;
      const list = taken.get(key) ?? [];
      list.push(digest === undefined ? { clusterId: cluster.clusterId } : { clusterId: cluster.clusterId, desiredDigest: digest });
      taken.set(key, list);
    }
  }
  return {
    commit: resolution.commit,
    ...(error !== undefined ? { error } : {}),
    bundles: resolution.fleet.bundles.map((bundle) => ({
      name: bundle.name,
      path: bundle.path,
      ...(bundle.namespace !== undefined ? { namespace: bundle.namespace } : {}),
      drift: bundle.drift,
      prune: bundle.prune,
      ignore: bundle.ignore.map(ignoreRuleForm),
      targets: bundle.targets.map((target) => ({
        name: target.name,
        clusterSelector: describeSelector(target.clusterSelector),
        overlay: target.overlay,
        variables: target.variables,
        clusters: taken.get(`${bundle.name}\0${target.name}`) ?? [],
      })),
    })),
  };
}
