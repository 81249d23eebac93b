// The comparison at the heart of drift detection. The desired object is first put through a
// server-side apply dry run, so the API server fills in its defaults and normalizes values
// (e.g. "0.5" CPU becomes "500m"); then only the fields gitfleet's field manager owns in that
// dry run are compared with the live object. Defaults and fields other managers own (an HPA's
// replicas, a webhook's sidecar) can therefore never show up as drift.
import { isPlainObject, jsonEqual, pointerOf } from "./json-pointer.js";
import type { Segment } from "./json-pointer.js";
import { managedFieldsOf, ownsPath, trieChildren } from "./managed-fields.js";
import type { FieldsTrie } from "./managed-fields.js";

/** One field whose live value is not the desired one. */
export interface FieldDrift {
  /** JSON pointer into the live object (the dry run's layout when the field is gone). */
  path: string;
  segments: Segment[];
  /** The values; undefined when absent. */
  desired: unknown;
  live: unknown;
  /** The field manager that wrote the live value; "" when none is known. */
  manager: string;
}

/** Options of {@link compareWithLive}. */
export interface CompareOptions {
  /** The desired object as the API server would store it: the answer of a dry-run apply. */
  dryRun: unknown;
  live: unknown;
  /** The field manager whose fields count (gitfleet's). */
  fieldManager: string;
  /** True for a pointer drift must leave alone (ignore rules). */
  ignored?: (pointer: string) => boolean;
}

/**
 * The fields gitfleet owns whose live value differs from the dry run's, in path order. The
 * manager of each is read from the live object's managedFields: the one owning the field now,
 * or, for a field that is gone, the other manager that changed the object last.
 */
export function compareWithLive(options: CompareOptions): FieldDrift[] {
  const own = managedFieldsOf(options.dryRun).filter((e) => e.manager === options.fieldManager && e.operation === "Apply" && e.subresource === "");
  const ignored = options.ignored ?? (() => false);
  const found: FieldDrift[] = [];
  for (const entry of own) walk(entry.fields, options.dryRun, options.live, [], { ignored, found });
  const unique = new Map(found.map((f) => [f.path, f]));
  const drifts = [...unique.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const liveManagers = managedFieldsOf(options.live).filter((e) => e.manager !== options.fieldManager);
  for (const drift of drifts) drift.manager = managerOf(drift, liveManagers, options.live);
  return drifts;
}

interface WalkState {
  ignored: (pointer: string) => boolean;
  found: FieldDrift[];
}

// Server-maintained metadata is never drift, even when the dry run lists it.
const skippedMetadata = new Set(["f:resourceVersion", "f:generation", "f:managedFields", "f:uid", "f:creationTimestamp"]);

function walk(node: FieldsTrie, desired: unknown, live: unknown, at: Segment[], state: WalkState): void {
  const liveSteps = trieChildren(node, live);
  for (const step of trieChildren(node, desired)) {
    if (at.length === 1 && at[0] === "metadata" && skippedMetadata.has(step.key)) continue;
    if (at.length === 0 && step.key === "f:status") continue;
    if (step.segment === undefined) continue; // the dry run does not hold it either
    const liveStep = liveSteps.find((s) => s.key === step.key);
    const liveSegment = liveStep?.segment;
    const segments = [...at, liveSegment ?? step.segment];
    const pointer = pointerOf(segments);
    if (state.ignored(pointer)) continue;
    const leaf = Object.keys(step.node).filter((k) => k !== ".").length === 0;
    if (liveSegment === undefined) {
      state.found.push({ path: pointer, segments, desired: step.value, live: undefined, manager: "" });
    } else if (leaf || !isContainer(step.value) || !isContainer(liveStep?.value)) {
      if (!jsonEqual(step.value, liveStep?.value)) {
        state.found.push({ path: pointer, segments, desired: step.value, live: liveStep?.value, manager: "" });
      }
    } else {
      walk(step.node, step.value, liveStep?.value, segments, state);
    }
  }
}

function isContainer(value: unknown): boolean {
  return isPlainObject(value) || Array.isArray(value);
}

function managerOf(drift: FieldDrift, managers: ReturnType<typeof managedFieldsOf>, live: unknown): string {
  if (drift.live !== undefined) {
    const owner = managers.find((m) => ownsPath(m.fields, live, drift.segments));
    if (owner) return owner.manager;
  }
  // A removed field has no owner left: name the manager that touched the object last.
  const latest = [...managers].filter((m) => m.time !== "").sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))[0];
  return latest?.manager ?? "";
}
