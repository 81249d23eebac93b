// The drift monitor: watches every object gitfleet applied, compares each change with the
// desired object (server-side apply dry run, fields gitfleet owns only), and corrects it or
// reports it per bundle. It also keeps each object's live health current, so health changes
// reach the hub as they happen. One monitor lives for one leadership term.
import { HealthState } from "@gitfleet/proto";
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { systemClock } from "../clock.js";
import type { Clock } from "../clock.js";
import { assessHealth } from "../health.js";
import type { HealthAssessment } from "../health.js";
import type { KubeClient } from "../kube-client.js";
import { formatRef, refKey } from "../kube-objects.js";
import type { KubeObject } from "../kube-objects.js";
import { createEnforcer } from "./enforcer.js";
import { compileIgnoreRules } from "./ignore-rules.js";
import type { KubeEventRecorder } from "./kube-events.js";
import { DEFAULT_LOOP_GUARD, newGuardState } from "./loop-guard.js";
import type { LoopGuardLimits } from "./loop-guard.js";
import { fingerprint } from "./tracked-object.js";
import type { Correction, ObjectDrift, TrackedBundle, TrackedObject } from "./tracked-object.js";
import { createWatchCache } from "./watch-cache.js";

export type { Correction, DriftStateName, ObjectDrift, ReportedField, TrackedBundle } from "./tracked-object.js";

/** Options of {@link createDriftMonitor}. */
export interface DriftMonitorOptions {
  kube: KubeClient;
  clock?: Clock;
  logger?: Logger;
  limits?: Partial<LoopGuardLimits>;
  /** Writes Kubernetes Events on the objects; default none. */
  recordEvent?: KubeEventRecorder;
  /** Something about a bundle's objects changed (drift or health). */
  onChange: (bundle: string) => void;
  /** The monitor corrected an object. */
  onCorrection: (correction: Correction) => void;
}

