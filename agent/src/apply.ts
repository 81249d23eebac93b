// Applies one bundle all-or-nothing as far as the Kubernetes API allows: every object is first
// validated with a server-side dry-run apply; only when all pass is anything applied for real.
import { HealthState, SyncState } from "@gitfleet/proto";
import type { Logger } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { describeFailure, failedResource, summarize } from "./bundle-result.js";
import type { BundleResult, ResourceResult } from "./bundle-result.js";
import { planBundle } from "./bundle-plan.js";
import type { PlannedObject } from "./bundle-plan.js";
import type { Clock } from "./clock.js";
import type { DesiredBundle } from "./desired-state.js";
import { assessHealth, worstHealth } from "./health.js";
import { mergeRefs } from "./inventory.js";
import type { Inventory, InventoryStore } from "./inventory.js";
import type { KubeClient } from "./kube-client.js";
import { isCrd, isNamespace } from "./kube-objects.js";
import type { CrdDefinition } from "./kube-objects.js";
import { pruneObjects } from "./prune.js";
import { waitForCrds } from "./crd-wait.js";
import type { AgentRbac, AgentSelf } from "./self-guard.js";

/** Options of {@link applyBundle}. */
export interface ApplyBundleOptions {
  kube: KubeClient;
  inventory: InventoryStore;
  bundle: DesiredBundle;
  /** The agent's own namespace; it always exists, so dry-runs can stand in there (see below). */
  agentNamespace: string;
  /** The agent's ServiceAccount and RBAC names, to refuse bundles that touch them. */
  agentRbac?: AgentRbac | undefined;
  /** Keys of objects other bundles hold now; never pruned from this one. */
  claimedElsewhere: ReadonlySet<string>;
  /** This digest passed validation and applied completely before: skip the dry-run. */
  validated: boolean;
  clock: Clock;
  logger: Logger;
  /** How long to wait for the bundle's CRDs to be established; default 60 s. */
  crdTimeoutMs?: number;
  /** Ends a wait for CRDs early when the agent stops. */
  signal?: AbortSignal;
}

/**
 * Reconciles one bundle: plan, validate (dry-run), apply in order (Namespaces, CRDs, wait until
 * they are established, the rest), prune what left the bundle when its policy says so, and
 * record the inventory. Never throws: every failure becomes a FAILED result naming the object.
 *
 * A dry-run of an object in a Namespace the bundle creates cannot run in that namespace yet;
 * it runs in the agent's namespace instead, which checks everything but the namespace name.
 * Custom resources of a CRD the bundle introduces can only be validated once the CRD is
 * established, so their dry-run follows the CRDs' apply; a failure there leaves the bundle's
 * Namespaces and CRDs applied and nothing else.
 */
