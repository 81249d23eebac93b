// The drift monitor: watches every object gitfleet applied, compares each change with the
// desired object (server-side apply dry run, fields gitfleet owns only), and corrects it or
// reports it per bundle. It also keeps each object's live health current, so health changes
// reach the hub as they happen. One monitor lives for one leadership term.
import { createHash, randomUUID } from "node:crypto";
import { HealthState } from "@gitfleet/proto";
import type { Logger } from "pino";
import { pino } from "pino";
import { messageOf } from "@gitfleet/proto/rules";
import { systemClock } from "../clock.js";
import type { Clock } from "../clock.js";
import { assessHealth } from "../health.js";
import type { HealthAssessment } from "../health.js";
import { FIELD_MANAGER } from "../kube-client.js";
import type { KubeClient } from "../kube-client.js";
import { formatRef, refKey } from "../kube-objects.js";
import type { KubeObject, ObjectRef } from "../kube-objects.js";
import { compareWithLive } from "./compare.js";
import type { FieldDrift } from "./compare.js";
import { compileIgnoreRules } from "./ignore-rules.js";
import type { IgnoreRule } from "./ignore-rules.js";
import type { DriftEventReason, KubeEventRecorder } from "./kube-events.js";
import { DEFAULT_LOOP_GUARD, correctionsInWindow, mayCorrect, newGuardState, recordCorrection } from "./loop-guard.js";
import type { LoopGuardLimits, LoopGuardState } from "./loop-guard.js";
import { managedFieldsWithout, withIgnoredFromLive } from "./object-edits.js";
import { createWatchCache } from "./watch-cache.js";

/** Where an object stands against Git; "unknown" until it was first compared. */
export type DriftStateName = "unknown" | "in-sync" | "drifted" | "missing" | "conflict";

/** One drifted field as reported: Secret values are withheld. */
export interface ReportedField extends FieldDrift {
  redacted: boolean;
}

/** What the monitor knows about one object. */
export interface ObjectDrift {
  ref: ObjectRef;
  state: DriftStateName;
  fields: ReportedField[];
  /** When the current state other than in-sync was first and last seen (ms since the epoch). */
  firstSeen: number | undefined;
  lastSeen: number | undefined;
  /** Corrections within the loop guard's window. */
  corrections: number;
  health: HealthAssessment;
}

/** A bundle as the monitor enforces it: its objects exactly as applied. */
export interface TrackedBundle {
  name: string;
  digest: string;
  revision: string;
  mode: "correct" | "report";
  ignore: readonly IgnoreRule[];
  objects: ReadonlyArray<{ ref: ObjectRef; object: KubeObject }>;
}

/** One correction, for the hub's events. */
export interface Correction {
  id: string;
  bundle: string;
  revision: string;
  ref: ObjectRef;
  fields: ReportedField[];
  message: string;
  at: number;
}

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