/** The drift monitor of one leadership term. */
export interface DriftMonitor {
  /**
   * Starts (or restarts, at a new digest) enforcing a bundle. `applied` holds the live objects
   * an apply just returned: those are in sync by definition. Objects without one are compared.
   */
  track(bundle: TrackedBundle, applied?: ReadonlyMap<string, KubeObject>): void;
  /** Stops watching a bundle's objects. */
  untrack(bundle: string): void;
  /**
   * Stops comparing a bundle's objects until it is tracked again: a pass is applying a new
   * desired state, and the old one must not "correct" it meanwhile.
   */
  hold(bundle: string): Promise<void>;
  /** True when the bundle is enforced at this digest. */
  tracks(bundle: string, digest: string): boolean;
  /** The bundle's objects, in the order it lists them. */
  objects(bundle: string): ObjectDrift[];
  /** Compares every object of the bundle whose watch is not synced (the interval's safety net). */
  verify(bundle: string): Promise<void>;
  /** Resolves once no comparison is pending or running (tests and orderly shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const unknownHealth: HealthAssessment = { health: HealthState.UNKNOWN, message: "" };
const missingHealth: HealthAssessment = { health: HealthState.MISSING, message: "the object does not exist" };

/** Creates a {@link DriftMonitor}. */
export function createDriftMonitor(options: DriftMonitorOptions): DriftMonitor {
  const { kube } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? pino({ level: "silent" });
  const limits: LoopGuardLimits = { ...DEFAULT_LOOP_GUARD, ...options.limits };
  const bundles = new Map<string, TrackedBundle>();
  const entries = new Map<string, TrackedObject>();
  const pending = new Set<string>();
  // Comparisons (and the corrections they make) in flight, by key.
  const running = new Map<string, Promise<void>>();
  // Conflicts waiting for their back-off to end, by key.
  const retries = new Map<string, NodeJS.Timeout>();
  let draining: Promise<void> | undefined;
  let stopped = false;

  const cache = createWatchCache({
    kube,
    clock,
    logger,
    events: {
      onObject: (key, live) => observe(key, live),
      onSynced: (keys) => {
        for (const key of keys) if (!cache.lookup(key).live) schedule(key);
      },
    },
  });

  const changed = (bundle: string): void => {
    if (!stopped) options.onChange(bundle);
  };

  const enforcer = createEnforcer({
    kube,
    clock,
    logger,
    limits,
    recordEvent: options.recordEvent,
    onChange: changed,
    onCorrection: (correction) => {
      if (!stopped) options.onCorrection(correction);
    },
    onState: (entry) => {
      // A conflict is looked at again when its back-off ends, to see whether the fight goes on.
      const key = refKey(entry.ref);
      clearTimeout(retries.get(key));
      retries.delete(key);
      if (entry.drift.state !== "conflict" || !entry.guard.conflict) return;
      const timer = setTimeout(() => {
        retries.delete(key);
        schedule(key);
      }, Math.max(0, entry.guard.conflict.retryAt - clock.now()) + 10);
      timer.unref();
      retries.set(key, timer);
    },
  });

  const observe = (key: string, live: KubeObject | undefined): void => {
    const entry = entries.get(key);
    if (!entry) return;
    const health = live ? assessHealth(live) : missingHealth;
    if (health.health !== entry.drift.health.health || health.message !== entry.drift.health.message) {
      entry.drift.health = health;
      changed(entry.bundle.name);
    }
    if (!live || fingerprint(live) !== entry.compared) schedule(key);
  };

  const schedule = (key: string): void => {
    if (stopped || !entries.has(key)) return;
    pending.add(key);
    draining ??= drain().finally(() => (draining = undefined));
  };

  // Comparisons run a few at a time; a key scheduled again while pending is compared once.
  const drain = async (): Promise<void> => {
    await Promise.resolve();
    while (pending.size > 0 && !stopped) {
      const batch = [...pending].slice(0, 4);
      for (const key of batch) pending.delete(key);
      await Promise.all(
        batch.map((key) => {
          const run = compareOne(key).finally(() => running.delete(key));
          running.set(key, run);
          return run;
        }),
      );
    }
  };

  const compareOne = async (key: string): Promise<void> => {
    const entry = entries.get(key);
    if (!entry || entry.held) return;
    try {
      const cached = cache.lookup(key);
      const live = cached.synced ? cached.live : await kube.get(entry.ref);
      if (entries.get(key) !== entry || entry.held) return;
      if (!live) await enforcer.missing(entry);
      else await enforcer.present(entry, live);
    } catch (err) {
      logger.warn({ object: formatRef(entry.ref), err }, `cannot compare the object with Git: ${messageOf(err)}`);
    }
  };

  const retrack = (): void => {
    cache.setTracked([...entries.values()].map((e) => e.ref));
  };

  return {
    track(bundle, applied) {
      const old = bundles.get(bundle.name);
      bundles.set(bundle.name, bundle);
      const ignoredFor = compileIgnoreRules(bundle.ignore);
      const keys = new Set<string>();
      for (const { ref, object } of bundle.objects) {
        const key = refKey(ref);
        keys.add(key);
        const existing = entries.get(key);
        const live = applied?.get(key);
        const same = existing && old && old.digest === bundle.digest && existing.bundle.name === bundle.name;
        const entry: TrackedObject = {
          bundle,
          held: false,
          ref,
          desired: object,
          ignored: ignoredFor(ref),
          drift: same
            ? existing.drift
            : { ref, state: "unknown", fields: [], firstSeen: undefined, lastSeen: undefined, corrections: 0, health: live ? assessHealth(live) : unknownHealth },
          // A new digest is a new desired state: the fight, if any, is over.
          guard: same ? existing.guard : newGuardState(),
          compared: live ? fingerprint(live) : same ? existing.compared : undefined,
        };
        if (live) entry.drift.state = "in-sync";
        entries.set(key, entry);
        if (!live) schedule(key);
      }
      if (old) {
        for (const { ref } of old.objects) {
          const key = refKey(ref);
          if (!keys.has(key) && entries.get(key)?.bundle.name === bundle.name) entries.delete(key);
        }
      }
      retrack();
      changed(bundle.name);
    },
    untrack(name) {
      const bundle = bundles.get(name);
      if (!bundle) return;
      bundles.delete(name);
      for (const { ref } of bundle.objects) {
        const key = refKey(ref);
        if (entries.get(key)?.bundle.name === name) entries.delete(key);
      }
      retrack();
    },
    async hold(name) {
      const inFlight: Array<Promise<void>> = [];
      for (const [key, entry] of entries) {
        if (entry.bundle.name !== name) continue;
        entry.held = true;
        const run = running.get(key);
        if (run) inFlight.push(run);
      }
      await Promise.all(inFlight);
    },
    tracks(name, digest) {
      if (bundles.get(name)?.digest !== digest) return false;
      return ![...entries.values()].some((e) => e.bundle.name === name && e.held);
    },
    objects(name) {
      const bundle = bundles.get(name);
      if (!bundle) return [];
      return bundle.objects.flatMap(({ ref }) => {
        const entry = entries.get(refKey(ref));
        return entry && entry.bundle.name === name ? [entry.drift] : [];
      });
    },
    async verify(name) {
      const bundle = bundles.get(name);
      if (!bundle) return;
      for (const { ref } of bundle.objects) {
        const key = refKey(ref);
        if (!cache.lookup(key).synced) schedule(key);
      }
      await draining;
    },
    async idle() {
      while (draining) await draining;
    },
    async stop() {
      stopped = true;
      pending.clear();
      for (const timer of retries.values()) clearTimeout(timer);
      retries.clear();
      await draining;
      await cache.stop();
    },
  };
}
