// Edits drift correction makes to what it sends: ignored fields keep their live values, and other
// managers lose their claim on the fields gitfleet takes back.
import type { KubeObject } from "../kube-objects.js";
import { isPlainObject, pointerOf, valueAt } from "./json-pointer.js";
import type { Segment } from "./json-pointer.js";
import { withoutPaths } from "./managed-fields.js";

/**
 * The desired object with every ignored field set to its live value (or left out when the live
 * object lacks it), so that a correction never touches a field the ignore rules protect.
 */
export function withIgnoredFromLive(desired: KubeObject, live: KubeObject | undefined, ignored: (pointer: string) => boolean): KubeObject {
  const copy = structuredClone(desired);
  const visit = (value: unknown, at: Segment[], parent: Record<string, unknown> | unknown[] | undefined, key: Segment | undefined): void => {
    if (at.length > 0 && ignored(pointerOf(at)) && parent !== undefined && key !== undefined) {
      const liveValue = valueAt(live, at);
      if (Array.isArray(parent)) {
        if (liveValue !== undefined) parent[Number(key)] = structuredClone(liveValue);
      } else if (liveValue === undefined) {
        delete parent[String(key)];
      } else {
        parent[String(key)] = structuredClone(liveValue);
      }
      return;
    }
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, [...at, i], value, i));
    else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) visit(v, [...at, k], value, k);
  };
  visit(copy, [], undefined, undefined);
  return copy;
}

/**
 * The live object's managedFields without other managers' ownership of `paths` (entries left
 * owning nothing are dropped); undefined when no other manager owns any of them.
 */
export function managedFieldsWithout(live: KubeObject, fieldManager: string, paths: ReadonlyArray<readonly Segment[]>): unknown[] | undefined {
  const raw = live.metadata["managedFields"];
  if (!Array.isArray(raw) || paths.length === 0) return undefined;
  let changed = false;
  const result: unknown[] = [];
  for (const item of raw) {
    const fieldsV1 = isPlainObject(item) ? item["fieldsV1"] : undefined;
    if (!isPlainObject(item) || item["manager"] === fieldManager || !isPlainObject(fieldsV1)) {
      result.push(item);
      continue;
    }
    const fields = withoutPaths(fieldsV1, live, paths);
    if (JSON.stringify(fields) === JSON.stringify(fieldsV1)) {
      result.push(item);
      continue;
    }
    changed = true;
    if (Object.keys(fields).length > 0) result.push({ ...item, fieldsV1: fields });
  }
  return changed ? result : undefined;
}
