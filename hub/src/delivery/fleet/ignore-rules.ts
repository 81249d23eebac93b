// A bundle's `ignore` list in fleet.yaml: fields that drift detection and correction leave alone.
// Each item is a JSON pointer (every object of the bundle) or a mapping that scopes a pointer to
// objects by group, kind, namespace and name. A pointer segment "*" matches any key or index.
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { dnsLabelProblem } from "@gitfleet/proto/rules";
import type { Field, YamlFields } from "./yaml-fields.js";

/** One ignore rule: a JSON pointer and, optionally, the objects it is scoped to (absent = any). */
export interface IgnoreRuleSpec {
  /** RFC 6901 JSON pointer; the field and everything under it is ignored. "*" as a segment matches any key or list index. */
  readonly path: string;
  /** API group ("apps", "networking.k8s.io"); the core group cannot be singled out: leave it out. */
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** An ignore rule as fleet.yaml writes it: a bare pointer when it has no scope, else a mapping. */
export type IgnoreRuleForm = string | IgnoreRuleSpec;

const RULE_FIELDS = ["path", "group", "kind", "namespace", "name"] as const;
const SCOPE_FIELDS = ["group", "kind", "namespace", "name"] as const;

/** RFC 6901: "/"-separated tokens, "~" only as "~0" or "~1". The empty pointer (whole object) is refused. */
const JSON_POINTER = /^(\/([^~/]|~[01])*)+$/;
const API_GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;
const RULE_SHAPE = "a JSON pointer, or a mapping with path and optionally group, kind, namespace and name";

/** Reads a bundle's `ignore` list; undefined when it is not a list. Malformed items are issues. */
export function readIgnoreRules(r: YamlFields, field: Field): IgnoreRuleSpec[] | undefined {
  const items = r.list(field);
  if (items === undefined) return undefined;
  const rules: IgnoreRuleSpec[] = [];
  for (const { node, path } of items) {
    let rule: IgnoreRuleSpec | undefined;
    if (isMap(node)) rule = readScopedRule(r, node, path);
    else if (isScalar(node) && typeof node.value === "string") rule = pointer(r, node, path, node.value);
    else if (isScalar(node) && (node.value === null || node.value === undefined)) r.add(node, path, "must not be empty");
    else r.add(node ?? field.key, path, `must be ${RULE_SHAPE}${found(node)}`);
    if (rule !== undefined) rules.push(rule);
  }
  return rules;
}

/** The fleet.yaml form of a rule: its pointer alone when unscoped. */
export function ignoreRuleForm(rule: IgnoreRuleSpec): IgnoreRuleForm {
  return SCOPE_FIELDS.some((key) => rule[key] !== undefined) ? { ...rule } : rule.path;
}

function pointer(r: YamlFields, node: Node, path: string, value: string): IgnoreRuleSpec | undefined {
  if (JSON_POINTER.test(value)) return { path: value };
  const why = value === "" ? "the whole object cannot be ignored" : 'it must start with "/" and write "~" as "~0" and "/" inside a key as "~1"';
  r.add(node, path, `${JSON.stringify(value)} is not a JSON pointer: ${why}`);
  return undefined;
}

function readScopedRule(r: YamlFields, node: Node, path: string): IgnoreRuleSpec | undefined {
  const f = r.fields(node, path, RULE_FIELDS, RULE_SHAPE);
  if (f === undefined) return undefined;
  const before = r.count;
  const pathField = r.require(f, "path", node, path, "the JSON pointer of the field to ignore");
  const pointerText = pathField && r.string(pathField);
  const rule = pathField && pointerText !== undefined ? pointer(r, pathField.value ?? pathField.key, pathField.path, pointerText) : undefined;
  const scope: { group?: string; kind?: string; namespace?: string; name?: string } = {};
  for (const key of SCOPE_FIELDS) {
    const scopeField = f.get(key);
    if (scopeField === undefined) continue;
    const value = r.string(scopeField);
    if (value === undefined) continue;
    const problem = scopeProblem(key, value);
    if (problem !== undefined) r.add(scopeField.value, scopeField.path, `${JSON.stringify(value)} ${problem}`);
    else scope[key] = value;
  }
  if (r.count > before || rule === undefined) return undefined;
  return { ...rule, ...scope };
}

function scopeProblem(key: (typeof SCOPE_FIELDS)[number], value: string): string | undefined {
  if (value === "") return key === "group" ? "must not be empty; leave group out to match every group, the core group included" : "must not be empty; leave it out to match any";
  switch (key) {
    case "group":
      return API_GROUP.test(value) && value.length <= 253 ? undefined : 'is not an API group: lowercase DNS name such as "apps" or "networking.k8s.io" (no version)';
    case "kind":
      return KIND.test(value) ? undefined : 'is not a kind: letters and digits such as "Deployment"';
    case "namespace":
      return dnsLabelProblem(value);
    case "name":
      return value.length <= 253 && !value.includes("/") ? undefined : "is not an object name: at most 253 characters, no \"/\"";
  }
}

function found(node: Node | null): string {
  if (isSeq(node)) return "; got a list";
  return isScalar(node) ? `; got ${typeof node.value} ${String(node.value)}` : "";
}
