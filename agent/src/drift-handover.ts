// How the reconcile pass hands bundles to the drift monitor: what it applied completely, and,
// after a restart, what the cluster already holds (adopted: compared, never applied again).
import { HealthState, SyncState } from "@gitfleet/proto";
import type { Logger } from "pino";
import type { BundleResult } from "./bundle-result.js";
import { planBundle } from "./bundle-plan.js";
import type { DesiredBundle } from "./desired-state.js";
import type { DriftMonitor, TrackedBundle } from "./drift/index.js";
import type { InventoryStore } from "./inventory.js";
import type { KubeClient } from "./kube-client.js";
import { refKey } from "./kube-objects.js";
import type { KubeObject, ObjectRef } from "./kube-objects.js";
import type { AgentSelf } from "./self-guard.js";

/** What {@link adoptBundle} needs. */
export interface AdoptOptions {
  kube: KubeClient;
  inventory: InventoryStore;
  monitor: DriftMonitor;
  bundle: DesiredBundle;
  /** The agent's own objects: a bundle holding one is never adopted. */
  self: AgentSelf;
  logger: Logger;
}

/**
 * Hands a bundle to the monitor without applying it when its inventory says this digest was
 * applied completely before, and returns its result; undefined when it was not (or it cannot be
 * planned): then it is applied as usual.
 */
export async function adoptBundle(options: AdoptOptions): Promise<BundleResult | undefined> {
  const { kube, inventory: store, monitor, bundle, logger } = options;
  const inventory = await store.get(bundle.name).catch(() => undefined);
  if (!inventory || inventory.digest !== bundle.digest) return undefined;
  const plan = await planBundle({ kube, bundle, self: options.self }).catch(() => undefined);
  if (!plan || plan.problems.length > 0) return undefined;
  monitor.track(trackedBundle(bundle, plan.objects));
  logger.info({ bundle: bundle.name, digest: bundle.digest }, "the cluster holds this bundle already; comparing it with Git");
  return {
    name: bundle.name,
    desiredDigest: bundle.digest,
    appliedDigest: bundle.digest,
    revision: inventory.revision || bundle.revision,
    sync: SyncState.SYNCED,
    health: HealthState.UNKNOWN,
    message: "",
    resources: plan.objects.map((o) => ({ ref: o.ref, sync: SyncState.SYNCED, health: HealthState.UNKNOWN, message: "" })),
    appliedAt: inventory.appliedAt,
    complete: true,
  };
}

/** The monitor's arguments for a bundle a pass applied completely: its objects and their live copies. */
export function trackApplied(bundle: DesiredBundle, result: BundleResult): [TrackedBundle, Map<string, KubeObject>] {
  const lives = new Map<string, KubeObject>();
  for (const r of result.resources) if (r.applied) lives.set(refKey(r.ref), r.applied.live);
  const objects = result.resources.flatMap((r) => (r.applied ? [{ ref: r.ref, object: r.applied.object }] : []));
  return [trackedBundle(bundle, objects), lives];
}

function trackedBundle(bundle: DesiredBundle, objects: ReadonlyArray<{ ref: ObjectRef; object: KubeObject }>): TrackedBundle {
  return { name: bundle.name, digest: bundle.digest, revision: bundle.revision, mode: bundle.policy.drift, ignore: bundle.policy.ignore, objects };
}
