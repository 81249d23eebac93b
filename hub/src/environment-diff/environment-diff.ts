// Comparing the rendered desired state of two environments (clusters or pipeline stages) at one
// commit, or of one cluster at two commits, object by object and field by field.
//
// A stage stands for its pipeline's bundle as rendered for the stage's clusters. When they all
// get the same render (the same digest), that is the stage. When they do not (variables
// substituted per cluster), the first cluster by name stands for the stage, and the answer names
// it and says so. As soon as one side is a stage, only the stages' bundles are compared.
import type { EnvironmentCluster, EnvironmentRevision, EnvironmentSource } from "../delivery-contract.js";
import { HubError } from "../errors.js";
import { findEnvironment, parseEnvironmentRef, type FoundEnvironment } from "./environment-ref.js";
import { diffObjects, type ObjectChange, type ObjectDiff, type RenderedItem } from "./object-diff.js";

/** One side of a diff as the answer describes it. */
export interface EnvironmentSideView {
  readonly kind: "cluster" | "stage";
  readonly name: string;
  /** The stage's pipeline. */
  readonly pipeline?: string;
  /** The commit it was rendered at (40 hex). */
  readonly commit: string;
  /** The cluster whose render was compared: the cluster itself, or the one that stands for the stage. */
  readonly cluster: string;
  /** The stage's clusters (the cluster alone for a cluster). */
  readonly clusters: string[];
  /** Whether every one of `clusters` gets the same render as `cluster`. */
  readonly uniform: boolean;
}

/** The answer of an environment diff. */
export interface EnvironmentDiff {
  readonly from: EnvironmentSideView;
  readonly to: EnvironmentSideView;
  /** The bundles compared, sorted. */
  readonly bundles: string[];
  readonly objects: ObjectChange[];
  readonly counts: ObjectDiff["counts"];
  /** What the reader should know about how the sides were chosen. */
  readonly notes: string[];
}

/** Compares two named environments, both at `revision` (the last good commit when omitted). */
export async function compareEnvironments(source: EnvironmentSource, request: { from: string; to: string; revision?: string | undefined }): Promise<EnvironmentDiff> {
  const from = parseEnvironmentRef(request.from, "from");
  const to = parseEnvironmentRef(request.to, "to");
  const revision = await source.at(request.revision);
  const notes: string[] = [];
  return compareSides(sideOf(findEnvironment(from, revision, notes), revision, notes), sideOf(findEnvironment(to, revision, notes), revision, notes), notes);
}

/** Compares one cluster at two commits: `A..B`, or `A..` for A to the last good commit. */
export async function compareRevisions(source: EnvironmentSource, request: { cluster: string; revisions: string }): Promise<EnvironmentDiff> {
  const ref = parseEnvironmentRef(request.cluster, "cluster");
  if (ref.kind === "stage") throw new HubError("invalid-argument", `cluster: "${request.cluster}" names a stage; a range of revisions is shown for one cluster`);
  const range = /^([0-9a-fA-F]{4,40})\.\.([0-9a-fA-F]{4,40})?$/.exec(request.revisions);
  if (range === null) throw new HubError("invalid-argument", `revisions: "${request.revisions}" is not a range A..B of commit shas (B may be left out for the last good commit)`);
  const [before, after] = await Promise.all([source.at(range[1]), source.at(range[2])]);
  const notes: string[] = [];
  const cluster = { ...ref, kind: "cluster" as const };
  return compareSides(sideOf(findEnvironment(cluster, before, notes), before, notes), sideOf(findEnvironment(cluster, after, notes), after, notes), notes);
}

/** A side ready to compare: its view, the cluster that stands for it and, for a stage, its bundle. */
interface Side {
  readonly view: EnvironmentSideView;
  readonly rendered: EnvironmentCluster;
  readonly bundle: string | undefined;
}

function sideOf(found: FoundEnvironment, revision: EnvironmentRevision, notes: string[]): Side {
  const at = revision.commit.slice(0, 12);
  if (found.kind === "cluster") {
    const rendered = revision.cluster(found.name);
    if (rendered === undefined) throw new HubError("not-found", `no cluster named ${found.name} at commit ${at}`);
    const view = { kind: "cluster" as const, name: found.name, commit: revision.commit, cluster: found.name, clusters: [found.name], uniform: true };
    return { view, rendered, bundle: undefined };
  }
  const { stage } = found;
  const [first] = stage.clusters;
  if (first === undefined) {
    throw new HubError("failed-precondition", `stage ${stage.name} of pipeline ${stage.pipeline} has no clusters at commit ${at}: nothing is rendered for it`);
  }
  const digests = new Set<string | undefined>();
  let rendered: EnvironmentCluster | undefined;
  for (const name of stage.clusters) {
    const cluster = revision.cluster(name);
    rendered ??= cluster;
    digests.add(cluster?.bundles.find((b) => b.name === stage.bundle)?.digest);
  }
  if (rendered === undefined) throw new HubError("not-found", `no cluster named ${first} at commit ${at}`);
  const uniform = digests.size === 1;
  if (!uniform) {
    notes.push(`the ${stage.clusters.length} clusters of stage ${stage.name} get ${digests.size} different renders of bundle ${stage.bundle}; ${rendered.name}, the first by name, stands for the stage`);
  }
  const view = { kind: "stage" as const, name: stage.name, pipeline: stage.pipeline, commit: revision.commit, cluster: rendered.name, clusters: [...stage.clusters], uniform };
  return { view, rendered, bundle: stage.bundle };
}

function compareSides(from: Side, to: Side, notes: string[]): EnvironmentDiff {
  const stageBundles = [from.bundle, to.bundle].filter((b): b is string => b !== undefined);
  const compared = new Set(
    stageBundles.length > 0 ? stageBundles : [...from.rendered.bundles, ...from.rendered.errors, ...to.rendered.bundles, ...to.rendered.errors].map((b) => ("name" in b ? b.name : b.bundle)),
  );
  const diff = diffObjects(itemsOf(from, compared), itemsOf(to, compared));
  return { from: from.view, to: to.view, bundles: [...compared].sort(), objects: diff.objects, counts: diff.counts, notes };
}

/** The objects of the compared bundles; a compared bundle that failed to render fails the diff. */
function itemsOf(side: Side, compared: ReadonlySet<string>): RenderedItem[] {
  const failed = side.rendered.errors.find((e) => compared.has(e.bundle));
  if (failed !== undefined) {
    const at = side.view.commit.slice(0, 12);
    throw new HubError("failed-precondition", `bundle ${failed.bundle} does not render for cluster ${side.rendered.name} at commit ${at}: ${failed.message}`);
  }
  return side.rendered.bundles.filter((b) => compared.has(b.name)).flatMap((b) => b.objects.map((object) => ({ bundle: b.name, object })));
}
