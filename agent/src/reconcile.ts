// The reconcile loop: keeps applying the last complete desired state, on every change, on
// request and every interval, whether or not the hub and NATS are reachable.
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { applyBundle } from "./apply.js";
import type { BundleResult } from "./bundle-result.js";
import { createWakeup, systemClock } from "./clock.js";
import type { Clock } from "./clock.js";
import type { DesiredBundle, DesiredStateSnapshot } from "./desired-state.js";
import type { InventoryStore } from "./inventory.js";
import type { KubeClient } from "./kube-client.js";
import { formatRef, refKey, refOf } from "./kube-objects.js";
import { pruneObjects } from "./prune.js";
import type { DriftMonitor } from "./drift/index.js";
import { adoptBundle, trackApplied } from "./drift-handover.js";
import type { ReconcileMetrics } from "./metrics.js";
import type { AgentRbac, AgentSelf } from "./self-guard.js";

/** What one reconcile pass did. */
export interface ReconcileReport {
  /** Revision and generation of the desired state the pass applied. */
  revision: string;
  generation: bigint;
  bundles: BundleResult[];
  /** Bundles that left the desired state in this pass and were cleaned up. */
  removedBundles: string[];
  startedAt: string;
  finishedAt: string;
}

/** Options of {@link createReconciler}. */
export interface ReconcilerOptions {
  kube: KubeClient;
  inventory: InventoryStore;
  /** The agent's namespace. */
  agentNamespace: string;
  /** The agent's ServiceAccount and RBAC names: a bundle that touches them is refused. */
  agentRbac?: AgentRbac | undefined;
  logger?: Logger;
  clock?: Clock;
  /** Re-enforce period; default 30 s. */
  intervalMs?: number;
  /** How long to wait for a bundle's CRDs to be established; default 60 s. */
  crdTimeoutMs?: number;
  /** Called after every pass. */
  onReport?: (report: ReconcileReport) => void;
  /**
   * Watches what the passes applied, and corrects or reports drift between them. Without one,
   * a pass re-applies bundles in drift mode "correct" and leaves "report" bundles alone.
   */
  drift?: DriftMonitor;
  /** Told how long each pass and each bundle's apply took. */
  metrics?: ReconcileMetrics | undefined;
}

/** Applies the desired state to the cluster, once on demand or in a loop it owns. */
export interface Reconciler {
  /** Replaces the desired state and asks the loop to apply it now. */
  setDesired(state: DesiredStateSnapshot): void;
  /** The desired state being enforced, if any has arrived yet. */
  readonly desired: DesiredStateSnapshot | undefined;
  /** The last pass's report. */
  readonly lastReport: ReconcileReport | undefined;
  /** Asks the loop to run a pass now (e.g. a desired-state change). */
  trigger(reason: string): void;
  /**
   * Asks for a full pass now that validates and re-applies the named bundles (all when none
   * are named), including bundles whose drift mode only reports.
   */
  resync(bundles?: readonly string[]): void;
  /** Runs one pass now (after any pass in progress); undefined when no desired state is known. */
  reconcileNow(): Promise<ReconcileReport | undefined>;
  /** When the loop last began a pass or a wait (ms since the epoch); undefined before start(). Liveness reads it. */
  readonly lastTickAt: number | undefined;
  /** Starts the loop. */
  start(): void;
  /** Stops the loop and waits for a pass in progress to finish. */
  stop(): Promise<void>;
}

