// A stage's clusters as the hub's live parts know them, and its gates evaluated over them: the
// cluster directory gives names and labels, delivery the resolved commit and each cluster's
// desired digest, the drift index each cluster's reported bundle and staleness, the status store
// the messages of objects that are not healthy, and history when each cluster reached its digest.
import { HealthState, type StatusReport } from "@gitfleet/proto";
import type { BundleErrorSource, ClusterDirectory, FleetBundleSource } from "../delivery-contract.js";
import { matchesClusterSelector, type PipelineSpec, type PipelineStageSpec } from "../delivery/index.js";
import type { DriftIndex } from "../drift/index.js";
import { HubError } from "../errors.js";
import { evaluateGates, shortCommit, type GateEvaluation, type GateName, type StageClusterState, type UnhealthyResource } from "./gates.js";

/** When a cluster reached a bundle digest, from the cluster's history. */
export interface SinceSource {
  /** ISO time the cluster reached `digest` of `bundle`, or undefined when not known. */
  since(clusterId: string, bundle: string, digest: string): string | undefined;
}

/** What the hub knows of the order of commits. */
export interface CommitAncestry {
  /** True when `head` is `ancestor` or a commit after it on the branch. */
  descends(head: string, ancestor: string): boolean;
}

/** Options of {@link createStageStates}. */
export interface StageStatesOptions {
  clusters: ClusterDirectory;
  fleet: FleetBundleSource;
  drift: Pick<DriftIndex, "bundle" | "isStale">;
  status: { get(clusterId: string): StatusReport | undefined };
  bundleErrors: BundleErrorSource;
  history: SinceSource;
  /** Without it, only the resolved commit itself counts as "at or after" a commit. */
  commits?: CommitAncestry | undefined;
  now: () => Date;
}

/** Where verification of a commit in a stage stands. */
export interface Verification {
  /** Every cluster of the stage is synced and healthy at a desired state at or after the commit. */
  done: boolean;
  /** Why it is not done yet (each cluster and object); absent when done. */
  failed?: string;
  evaluation: GateEvaluation;
}

/** Reads the stage's clusters from the live stores and evaluates its gates. */
export interface StageStates {
  /** The stage's gates now. Throws HubError "not-found" for a stage the pipeline does not have. */
  evaluate(pipeline: PipelineSpec, stage: string): GateEvaluation;
  /**
   * Verification of `commit` in the stage: done once the hub has resolved `commit` (or a commit
   * after it) and every cluster of the stage is synced and healthy at that resolution's digest.
   */
  verifyAt(pipeline: PipelineSpec, stage: string, commit: string): Verification;
  /** The stage's clusters as the gates read them, sorted by name. */
  clusters(pipeline: PipelineSpec, stage: string): StageClusterState[];
}

const verifyGates: readonly GateName[] = ["synced", "healthy"];

/** Creates the stage reader over the hub's live parts. */
export function createStageStates(options: StageStatesOptions): StageStates {
  const { fleet, drift, now } = options;

  const stageOf = (pipeline: PipelineSpec, name: string): PipelineStageSpec => {
    const stage = pipeline.stages.find((s) => s.name === name);
    if (!stage) throw new HubError("not-found", `pipeline ${pipeline.name} has no stage ${name}; its stages are ${pipeline.stages.map((s) => s.name).join(", ")}`);
    return stage;
  };

  const gather = (pipeline: PipelineSpec, stage: PipelineStageSpec): { commit: string; clusters: StageClusterState[]; blocked?: string } => {
    const resolved = fleet.bundles();
    if (resolved === undefined) return { commit: "", clusters: [], blocked: "no commit of the fleet repository is resolved yet" };
    const at = shortCommit(resolved.commit);
    const bundle = resolved.bundles.find((b) => b.name === pipeline.bundle);
    if (!bundle) return { commit: resolved.commit, clusters: [], blocked: `fleet.yaml at ${at} has no bundle ${pipeline.bundle}` };
    const target = bundle.targets.find((t) => t.name === stage.target);
    if (!target) return { commit: resolved.commit, clusters: [], blocked: `bundle ${pipeline.bundle} at ${at} has no target ${stage.target}` };
    const records = new Map(options.clusters.list().map((c) => [c.id, c]));
    const clusters: StageClusterState[] = [];
    for (const { clusterId, desiredDigest } of target.clusters) {
      const record = records.get(clusterId);
      if (!record || !matchesClusterSelector(stage.clusterSelector, record.labels)) continue;
      const reported = drift.bundle(clusterId, pipeline.bundle);
      const stale = drift.isStale(clusterId);
      const errors = options.bundleErrors.errorsFor(clusterId).filter((e) => e.bundle === pipeline.bundle).map((e) => e.message);
      const applied = reported !== undefined && desiredDigest !== undefined && reported.digest === desiredDigest;
      // Only a cluster that runs the desired state but is not healthy needs its objects read.
      const unhealthy = applied && !stale && reported.health !== HealthState.HEALTHY ? unhealthyResources(options.status.get(clusterId), pipeline.bundle) : [];
      clusters.push({
        id: clusterId,
        name: record.name,
        desiredDigest,
        errors,
        bundle: reported,
        stale,
        unhealthy,
        since: applied ? options.history.since(clusterId, pipeline.bundle, reported.digest) : undefined,
      });
    }
    return { commit: resolved.commit, clusters };
  };

  const evaluate = (pipeline: PipelineSpec, stageName: string, only?: readonly GateName[]): GateEvaluation => {
    const stage = stageOf(pipeline, stageName);
    const { commit, clusters, blocked } = gather(pipeline, stage);
    return evaluateGates({ stage: stage.name, bundle: pipeline.bundle, commit, spec: stage.gates, clusters, now: now(), blocked, only });
  };

  return {
    evaluate: (pipeline, stage) => evaluate(pipeline, stage),
    verifyAt(pipeline, stage, commit) {
      const evaluation = evaluate(pipeline, stage, verifyGates);
      const resolved = evaluation.commit;
      if (resolved === "" || !(resolved === commit || options.commits?.descends(resolved, commit) === true)) {
        const where = resolved === "" ? "nothing is resolved yet" : `it is at ${shortCommit(resolved)}`;
        return { done: false, failed: `the hub has not resolved ${shortCommit(commit)} yet; ${where}`, evaluation };
      }
      if (evaluation.passed) return { done: true, evaluation };
      return { done: false, failed: evaluation.gates.filter((g) => !g.passed).map((g) => g.message).join("; "), evaluation };
    },
    clusters: (pipeline, stage) => gather(pipeline, stageOf(pipeline, stage)).clusters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/** The objects of `bundle` in a cluster's status that are not healthy. */
export function unhealthyResources(report: StatusReport | undefined, bundle: string): UnhealthyResource[] {
  const status = report?.bundles.find((b) => b.name === bundle);
  if (!status) return [];
  return status.resources
    .filter((r) => r.health !== HealthState.HEALTHY)
    .map((r) => ({ apiVersion: r.group ? `${r.group}/${r.version}` : r.version, kind: r.kind, namespace: r.namespace, name: r.name, health: r.health, message: r.message }));
}
