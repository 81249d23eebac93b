// Typed field readers for fleet.yaml: names, folders, enums, label selectors and
// variable maps. Each records its problems on the YamlFields it is given and returns undefined
// for a value it could not read, so fleet-file.ts can report every mistake at once.
import { isScalar, type Node } from "yaml";
import { dnsLabelProblem, labelKeyProblem, labelValueProblem } from "@gitfleet/proto/rules";
import type { ClusterSelector, SelectorExpression, SelectorOperator } from "./selector.js";
import { normalizeFolder } from "../snapshot.js";
import { variableNameProblem } from "./variables.js";
import type { Field, YamlFields } from "./yaml-fields.js";

/** A mapping of fleet.yaml that names itself: its fields, its name when valid, and the issue count before it was read. */
export interface NamedMapping {
  f: Map<string, Field>;
  name: string | undefined;
  /** `r.count` before the mapping's fields were read; more issues since mean it is invalid. */
  before: number;
}

/**
 * Reads a mapping whose `name` is a required DNS label (a bundle, target, pipeline or stage);
 * undefined when `node` is not a mapping. `what` describes the mapping, `naming` its name.
 */
export function readNamed(r: YamlFields, node: Node | null, path: string, allowed: readonly string[], what: string, naming: string): NamedMapping | undefined {
  const f = r.fields(node, path, allowed, what);
  if (f === undefined) return undefined;
  const before = r.count;
  const nameField = r.require(f, "name", node, path, naming);
  return { f, before, name: nameField && dnsName(r, nameField) };
}

const SELECTOR_FIELDS = ["matchLabels", "matchExpressions"] as const;
const EXPRESSION_FIELDS = ["key", "operator", "values"] as const;
const OPERATORS: readonly SelectorOperator[] = ["In", "NotIn", "Exists", "DoesNotExist"];

/** A DNS label (bundle, target, stage names, namespaces), or undefined with an issue. */
export function dnsName(r: YamlFields, field: Field): string | undefined {
  const value = r.string(field);
  if (value === undefined) return undefined;
  const problem = dnsLabelProblem(value);
  if (problem === undefined) return value;
  r.add(field.value, field.path, `${JSON.stringify(value)} ${problem}`);
  return undefined;
}

/** A normalised repository-relative folder, or undefined with an issue for absolute or climbing paths. */
export function repositoryFolder(r: YamlFields, field: Field): string | undefined {
  const value = r.string(field);
  if (value === undefined) return undefined;
  const folder = normalizeFolder(value);
  if (folder === undefined) {
    r.add(field.value, field.path, `${JSON.stringify(value)} must be a relative folder inside the repository (no leading "/", no "..")`);
  }
  return folder;
}

/**
 * `relative` joined to the folder `base`, normalised; `..` is allowed as long as it does not climb
 * above `base`. Undefined for absolute paths and for paths that leave `base`.
 */
export function folderInside(base: string, relative: string): string | undefined {
  if (relative.startsWith("/") || relative.includes("\\")) return undefined;
  const parts: string[] = [];
  for (const part of relative.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.pop() === undefined) return undefined;
      continue;
    }
    parts.push(part);
  }
  return [base, ...parts].filter((p) => p !== "").join("/");
}

/** One of `allowed`, or undefined with an issue listing them. */
export function oneOf<T extends string>(r: YamlFields, field: Field, allowed: readonly T[]): T | undefined {
  const value = r.string(field);
  if (value === undefined) return undefined;
  const match = allowed.find((candidate) => candidate === value);
  if (match === undefined) r.add(field.value, field.path, `must be one of ${allowed.join(", ")}; got ${value}`);
  return match;
}

/** A mapping of variable names to string values, or undefined when any entry is invalid. */
export function readVariables(r: YamlFields, field: Field): Record<string, string> | undefined {
  const entries = r.entries(field.value, field.path, "a mapping of variable names to string values");
  if (entries === undefined) return undefined;
  const before = r.count;
  const variables: Record<string, string> = {};
  for (const entry of entries) {
    const problem = variableNameProblem(entry.name);
    if (problem !== undefined) r.add(entry.key, entry.path, `variable name ${JSON.stringify(entry.name)} ${problem}`);
    const value = isScalar(entry.value) && entry.value.value === "" ? "" : r.string(entry);
    if (value !== undefined) variables[entry.name] = value;
  }
  return r.count > before ? undefined : variables;
}

