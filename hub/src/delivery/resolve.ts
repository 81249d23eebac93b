// Resolving one commit for the fleet: fleet.yaml -> the target of each bundle for each cluster ->
// one render per distinct overlay folder (reused from the previous resolution when nothing it
// read changed) -> per cluster, the overlay's objects with that cluster's variables (where the
// target substitutes) -> one payload and digest per distinct result, shared by every cluster that
// gets the same one. No I/O of its own: the renderer does what reading it needs.
import { bundleObjects, renderOverlay, reuse, type CachedRender, type OverlayRenderer, type RenderMemo } from "./render/index.js";
import { FleetFileError, RenderError } from "./errors.js";
import { clusterVariables, readFleetFile, targetsFor, type BundleTarget, type FleetSpec } from "./fleet/index.js";
import { bundlePayload } from "./publish/index.js";
import type { BundleFailure, ClusterResolution, ResolvedBundle } from "./resolution.js";
import type { ClusterRef, Snapshot } from "./snapshot.js";

export type { RenderMemo } from "./render/index.js";

/** Input of {@link resolve}. */
export interface ResolveInput {
  readonly snapshot: Snapshot;
  readonly clusters: readonly ClusterRef[];
  /** Renders overlay folders (plain or kustomize); see render/overlay.ts. */
  readonly renderer: OverlayRenderer;
  /** Renders of an earlier resolution; those whose inputs are unchanged are reused. */
  readonly previous?: RenderMemo | undefined;
}

/** How much work a resolution did, and how much it reused. */
export interface ResolveStats {
  /** Overlays rendered, and overlays whose render was reused from `previous`. */
  readonly rendered: number;
  readonly reused: number;
  /** Distinct per-cluster results computed, and those reused from `previous`. */
  readonly results: number;
  readonly resultsReused: number;
  /**
   * Overlays that failed without saying what they read (a timeout, kustomize not runnable): the
   * failure may pass on its own, so the caller should resolve again later.
   */
  readonly unsettled: number;
}

/** The result of {@link resolve}: per-cluster state, or a fleet.yaml error that fails everything. */
export type Resolution =
  | {
      readonly ok: true;
      readonly commit: string;
      readonly fleet: FleetSpec;
      readonly clusters: ReadonlyMap<string, ClusterResolution>;
      /** This resolution's renders, to pass as `previous` next time. */
      readonly renders: RenderMemo;
      readonly stats: ResolveStats;
    }
  | { readonly ok: false; readonly commit: string; readonly error: FleetFileError };

/** A result without the commit, so it can be carried to the next commit with its render. */
type Result = ResolvedBundle | { readonly failed: RenderError };

/**
 * Resolves a snapshot for a set of clusters. A broken fleet.yaml fails the whole resolution (the
 * caller keeps its last good state); an overlay that fails to render, or a cluster whose
 * variables do not fit it, fails only that bundle on that cluster.
 */