export async function applyBundle(options: ApplyBundleOptions): Promise<BundleResult> {
  const { bundle, kube, logger } = options;
  let previous: Inventory | undefined;
  try {
    previous = await options.inventory.get(bundle.name);
  } catch (error) {
    return result(options, undefined, { sync: SyncState.FAILED, message: `cannot read the inventory: ${messageOf(error)}` });
  }
  if (bundle.error) return result(options, previous, { sync: SyncState.FAILED, message: bundle.error });

  try {
    const plan = await planBundle({ kube, bundle, self: selfOf(options) });
    if (plan.problems.length > 0) {
      return notApplied(options, previous, plan.objects, plan.problems);
    }
    const validatedNow = new Set<PlannedObject>();
    if (!options.validated) {
      const ready = plan.objects.filter((o) => o.served);
      const failures = await dryRun(options, ready);
      if (failures.length > 0) return notApplied(options, previous, plan.objects, failures);
      for (const o of ready) validatedNow.add(o);
    }

    const outcome = await applyInOrder(options, plan.objects, plan.crds, validatedNow);
    if (outcome.failed) {
      await recordPartial(options, previous, outcome.applied);
      return result(options, previous, { sync: SyncState.FAILED, message: outcome.failed, resources: outcome.resources });
    }
    const applied = outcome.applied;

    const pruned = await pruneObjects({
      kube,
      bundle: bundle.name,
      inventory: bundle.policy.prune ? (previous?.objects ?? []) : [],
      desired: plan.objects.map((o) => o.ref),
      claimedElsewhere: options.claimedElsewhere,
      self: selfOf(options),
      logger,
    });
    const appliedAt = previous?.digest === bundle.digest && previous.appliedAt ? previous.appliedAt : new Date(options.clock.now()).toISOString();
    await options.inventory.put({
      bundle: bundle.name,
      digest: bundle.digest,
      revision: bundle.revision,
      prune: bundle.policy.prune,
      appliedAt,
      objects: mergeRefs(plan.objects.map((o) => o.ref), pruned.kept),
    });
    const resources = [...applied, ...pruned.results];
    const pruneErrors = pruned.results.filter((r) => r.sync === SyncState.FAILED).map((r) => r.message);
    return {
      name: bundle.name,
      desiredDigest: bundle.digest,
      appliedDigest: bundle.digest,
      revision: bundle.revision,
      sync: pruneErrors.length > 0 ? SyncState.FAILED : SyncState.SYNCED,
      health: worstHealth(applied.map((r) => r.health)),
      message: pruneErrors.length > 0 ? summarize("prune failed", pruneErrors) : "",
      resources,
      appliedAt,
      complete: pruneErrors.length === 0,
    };
  } catch (error) {
    // Discovery or the inventory write failed: most likely the API server is unreachable.
    logger.warn({ bundle: bundle.name, err: error }, "bundle reconcile failed");
    return result(options, previous, { sync: SyncState.FAILED, message: messageOf(error) });
  }
}

/** What applying in order did: results so far, and why it stopped ("" when it did not). */
interface InOrderOutcome {
  applied: ResourceResult[];
  /** Results to report: the applied ones and, after a stop, the untouched ones. */
  resources: ResourceResult[];
  failed: string;
}

