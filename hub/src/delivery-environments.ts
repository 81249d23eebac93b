// The delivery part's rendered desired state as the environment diff reads it (the
// EnvironmentSource of the delivery contract): a resolution, at the head or at another commit,
// seen by cluster name and by pipeline stage.
import type { ClusterDirectory, EnvironmentBundle, EnvironmentRevision, EnvironmentSource, EnvironmentStage } from "./delivery-contract.js";
import { matchesClusterSelector, type ResolvedFleet } from "./delivery/index.js";
import { HubError } from "./errors.js";

/** What the environment source needs of the delivery part. */
export interface ResolvedRevisions {
  /** The latest good resolution; undefined before the first. */
  resolution(): ResolvedFleet | undefined;
  resolutionAt(revision: string): Promise<ResolvedFleet>;
}

/** The {@link EnvironmentSource} over the delivery part's resolutions. */
export function environmentSource(delivery: ResolvedRevisions, clusters: ClusterDirectory): EnvironmentSource {
  return {
    async at(revision) {
      const resolution = revision === undefined ? delivery.resolution() : await delivery.resolutionAt(revision);
      if (resolution === undefined) {
        throw new HubError("failed-precondition", "the hub has not resolved the fleet repository yet; try again once it has fetched a valid fleet.yaml");
      }
      return environmentRevision(resolution, clusters);
    },
  };
}

/** A resolution by cluster name and pipeline stage; objects are decoded only for the clusters asked for. */
export function environmentRevision(resolution: ResolvedFleet, directory: ClusterDirectory): EnvironmentRevision {
  const resolved = directory.list().filter((record) => resolution.clusters.has(record.id));
  const stages: EnvironmentStage[] = [];
  for (const pipeline of resolution.fleet.pipelines) {
    for (const stage of pipeline.stages) {
      const clusters = resolved.filter(
        (record) =>
          matchesClusterSelector(stage.clusterSelector, record.labels) &&
          (resolution.clusters.get(record.id)?.assignments ?? []).some((a) => a.bundle === pipeline.bundle && a.target === stage.target),
      );
      stages.push({ pipeline: pipeline.name, bundle: pipeline.bundle, name: stage.name, target: stage.target, clusters: clusters.map((c) => c.name) });
    }
  }
  const decoder = new TextDecoder();
  return {
    commit: resolution.commit,
    clusterNames: resolved.map((record) => record.name),
    stages,
    cluster(name) {
      const record = directory.getByName(name);
      const cluster = record && resolution.clusters.get(record.id);
      if (record === undefined || cluster === undefined) return undefined;
      return {
        name: record.name,
        bundles: cluster.bundles.map(
          (bundle): EnvironmentBundle => ({
            name: bundle.name,
            target: bundle.target,
            overlay: bundle.overlay,
            digest: bundle.digest,
            objects: bundle.payload.objects.map((bytes) => JSON.parse(decoder.decode(bytes)) as Record<string, unknown>),
          }),
        ),
        errors: cluster.errors.map((e) => ({ bundle: e.bundle, target: e.target, message: e.message, reason: e.reason, commit: e.commit, path: e.path, file: e.file, line: e.line })),
      };
    },
  };
}
