// fleet.yaml's ignore rules, compiled for drift detection and correction: for one object, which
// JSON pointers are left alone. A rule ignores its field and everything under it, nothing else:
// "/spec/replicas" ignores "/spec/replicas" but neither "/spec" nor "/spec/replicasMax". Pure.
import type { IgnoreRule } from "../desired-state.js";
import type { ObjectRef } from "../kube-objects.js";
import { segmentsOf } from "./json-pointer.js";

export type { IgnoreRule } from "../desired-state.js";

/** Whether the field at a JSON pointer (RFC 6901) is ignored; see {@link compileIgnoreRules}. */
export type IgnoredField = (pointer: string) => boolean;

/** The ignore predicate of one object; see {@link compileIgnoreRules}. */
export type IgnoreMatcher = (ref: ObjectRef) => IgnoredField;

/** The segment that matches any key of a mapping or any index of a list. */
export const ANY_SEGMENT = "*";

interface CompiledRule {
  rule: IgnoreRule;
  segments: string[];
}

const nothingIgnored: IgnoredField = () => false;

/**
 * Compiles a bundle's ignore rules once; the matcher it returns picks the rules whose scope
 * matches an object (an empty group, kind, namespace or name matches any) and answers, for a
 * JSON pointer into that object, whether it is the path of one of them or lies under one.
 * Pointers are compared segment by segment after unescaping "~1" ("/") and "~0" ("~"); a rule
 * segment "*" matches any one segment. A rule whose path is not a JSON pointer matches nothing,
 * and neither does the empty pointer (the whole object) or any text that is not a pointer.
 */
export function compileIgnoreRules(rules: readonly IgnoreRule[]): IgnoreMatcher {
  const compiled: CompiledRule[] = [];
  for (const rule of rules) {
    const segments = pointerSegments(rule.path);
    if (segments !== undefined && segments.length > 0) compiled.push({ rule, segments });
  }
  if (compiled.length === 0) return () => nothingIgnored;
  return (ref) => {
    const applicable = compiled.filter(({ rule }) => inScope(rule, ref)).map(({ segments }) => segments);
    if (applicable.length === 0) return nothingIgnored;
    return (pointer) => {
      const segments = pointerSegments(pointer);
      return segments !== undefined && applicable.some((rule) => covers(rule, segments));
    };
  };
}

/** The unescaped segments of a JSON pointer, [] for "" (the whole document); undefined when it is not one. */
export function pointerSegments(pointer: string): string[] | undefined {
  // "~" must be followed by 0 or 1; "~1" is unescaped before "~0", so "~01" is the key "~1".
  if (pointer !== "" && (!pointer.startsWith("/") || /~(?![01])/.test(pointer))) return undefined;
  return segmentsOf(pointer);
}

/** Rules from a list that may still hold plain JSON pointers, which apply to every object. */
export function ignoreRulesOf(list: ReadonlyArray<string | IgnoreRule>): IgnoreRule[] {
  return list.map((r) => (typeof r === "string" ? { path: r, group: "", kind: "", namespace: "", name: "" } : r));
}

function inScope(rule: IgnoreRule, ref: ObjectRef): boolean {
  return (
    (rule.group === "" || rule.group === ref.group) &&
    (rule.kind === "" || rule.kind === ref.kind) &&
    (rule.namespace === "" || rule.namespace === ref.namespace) &&
    (rule.name === "" || rule.name === ref.name)
  );
}

// True when `pointer` is the rule's path or below it.
function covers(rule: readonly string[], pointer: readonly string[]): boolean {
  if (pointer.length < rule.length) return false;
  for (let i = 0; i < rule.length; i++) {
    if (rule[i] !== ANY_SEGMENT && rule[i] !== pointer[i]) return false;
  }
  return true;
}