export async function resolve(input: ResolveInput): Promise<Resolution> {
  const { snapshot } = input;
  let fleet: FleetSpec;
  try {
    fleet = readFleetFile(snapshot);
  } catch (err) {
    if (err instanceof FleetFileError) return { ok: false, commit: snapshot.commit, error: err };
    throw err;
  }
  const aimed = new Map(input.clusters.map((cluster) => [cluster.id, targetsFor(fleet, cluster)]));
  const renders = await renderAll(input, new Set([...aimed.values()].flat().map((t) => t.target.overlay)));
  const stats = { rendered: 0, reused: 0, results: 0, resultsReused: 0, unsettled: 0 };
  for (const { reused, entry } of renders.values()) {
    stats[reused ? "reused" : "rendered"]++;
    if (entry.inputs === undefined) stats.unsettled++;
  }

  const errors = new Map<string, BundleFailure>();
  const resultFor = (cluster: ClusterRef, aim: BundleTarget): ResolvedBundle | BundleFailure => {
    const { bundle, target } = aim;
    const { entry, earlier } = renders.get(target.overlay) ?? fail(`overlay ${target.overlay} was not rendered`);
    const lookup = clusterVariables(cluster, target.variables);
    const substitute = target.substitution.on;
    // Without substitution the cluster's values make no difference: its clusters share one result.
    const values = entry.outcome.ok && substitute ? entry.outcome.overlay.names.map((name) => lookup(name)) : [];
    const key = JSON.stringify([bundle.name, target.name, bundle.namespace ?? null, bundle.drift, bundle.ignore, bundle.prune, bundle.allowEmpty, substitute, values]);
    let result = entry.results.get(key) as Result | undefined;
    if (result === undefined) {
      result = earlier?.get(key) as Result | undefined;
      if (result !== undefined) stats.resultsReused++;
      else {
        result = compute(entry, aim, lookup);
        stats.results++;
      }
      entry.results.set(key, result);
    }
    if ("payload" in result) return result;
    let error = errors.get(key);
    if (error === undefined) {
      error = toBundleFailure(aim, snapshot.commit, result.failed);
      errors.set(key, error);
    }
    return error;
  };

  const clusters = new Map<string, ClusterResolution>();
  for (const cluster of input.clusters) {
    const bundles: ResolvedBundle[] = [];
    const failed: BundleFailure[] = [];
    const aims = aimed.get(cluster.id) ?? [];
    for (const aim of aims) {
      const result = resultFor(cluster, aim);
      if ("payload" in result) bundles.push(result);
      else failed.push(result);
    }
    const assignments = aims.map(({ bundle, target }) => ({ bundle: bundle.name, target: target.name, overlay: target.overlay }));
    clusters.set(cluster.id, { clusterId: cluster.id, bundles, errors: failed, assignments });
  }
  const memo = new Map([...renders].map(([dir, { entry }]) => [dir, entry]));
  return { ok: true, commit: snapshot.commit, fleet, clusters, renders: memo, stats };
}

interface RenderSlot {
  /** This resolution's entry; its `results` start empty and fill with what is used. */
  entry: CachedRender;
  /** Results of the same render in the previous resolution, when it was reused. */
  earlier: Map<string, unknown> | undefined;
  reused: boolean;
}

/** Renders every needed overlay once (all at once; the renderer limits its own concurrency). */
async function renderAll(input: ResolveInput, dirs: ReadonlySet<string>): Promise<Map<string, RenderSlot>> {
  const slots = new Map<string, RenderSlot>();
  await Promise.all(
    [...dirs].sort().map(async (dir) => {
      const carried = reuse(input.previous?.get(dir), input.snapshot);
      if (carried !== undefined) {
        slots.set(dir, { entry: { ...carried, results: new Map() }, earlier: carried.results, reused: true });
      } else {
        slots.set(dir, { entry: await renderOverlay(input.renderer, input.snapshot, dir), earlier: undefined, reused: false });
      }
    }),
  );
  return slots;
}

function compute(entry: CachedRender, aim: BundleTarget, lookup: ReturnType<typeof clusterVariables>): Result {
  if (!entry.outcome.ok) return { failed: entry.outcome.error };
  try {
    const objects = bundleObjects(entry.outcome.overlay, { namespace: aim.bundle.namespace, substitute: aim.target.substitution.on, lookup, allowEmpty: aim.bundle.allowEmpty });
    return bundlePayload(aim.bundle, { target: aim.target.name, overlay: aim.target.overlay }, objects);
  } catch (err) {
    if (err instanceof RenderError) return { failed: err };
    throw err;
  }
}

function toBundleFailure(aim: BundleTarget, commit: string, error: RenderError): BundleFailure {
  return {
    bundle: aim.bundle.name,
    target: aim.target.name,
    path: aim.target.overlay,
    commit,
    reason: error.reason,
    message: error.message,
    file: error.file,
    line: error.line,
  };
}

function fail(message: string): never {
  throw new Error(`resolve: ${message}`);
}