interface Entry {
  bundle: TrackedBundle;
  /** Set while a pass applies a new desired state of the bundle. */
  held: boolean;
  ref: ObjectRef;
  desired: KubeObject;
  ignored: (pointer: string) => boolean;
  drift: ObjectDrift;
  guard: LoopGuardState;
  /** Content fingerprint of the live object last compared (status excluded). */
  compared: string | undefined;
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
  const entries = new Map<string, Entry>();
  const pending = new Set<string>();
  // Comparisons (and the corrections they make) in flight, by key.
  const running = new Map<string, Promise<void>>();
  // Objects in conflict are compared again when their back-off ends, to see whether the fight goes on.
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
      if (!live) await onMissing(entry);
      else await onPresent(entry, live);
    } catch (err) {
      logger.warn({ object: formatRef(entry.ref), err }, `cannot compare the object with Git: ${messageOf(err)}`);
    }
  };

  const setState = (entry: Entry, state: DriftStateName, fields: ReportedField[]): void => {
    const now = clock.now();
    const drift = entry.drift;
    const before = JSON.stringify([drift.state, drift.fields.map((f) => [f.path, f.desired, f.live, f.manager])]);
    if (state === "in-sync" || state === "unknown") {
      drift.firstSeen = undefined;
      drift.lastSeen = undefined;
    } else {
      if (drift.state !== state || drift.firstSeen === undefined) drift.firstSeen = now;
      drift.lastSeen = now;
    }
    drift.state = state;
    drift.fields = fields;
    const key = refKey(entry.ref);
    clearTimeout(retries.get(key));
    retries.delete(key);
    if (state === "conflict" && entry.guard.conflict) {
      const timer = setTimeout(() => {
        retries.delete(key);
        schedule(key);
      }, Math.max(0, entry.guard.conflict.retryAt - now) + 10);
      timer.unref();
      retries.set(key, timer);
    }
    drift.corrections = correctionsInWindow(entry.guard, now, limits);
    if (JSON.stringify([drift.state, drift.fields.map((f) => [f.path, f.desired, f.live, f.manager])]) !== before) changed(entry.bundle.name);
  };

  const kubeEvent = (entry: Entry, reason: DriftEventReason, message: string): void => {
    if (options.recordEvent) void options.recordEvent(entry.ref, reason, message);
  };

  const onMissing = async (entry: Entry): Promise<void> => {
    const wasMissing = entry.drift.state === "missing";
    if (entry.bundle.mode === "correct" && mayCorrect(entry.guard, clock.now(), limits)) {
      const live = await kube.apply(entry.desired);
      entry.compared = fingerprint(live);
      const conflict = recordCorrection(entry.guard, clock.now(), limits);
      entry.drift.health = assessHealth(live);
      report(entry, [], `recreated ${formatRef(entry.ref)}, which was deleted outside gitfleet`);
      setState(entry, conflict ? "conflict" : "in-sync", []);
      return;
    }
    setState(entry, entry.bundle.mode === "correct" ? "conflict" : "missing", []);
    if (!wasMissing) kubeEvent(entry, "DriftDetected", `${formatRef(entry.ref)} was deleted outside gitfleet; Git still has it`);
  };

  const onPresent = async (entry: Entry, live: KubeObject): Promise<void> => {
    const content = fingerprint(live);
    const dryRun = await kube.apply(entry.desired, { dryRun: true });
    const drifts = redact(entry.ref, compareWithLive({ dryRun, live, fieldManager: FIELD_MANAGER, ignored: entry.ignored }));
    entry.compared = content;
    if (drifts.length === 0) {
      setState(entry, "in-sync", []);
      return;
    }
    const previous = entry.drift.state;
    if (entry.bundle.mode === "report") {
      setState(entry, "drifted", drifts);
      if (previous !== "drifted") kubeEvent(entry, "DriftDetected", `${describe(drifts)} changed outside gitfleet; drift mode is report, so it stays`);
      return;
    }
    if (!mayCorrect(entry.guard, clock.now(), limits)) {
      setState(entry, "conflict", drifts);
      if (previous !== "conflict") kubeEvent(entry, "DriftConflict", `${describe(drifts)} keeps being changed; corrections back off`);
      return;
    }
    await correct(entry, live, drifts);
  };

  const correct = async (entry: Entry, live: KubeObject, drifts: ReportedField[]): Promise<void> => {
    const taken = drifts.filter((d) => d.live !== undefined).map((d) => d.segments);
    const managedFields = managedFieldsWithout(live, FIELD_MANAGER, taken);
    if (managedFields && typeof live.metadata["resourceVersion"] === "string") {
      try {
        await kube.replaceManagedFields(entry.ref, managedFields, live.metadata["resourceVersion"]);
      } catch (err) {
        // The forced apply below still takes the fields back; only the other claims stay.
        logger.debug({ object: formatRef(entry.ref), err }, "cannot drop other managers' claims on drifted fields");
      }
    }
    const applied = await kube.apply(withIgnoredFromLive(entry.desired, live, entry.ignored));
    entry.compared = fingerprint(applied);
    const conflict = recordCorrection(entry.guard, clock.now(), limits);
    report(entry, drifts, `reverted ${describe(drifts)}`);
    if (conflict) {
      setState(entry, "conflict", drifts);
      kubeEvent(entry, "DriftConflict", `${describe(drifts)} was corrected ${entry.guard.corrections.length} times in ${limits.windowMs / 60_000} minutes; corrections back off`);
    } else {
      setState(entry, "in-sync", []);
    }
  };

  const report = (entry: Entry, fields: ReportedField[], message: string): void => {
    logger.info({ bundle: entry.bundle.name, object: formatRef(entry.ref), fields: fields.map((f) => f.path) }, message);
    kubeEvent(entry, "DriftCorrected", message);
    options.onCorrection({
      id: randomUUID(),
      bundle: entry.bundle.name,
      revision: entry.bundle.revision,
      ref: entry.ref,
      fields,
      message,
      at: clock.now(),
    });
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
        const entry: Entry = {
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

// Everything a person or controller could change, not what the server keeps moving.
function fingerprint(object: KubeObject): string {
  const { status: _status, ...rest } = object;
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = object.metadata;
  return createHash("sha256").update(JSON.stringify({ ...rest, metadata })).digest("hex");
}

function redact(ref: ObjectRef, drifts: FieldDrift[]): ReportedField[] {
  const secret = ref.group === "" && ref.kind === "Secret";
  return drifts.map((d) =>
    secret && d.segments[0] !== "metadata" ? { ...d, desired: undefined, live: undefined, redacted: true } : { ...d, redacted: false },
  );
}

function describe(fields: readonly ReportedField[]): string {
  if (fields.length === 0) return "the object";
  const managers = [...new Set(fields.map((f) => f.manager).filter((m) => m !== ""))];
  const paths = fields.slice(0, 3).map((f) => f.path).join(", ") + (fields.length > 3 ? ` and ${fields.length - 3} more` : "");
  return managers.length > 0 ? `${paths} (changed by ${managers.join(", ")})` : paths;
}
