// Placeholder until the fleet.yaml ignore rules land: unscoped and scoped rules, "*" segments.
import type { ObjectRef } from "../kube-objects.js";
import { segmentsOf } from "./json-pointer.js";

/** A field drift leaves alone; empty scope fields match every object. */
export interface IgnoreRule {
  path: string;
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** Compiles rules into a per-object predicate over JSON pointers. */
export function compileIgnoreRules(rules: readonly IgnoreRule[]): (ref: ObjectRef) => (pointer: string) => boolean {
  return (ref) => {
    const mine = rules
      .filter((r) => (!r.group || r.group === ref.group) && (!r.kind || r.kind === ref.kind) && (!r.namespace || r.namespace === ref.namespace) && (!r.name || r.name === ref.name))
      .map((r) => segmentsOf(r.path));
    return (pointer) => {
      const segments = segmentsOf(pointer);
      return mine.some((rule) => rule.length <= segments.length && rule.every((s, i) => s === "*" || s === segments[i]));
    };
  };
}

/** Rules from a bundle policy that may still hold plain pointers (every object). */
export function ignoreRulesOf(list: ReadonlyArray<string | IgnoreRule>): IgnoreRule[] {
  return list.map((r) => (typeof r === "string" ? { path: r, group: "", kind: "", namespace: "", name: "" } : r));
}