/** Creates a {@link Reconciler}. */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  const logger = options.logger ?? pino({ level: "silent" });
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? 30_000;
  const wakeup = createWakeup(clock);
  // Per bundle: the digest applied completely in this process, and the last result.
  const validated = new Map<string, string>();
  const lastResults = new Map<string, BundleResult>();
  // Bundles a resync asked to apply again, even when the cluster already holds their digest.
  const forced = new Set<string>();
  let forceAll = false;
  const monitor = options.drift;
  const self: AgentSelf = { namespace: options.agentNamespace, ...options.agentRbac };
  let desired: DesiredStateSnapshot | undefined;
  let lastReport: ReconcileReport | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let loop: Promise<void> | undefined;
  let lastTickAt: number | undefined;
  const stopping = new AbortController();

  const pass = async (state: DesiredStateSnapshot): Promise<ReconcileReport> => {
    const startedAt = new Date(clock.now()).toISOString();
    const claims = claimedKeys(state.bundles);
    const bundles: BundleResult[] = [];
    for (const bundle of state.bundles) {
      if (stopping.signal.aborted) break;
      const known = validated.get(bundle.name) === bundle.digest;
      const previous = lastResults.get(bundle.name);
      const force = forceAll || forced.has(bundle.name);
      forced.delete(bundle.name);
      if (monitor && !force && !bundle.error) {
        // Enforced between passes by the monitor: the pass only covers objects no watch sees.
        if (known && previous?.desiredDigest === bundle.digest && monitor.tracks(bundle.name, bundle.digest)) {
          await monitor.verify(bundle.name);
          bundles.push(previous);
          continue;
        }
        // A restarted agent: the cluster holds this digest already. Compare, never re-apply:
        // drift made meanwhile is corrected or reported like any other.
        const adopted = monitor ? await adoptBundle({ kube: options.kube, inventory: options.inventory, monitor, bundle, self, logger }) : undefined;
        if (adopted) {
          validated.set(bundle.name, bundle.digest);
          lastResults.set(bundle.name, adopted);
          bundles.push(adopted);
          continue;
        }
      } else if (!monitor && bundle.policy.drift === "report" && known && previous?.desiredDigest === bundle.digest) {
        // Drift mode "report": a payload is applied once; re-applying it would correct drift.
        bundles.push(previous);
        continue;
      }
      const claimedElsewhere = new Set<string>();
      for (const [name, keys] of claims) if (name !== bundle.name) for (const k of keys) claimedElsewhere.add(k);
      // The monitor enforces the state being replaced: it must not put that back meanwhile.
      await monitor?.hold(bundle.name);
      const applyStarted = performance.now();
      const applied = await applyBundle({
        kube: options.kube,
        inventory: options.inventory,
        bundle,
        agentNamespace: options.agentNamespace,
        agentRbac: options.agentRbac,
        claimedElsewhere,
        validated: known,
        clock,
        logger,
        signal: stopping.signal,
        ...(options.crdTimeoutMs !== undefined ? { crdTimeoutMs: options.crdTimeoutMs } : {}),
      });
      options.metrics?.bundleApplied(bundle.name, (performance.now() - applyStarted) / 1000, applied.sync);
      if (applied.complete) {
        validated.set(bundle.name, bundle.digest);
        monitor?.track(...trackApplied(bundle, applied));
      } else {
        validated.delete(bundle.name);
      }
      // The monitor keeps what it needs of the applied objects; results kept for later passes do not.
      const result: BundleResult = { ...applied, resources: applied.resources.map(({ applied: _sent, ...rest }) => rest) };
      lastResults.set(bundle.name, result);
      if (result.message) logger.warn({ bundle: bundle.name, sync: result.sync, message: result.message }, "bundle not synced");
      bundles.push(result);
    }
    forceAll = false;
    if (monitor) for (const name of lastResults.keys()) if (!state.bundles.some((b) => b.name === name)) untrack(name);
    const removedBundles = stopping.signal.aborted ? [] : await removeLeftBundles(state, claims);
    const report: ReconcileReport = {
      revision: state.revision,
      generation: state.generation,
      bundles,
      removedBundles,
      startedAt,
      finishedAt: new Date(clock.now()).toISOString(),
    };
    lastReport = report;
    options.onReport?.(report);
    return report;
  };

  // Bundles with an inventory but no place in the desired state any more: prune their objects
  // when their last policy said so, then forget them.
  const removeLeftBundles = async (state: DesiredStateSnapshot, claims: Map<string, Set<string>>): Promise<string[]> => {
    const names = new Set(state.bundles.map((b) => b.name));
    const everything = new Set<string>();
    for (const keys of claims.values()) for (const k of keys) everything.add(k);
    const removed: string[] = [];
    try {
      for (const inventory of await options.inventory.list()) {
        if (names.has(inventory.bundle)) continue;
        if (inventory.prune) {
          const outcome = await pruneObjects({
            kube: options.kube,
            bundle: inventory.bundle,
            inventory: inventory.objects,
            desired: [],
            claimedElsewhere: everything,
            self,
            logger,
          });
          if (outcome.kept.length > 0) {
            logger.warn({ bundle: inventory.bundle, left: outcome.kept.map(formatRef) }, "removed bundle not fully pruned yet");
            await options.inventory.put({ ...inventory, objects: outcome.kept });
            continue;
          }
        } else {
          logger.info({ bundle: inventory.bundle }, "bundle left the desired state; its objects stay (prune is off)");
        }
        await options.inventory.remove(inventory.bundle);
        removed.push(inventory.bundle);
      }
    } catch (error) {
      logger.warn({ err: error }, `cannot clean up removed bundles: ${messageOf(error)}`);
    }
    return removed;
  };

  const untrack = (name: string): void => {
    monitor?.untrack(name);
    lastResults.delete(name);
    validated.delete(name);
  };

  const timedPass = async (state: DesiredStateSnapshot): Promise<ReconcileReport> => {
    const started = performance.now();
    try {
      const report = await pass(state);
      options.metrics?.passed((performance.now() - started) / 1000, "success");
      return report;
    } catch (error) {
      options.metrics?.passed((performance.now() - started) / 1000, "failure");
      throw error;
    }
  };

  const reconcileNow = (): Promise<ReconcileReport | undefined> => {
    const run = queue.then(() => (desired ? timedPass(desired) : undefined));
    queue = run.catch(() => undefined);
    return run;
  };

  const runLoop = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      // This pass covers every trigger so far; one arriving during it asks for another.
      wakeup.clear();
      lastTickAt = clock.now();
      try {
        await reconcileNow();
      } catch (error) {
        logger.error({ err: error }, "reconcile pass failed");
      }
      lastTickAt = clock.now();
      await wakeup.wait(intervalMs, stopping.signal);
    }
  };

  return {
    setDesired(state) {
      desired = state;
      wakeup.trigger();
    },
    get desired() {
      return desired;
    },
    get lastReport() {
      return lastReport;
    },
    get lastTickAt() {
      return lastTickAt;
    },
    trigger(reason) {
      logger.debug({ reason }, "reconcile requested");
      wakeup.trigger();
    },
    resync(names = []) {
      if (names.length === 0) {
        validated.clear();
        forceAll = true;
      }
      for (const name of names) {
        validated.delete(name);
        forced.add(name);
      }
      logger.debug({ bundles: names }, "resync requested");
      wakeup.trigger();
    },
    reconcileNow,
    start() {
      loop ??= runLoop();
    },
    async stop() {
      stopping.abort();
      await loop;
      await queue;
    },
  };
}

/**
 * Keys of the objects each bundle holds. An object without a namespace is claimed both as
 * cluster-scoped and in the bundle's default namespace: claiming too much only prunes less.
 */
export function claimedKeys(bundles: readonly DesiredBundle[]): Map<string, Set<string>> {
  const claims = new Map<string, Set<string>>();
  for (const bundle of bundles) {
    const keys = new Set<string>();
    for (const object of bundle.objects) {
      const ref = refOf(object);
      keys.add(refKey(ref));
      if (ref.namespace === "") keys.add(refKey({ ...ref, namespace: bundle.policy.namespace || "default" }));
    }
    claims.set(bundle.name, keys);
  }
  return claims;
}