/** A Kubernetes label selector (matchLabels, matchExpressions), or undefined when it has problems. */
export function readSelector(r: YamlFields, field: Field): ClusterSelector | undefined {
  const f = r.fields(field.value, field.path, SELECTOR_FIELDS, "a mapping with matchLabels and/or matchExpressions");
  if (f === undefined) return undefined;
  const before = r.count;
  const matchLabels: Record<string, string> = {};
  const labelsField = f.get("matchLabels");
  for (const label of labelsField ? (r.entries(labelsField.value, labelsField.path, "a mapping of label keys to values") ?? []) : []) {
    const keyProblem = labelKeyProblem(label.name);
    if (keyProblem !== undefined) r.add(label.key, label.path, `label key ${JSON.stringify(label.name)} ${keyProblem}`);
    const value = label.value === null || (isScalar(label.value) && label.value.value === null) ? "" : r.string(label);
    const valueProblem = value === undefined ? undefined : labelValueProblem(value);
    if (valueProblem !== undefined) r.add(label.value, label.path, `label value ${JSON.stringify(value)} ${valueProblem}`);
    if (value !== undefined) matchLabels[label.name] = value;
  }
  const matchExpressions: SelectorExpression[] = [];
  const expressionsField = f.get("matchExpressions");
  for (const item of expressionsField ? (r.list(expressionsField) ?? []) : []) {
    const expression = readExpression(r, item.node, item.path);
    if (expression !== undefined) matchExpressions.push(expression);
  }
  return r.count > before ? undefined : { matchLabels, matchExpressions };
}

function readExpression(r: YamlFields, node: Node | null, path: string): SelectorExpression | undefined {
  const f = r.fields(node, path, EXPRESSION_FIELDS, "a mapping with key, operator and values");
  if (f === undefined) return undefined;
  const before = r.count;
  const keyField = r.require(f, "key", node, path, "the label key");
  const key = keyField && labelKey(r, keyField);
  const operatorField = r.require(f, "operator", node, path, OPERATORS.join(", "));
  const operator = operatorField && oneOf(r, operatorField, OPERATORS);
  const valuesField = f.get("values");
  const values: string[] = [];
  if (valuesField !== undefined) {
    for (const item of r.list(valuesField) ?? []) {
      const value = r.stringAt(item.node ?? valuesField.key, item.node, item.path);
      if (value === undefined) continue;
      const problem = labelValueProblem(value);
      if (problem !== undefined) r.add(item.node, item.path, `label value ${JSON.stringify(value)} ${problem}`);
      else values.push(value);
    }
  }
  if (r.count > before || key === undefined || operator === undefined) return undefined;
  const needsValues = operator === "In" || operator === "NotIn";
  if (needsValues && values.length === 0) {
    r.add(valuesField?.value ?? node, `${path}.values`, `must list at least one value for operator ${operator}`);
    return undefined;
  }
  if (!needsValues && values.length > 0) {
    r.add(valuesField?.value, `${path}.values`, `must be empty for operator ${operator}`);
    return undefined;
  }
  return { key, operator, values };
}

function labelKey(r: YamlFields, field: Field): string | undefined {
  const key = r.string(field);
  if (key === undefined) return undefined;
  const problem = labelKeyProblem(key);
  if (problem === undefined) return key;
  r.add(field.value, field.path, `label key ${JSON.stringify(key)} ${problem}`);
  return undefined;
}

/** Reads every item with `read` and keeps those whose name is not taken by an earlier one. */
export function unique<T extends { name: string; line: number }>(
  r: YamlFields,
  items: ReadonlyArray<{ node: Node | null; path: string }>,
  what: string,
  read: (item: { node: Node | null; path: string }) => T | undefined,
): T[] {
  const out: T[] = [];
  const seen = new Map<string, { path: string; line: number }>();
  for (const item of items) {
    const value = read(item);
    if (value === undefined) continue;
    const earlier = seen.get(value.name);
    if (earlier !== undefined) {
      r.add(item.node, `${item.path}.name`, `${what} name ${value.name} is already used by ${earlier.path} (line ${earlier.line})`);
      continue;
    }
    seen.set(value.name, { path: item.path, line: value.line });
    out.push(value);
  }
  return out;
}
