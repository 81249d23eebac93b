// managedFields as server-side apply records them: which field manager owns which fields
// (fieldsV1, a trie of "f:<name>", "k:<merge key JSON>", "v:<value JSON>", "i:<index>" and "."),
// read together with the object so that a path with list indices finds its trie node.
import { isPlainObject, jsonEqual } from "./json-pointer.js";
import type { Segment } from "./json-pointer.js";

/** A fieldsV1 trie node; an empty node is an owned leaf. */
export type FieldsTrie = Record<string, unknown>;

/** One managedFields entry, reduced to what drift needs. */
export interface ManagedFieldsEntry {
  manager: string;
  operation: string;
  /** RFC 3339 time of the manager's last change; "" when absent. */
  time: string;
  subresource: string;
  fields: FieldsTrie;
}

/** The managedFields of an object, skipping malformed entries. */
export function managedFieldsOf(object: unknown): ManagedFieldsEntry[] {
  const metadata = isPlainObject(object) ? object["metadata"] : undefined;
  const list = isPlainObject(metadata) ? metadata["managedFields"] : undefined;
  if (!Array.isArray(list)) return [];
  const entries: ManagedFieldsEntry[] = [];
  for (const item of list) {
    if (!isPlainObject(item) || typeof item["manager"] !== "string") continue;
    entries.push({
      manager: item["manager"],
      operation: typeof item["operation"] === "string" ? item["operation"] : "",
      time: typeof item["time"] === "string" ? item["time"] : "",
      subresource: typeof item["subresource"] === "string" ? item["subresource"] : "",
      fields: isPlainObject(item["fieldsV1"]) ? item["fieldsV1"] : {},
    });
  }
  return entries;
}

/** One child of a trie node, resolved against the value at that node. */
export interface TrieStep {
  /** The trie key, e.g. "f:image" or 'k:{"name":"web"}'. */
  key: string;
  node: FieldsTrie;
  /** Where the child lives in the value: a key or an index; undefined when it is absent. */
  segment: Segment | undefined;
  value: unknown;
}

/**
 * The children of a trie node with the values they name inside `value`. A list member named by
 * its merge key ("k:") or value ("v:") is found by content, so its index may differ between two
 * versions of the object.
 */
export function trieChildren(node: FieldsTrie, value: unknown): TrieStep[] {
  const steps: TrieStep[] = [];
  for (const [key, child] of Object.entries(node)) {
    if (key === "." || !isPlainObject(child)) continue;
    const kind = key.slice(0, 2);
    const rest = key.slice(2);
    if (kind === "f:") {
      const present = isPlainObject(value) && Object.hasOwn(value, rest);
      steps.push({ key, node: child, segment: present ? rest : undefined, value: present ? value[rest] : undefined });
    } else if (kind === "k:" || kind === "v:" || kind === "i:") {
      const index = Array.isArray(value) ? listIndex(kind, rest, value) : -1;
      steps.push({
        key,
        node: child,
        segment: index >= 0 ? index : undefined,
        value: index >= 0 && Array.isArray(value) ? value[index] : undefined,
      });
    }
  }
  return steps;
}

function listIndex(kind: string, rest: string, list: readonly unknown[]): number {
  if (kind === "i:") {
    const index = Number(rest);
    return Number.isInteger(index) && index < list.length ? index : -1;
  }
  let wanted: unknown;
  try {
    wanted = JSON.parse(rest);
  } catch {
    return -1;
  }
  if (kind === "v:") return list.findIndex((item) => jsonEqual(item, wanted));
  if (!isPlainObject(wanted)) return -1;
  return list.findIndex((item) => isPlainObject(item) && Object.entries(wanted).every(([k, v]) => jsonEqual(item[k], v)));
}

/**
 * True when `fields` owns the field at `segments` of `object` (or a field above it that is
 * atomic, i.e. a leaf of the trie).
 */
export function ownsPath(fields: FieldsTrie, object: unknown, segments: readonly Segment[]): boolean {
  let node = fields;
  let value = object;
  for (const segment of segments) {
    if (Object.keys(node).filter((k) => k !== ".").length === 0) return true;
    const step = trieChildren(node, value).find((s) => s.segment !== undefined && String(s.segment) === String(segment));
    if (!step) return false;
    node = step.node;
    value = step.value;
  }
  return true;
}

/**
 * Removes ownership of the fields at `paths` from a trie (the nodes themselves and the "."
 * markers of parents left with nothing else). Returns a new trie.
 */
export function withoutPaths(fields: FieldsTrie, object: unknown, paths: ReadonlyArray<readonly Segment[]>): FieldsTrie {
  const copy = structuredClone(fields);
  for (const segments of paths) removePath(copy, object, segments);
  return copy;
}

function removePath(node: FieldsTrie, value: unknown, segments: readonly Segment[]): boolean {
  if (segments.length === 0) return true;
  const [first, ...rest] = segments;
  const step = trieChildren(node, value).find((s) => s.segment !== undefined && String(s.segment) === String(first));
  if (!step) return false;
  if (removePath(step.node, step.value, rest) || Object.keys(step.node).length === 0 || isOnlyDot(step.node)) {
    delete node[step.key];
  }
  return false;
}

function isOnlyDot(node: FieldsTrie): boolean {
  const keys = Object.keys(node);
  return keys.length === 1 && keys[0] === ".";
}
