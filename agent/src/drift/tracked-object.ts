// What the drift monitor holds about each object it enforces, and what it reports.
import { createHash } from "node:crypto";
import type { HealthAssessment } from "../health.js";
import type { KubeObject, ObjectRef } from "../kube-objects.js";
import type { FieldDrift } from "./compare.js";
import type { IgnoreRule } from "./ignore-rules.js";
import type { LoopGuardState } from "./loop-guard.js";

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

/** One object the monitor enforces, with what it last found. */
export interface TrackedObject {
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

// Everything a person or controller could change, not what the server keeps moving.
export function fingerprint(object: KubeObject): string {
  const { status: _status, ...rest } = object;
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = object.metadata;
  return createHash("sha256").update(JSON.stringify({ ...rest, metadata })).digest("hex");
}