// Namespaces and CRDs, then (once the CRDs are established, and their custom resources
// validated when that could not happen before) everything else.
async function applyInOrder(
  options: ApplyBundleOptions,
  objects: readonly PlannedObject[],
  crds: readonly CrdDefinition[],
  validatedNow: ReadonlySet<PlannedObject>,
): Promise<InOrderOutcome> {
  const { kube } = options;
  const applied: ResourceResult[] = [];
  const early = objects.filter((o) => o.rank < 2);
  const rest = objects.filter((o) => o.rank === 2);
  const stop = (failed: string, untouched: ResourceResult[]): InOrderOutcome => ({ applied, resources: [...applied, ...untouched], failed });

  const earlyFailures = await applyAll(kube, early, applied);
  if (earlyFailures.length > 0) return stop(summarize("apply failed", earlyFailures), rest.map(notAppliedResource));

  const usedCrds = crds.filter((crd) => rest.some((o) => o.definedBy === crd));
  if (usedCrds.length > 0) {
    const waited = await waitForCrds({
      kube,
      clock: options.clock,
      crds: usedCrds,
      objects: rest,
      timeoutMs: options.crdTimeoutMs ?? 60_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (waited) return stop(`apply failed: ${waited}`, rest.map(notAppliedResource));
    markEstablished(applied, usedCrds);
  }

  if (!options.validated) {
    const failures = await dryRun(options, rest.filter((o) => !validatedNow.has(o)));
    if (failures.length > 0) {
      const untouched = rest.map((o) => failures.find((f) => f.ref === o.ref) ?? notAppliedResource(o));
      return stop(summarize("custom resources failed validation after their CRDs were applied", failures.map((f) => f.message)), untouched);
    }
  }

  const failures = await applyAll(kube, rest, applied);
  return { applied, resources: applied, failed: failures.length > 0 ? summarize("apply failed", failures) : "" };
}

async function dryRun(options: ApplyBundleOptions, objects: readonly PlannedObject[]): Promise<ResourceResult[]> {
  const created = new Set(objects.filter((o) => isNamespace(o.ref)).map((o) => o.ref.name));
  const exists = new Map<string, boolean>();
  const failures: ResourceResult[] = [];
  for (const planned of objects) {
    let object = planned.object;
    const namespace = planned.ref.namespace;
    if (namespace !== "" && created.has(namespace)) {
      if (!exists.has(namespace)) {
        const live = await options.kube.get({ group: "", version: "v1", kind: "Namespace", namespace: "", name: namespace });
        exists.set(namespace, live !== undefined);
      }
      if (!exists.get(namespace)) {
        object = { ...object, metadata: { ...object.metadata, namespace: options.agentNamespace } };
      }
    }
    try {
      await options.kube.apply(object, { dryRun: true });
    } catch (error) {
      failures.push(failedResource(planned.ref, describeFailure(planned.ref, error)));
    }
  }
  return failures;
}

// Applies objects in order, appending a result per object; returns the failure messages.
async function applyAll(kube: KubeClient, objects: readonly PlannedObject[], into: ResourceResult[]): Promise<string[]> {
  const failures: string[] = [];
  for (const planned of objects) {
    try {
      const live = await kube.apply(planned.object);
      const { health, message } = assessHealth(live);
      into.push({ ref: planned.ref, sync: SyncState.SYNCED, health, message, applied: { object: planned.object, live } });
    } catch (error) {
      const message = describeFailure(planned.ref, error);
      failures.push(message);
      into.push(failedResource(planned.ref, message));
    }
  }
  return failures;
}

// After a partial apply, the inventory must still name everything the agent created.
async function recordPartial(options: ApplyBundleOptions, previous: Inventory | undefined, applied: readonly ResourceResult[]): Promise<void> {
  const done = applied.filter((r) => r.sync === SyncState.SYNCED).map((r) => r.ref);
  if (done.length === 0) return;
  try {
    await options.inventory.put({
      bundle: options.bundle.name,
      digest: previous?.digest ?? "",
      revision: previous?.revision ?? "",
      prune: previous?.prune ?? options.bundle.policy.prune,
      appliedAt: previous?.appliedAt ?? "",
      objects: mergeRefs(previous?.objects ?? [], done),
    });
  } catch (error) {
    options.logger.error({ bundle: options.bundle.name, err: error }, "cannot record the inventory after a partial apply");
  }
}

// The apply answer of a new CRD predates its Established condition; the wait has now seen it.
function markEstablished(applied: ResourceResult[], crds: readonly CrdDefinition[]): void {
  const names = new Set(crds.map((c) => c.crdName));
  for (const [index, r] of applied.entries()) {
    if (isCrd(r.ref) && names.has(r.ref.name) && r.sync === SyncState.SYNCED) {
      applied[index] = { ...r, health: HealthState.HEALTHY, message: "" };
    }
  }
}

function notAppliedResource(planned: PlannedObject): ResourceResult {
  return { ref: planned.ref, sync: SyncState.OUT_OF_SYNC, health: HealthState.UNKNOWN, message: "not applied: the bundle failed" };
}

function selfOf(options: ApplyBundleOptions): AgentSelf {
  return { namespace: options.agentNamespace, ...options.agentRbac };
}

function notApplied(
  options: ApplyBundleOptions,
  previous: Inventory | undefined,
  planned: readonly PlannedObject[],
  failures: readonly ResourceResult[],
): BundleResult {
  const failed = new Set(failures.map((f) => f.ref));
  const resources = [...failures, ...planned.filter((p) => !failed.has(p.ref)).map(notAppliedResource)];
  return result(options, previous, {
    sync: SyncState.FAILED,
    message: summarize("validation failed, nothing applied", failures.map((f) => f.message)),
    resources,
  });
}

function result(
  options: ApplyBundleOptions,
  previous: Inventory | undefined,
  outcome: { sync: SyncState; message: string; resources?: ResourceResult[] },
): BundleResult {
  const resources = outcome.resources ?? [];
  return {
    name: options.bundle.name,
    desiredDigest: options.bundle.digest,
    appliedDigest: previous?.digest ?? "",
    revision: previous?.revision || options.bundle.revision,
    sync: outcome.sync,
    health: resources.length > 0 ? worstHealth(resources.map((r) => r.health)) : HealthState.UNKNOWN,
    message: outcome.message,
    resources,
    appliedAt: previous?.appliedAt ?? "",
    complete: false,
  };
}
