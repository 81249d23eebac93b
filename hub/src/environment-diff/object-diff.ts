// Comparing two sets of rendered Kubernetes objects, object by object: matched by apiVersion,
// kind, namespace and name; each object added, removed or changed, and for a changed one every
// differing field (field-diff.ts). Secrets keep their values to themselves. Pure.
import { diffFields, isPlainObject, type FieldChange } from "./field-diff.js";

/** One rendered object and the bundle it belongs to. */
export interface RenderedItem {
  readonly bundle: string;
  readonly object: Readonly<Record<string, unknown>>;
}

/** A Kubernetes object by apiVersion, kind, namespace ("" when cluster-scoped) and name. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** A field of a changed object; `redacted` fields (of Secrets) carry no values. */
export type DiffField = FieldChange & { readonly redacted?: true };

/** One object that differs between the two sides. */
export interface ObjectChange extends ObjectRef {
  /** added: only `to` has it; removed: only `from` has it; changed: both, with different fields. */
  readonly change: "added" | "removed" | "changed";
  /** The bundle it belongs to (on the `to` side when both have it). */
  readonly bundle: string;
  /** The differing fields of a changed object; empty for added and removed ones. */
  readonly fields: DiffField[];
}

/** What {@link diffObjects} found. */
export interface ObjectDiff {
  /** Sorted by apiVersion, kind, namespace and name. */
  readonly objects: ObjectChange[];
  readonly counts: { readonly added: number; readonly removed: number; readonly changed: number; readonly unchanged: number };
}

/**
 * Compares two sets of objects. An object present twice on one side (the same identity in two
 * bundles) counts once, with its first occurrence.
 */
export function diffObjects(from: readonly RenderedItem[], to: readonly RenderedItem[]): ObjectDiff {
  const before = index(from);
  const after = index(to);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const objects: ObjectChange[] = [];
  const counts = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  for (const key of keys) {
    const a = before.get(key);
    const b = after.get(key);
    const ref = refOf((b ?? a)?.object ?? {});
    if (a === undefined && b !== undefined) {
      counts.added++;
      objects.push({ ...ref, change: "added", bundle: b.bundle, fields: [] });
    } else if (b === undefined && a !== undefined) {
      counts.removed++;
      objects.push({ ...ref, change: "removed", bundle: a.bundle, fields: [] });
    } else if (a !== undefined && b !== undefined) {
      const fields = diffFields(a.object, b.object);
      if (fields.length === 0) {
        counts.unchanged++;
        continue;
      }
      counts.changed++;
      objects.push({ ...ref, change: "changed", bundle: b.bundle, fields: isSecret(ref) ? fields.map(redact) : fields });
    }
  }
  return { objects, counts };
}

/** The identity of an object; missing parts read as "". */
export function refOf(object: Readonly<Record<string, unknown>>): ObjectRef {
  const metadata = isPlainObject(object["metadata"]) ? object["metadata"] : {};
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  return { apiVersion: text(object["apiVersion"]), kind: text(object["kind"]), namespace: text(metadata["namespace"]), name: text(metadata["name"]) };
}

function index(items: readonly RenderedItem[]): Map<string, RenderedItem> {
  const map = new Map<string, RenderedItem>();
  for (const item of items) {
    const ref = refOf(item.object);
    // NUL-separated so that the sorted keys order by apiVersion, then kind, namespace and name.
    const key = [ref.apiVersion, ref.kind, ref.namespace, ref.name].join("\0");
    if (!map.has(key)) map.set(key, item);
  }
  return map;
}

/** A core Secret: its data never leaves the hub, only the names of its differing fields do. */
function isSecret(ref: ObjectRef): boolean {
  return ref.apiVersion === "v1" && ref.kind === "Secret";
}

/** Withholds the values of a Secret's field, as the drift API does, except its metadata. */
function redact(field: FieldChange): DiffField {
  if (field.path.startsWith("/metadata/")) return field;
  return { path: field.path, field: field.field, redacted: true };
}
