// Enforcing one object: what a comparison found becomes a state (with first and last seen),
// a correction (guarded by the loop guard), Kubernetes Events and, for the hub, a Correction.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import { assessHealth } from "../health.js";
import { FIELD_MANAGER } from "../kube-client.js";
import type { KubeClient } from "../kube-client.js";
import { formatRef } from "../kube-objects.js";
import type { KubeObject, ObjectRef } from "../kube-objects.js";
import { compareWithLive } from "./compare.js";
import type { FieldDrift } from "./compare.js";
import type { DriftEventReason, KubeEventRecorder } from "./kube-events.js";
import { correctionsInWindow, mayCorrect, recordCorrection } from "./loop-guard.js";
import type { LoopGuardLimits } from "./loop-guard.js";
import { managedFieldsWithout, withIgnoredFromLive } from "./object-edits.js";
import { fingerprint } from "./tracked-object.js";
import type { Correction, DriftStateName, ReportedField, TrackedObject } from "./tracked-object.js";

/** What enforcing needs, and whom it tells. */
export interface EnforcerContext {
  kube: KubeClient;
  clock: Clock;
  logger: Logger;
  limits: LoopGuardLimits;
  recordEvent: KubeEventRecorder | undefined;
  /** Something about a bundle's objects changed. */
  onChange: (bundle: string) => void;
  onCorrection: (correction: Correction) => void;
  /** An object's state was just set (the monitor schedules a conflict's next look). */
  onState: (entry: TrackedObject) => void;
}

/** Enforces objects against Git: `missing` for one that is gone, `present` with its live copy. */
export interface Enforcer {
  missing(entry: TrackedObject): Promise<void>;
  present(entry: TrackedObject, live: KubeObject): Promise<void>;
}

/** Creates an {@link Enforcer}. */
export function createEnforcer(context: EnforcerContext): Enforcer {
  const { kube, clock, logger, limits } = context;

  const setState = (entry: TrackedObject, state: DriftStateName, fields: ReportedField[]): void => {
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
    context.onState(entry);
    drift.corrections = correctionsInWindow(entry.guard, now, limits);
    if (JSON.stringify([drift.state, drift.fields.map((f) => [f.path, f.desired, f.live, f.manager])]) !== before) context.onChange(entry.bundle.name);
  };

  const kubeEvent = (entry: TrackedObject, reason: DriftEventReason, message: string): void => {
    if (context.recordEvent) void context.recordEvent(entry.ref, reason, message);
  };

  /** Compares one object with Git and corrects or reports it. */
  const onMissing = async (entry: TrackedObject): Promise<void> => {
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

  const onPresent = async (entry: TrackedObject, live: KubeObject): Promise<void> => {
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

  const correct = async (entry: TrackedObject, live: KubeObject, drifts: ReportedField[]): Promise<void> => {
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

  const report = (entry: TrackedObject, fields: ReportedField[], message: string): void => {
    logger.info({ bundle: entry.bundle.name, object: formatRef(entry.ref), fields: fields.map((f) => f.path) }, message);
    kubeEvent(entry, "DriftCorrected", message);
    context.onCorrection({
      id: randomUUID(),
      bundle: entry.bundle.name,
      revision: entry.bundle.revision,
      ref: entry.ref,
      fields,
      message,
      at: clock.now(),
    });
  };

  return { missing: onMissing, present: onPresent };
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
