// Kubernetes label keys and values, so a selector that works in kubectl works on the fleet the
// same way, and labels an agent asks for are the labels the hub accepts.
import { dnsSubdomainProblem } from "./dns-label.js";

const qualifiedName = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Labels of a cluster: Kubernetes label keys and values. */
export type Labels = Record<string, string>;

/** Why `key` is not a valid Kubernetes label key (`[prefix/]name`), or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0) return "has an empty prefix before '/'";
    const problem = dnsSubdomainProblem(prefix);
    if (problem !== undefined) return `prefix ${problem}`;
  }
  if (name.length === 0) return "name must not be empty";
  if (name.length > 63) return `name must be at most 63 characters (has ${name.length})`;
  if (!qualifiedName.test(name)) {
    return "name must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit";
  }
  return undefined;
}

/** Why `value` is not a valid Kubernetes label value, or undefined when it is (empty is valid). */
export function labelValueProblem(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (value.length > 63) return `must be at most 63 characters (has ${value.length})`;
  if (!qualifiedName.test(value)) {
    return "must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit";
  }
  return undefined;
}

/**
 * Every problem in a label map, each naming the label, e.g.
 * `labels["env"]: value must be ...`; empty when all labels are valid.
 * `where` prefixes each message (a field name like "labels").
 */
export function labelProblems(labels: Readonly<Record<string, string>>, where: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) problems.push(`${where}: key ${JSON.stringify(key)} ${keyProblem}`);
    const valueProblem = labelValueProblem(value);
    if (valueProblem !== undefined) {
      problems.push(`${where}[${JSON.stringify(key)}]: value ${JSON.stringify(value)} ${valueProblem}`);
    }
  }
  return problems;
}

/** Labels read from text, and what was wrong with the text; the labels are usable only when `problems` is empty. */
export interface ParsedLabels {
  labels: Labels;
  /** One line each, starting with `where`; empty when the text is valid. */
  problems: string[];
}

/**
 * Parses `k=v,k2=v2` (a flag or environment variable) into labels and checks every key and
 * value by Kubernetes' rules. Spaces around items, keys and values are ignored, empty items are
 * skipped, and a key given twice is a problem. `where` (e.g. `--labels`) starts each problem.
 */
export function parseLabels(text: string, where: string): ParsedLabels {
  const labels: Labels = {};
  const problems: string[] = [];
  for (const item of text.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      problems.push(`${where}: "${item}" is not key=value`);
      continue;
    }
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) {
      problems.push(`${where}: "${key}" is not a valid label key: ${keyProblem}`);
      continue;
    }
    const valueProblem = labelValueProblem(value);
    if (valueProblem !== undefined) problems.push(`${where}: "${value}" is not a valid value for label ${key}: ${valueProblem}`);
    if (Object.hasOwn(labels, key)) problems.push(`${where}: label ${key} is given twice`);
    labels[key] = value;
  }
  return { labels, problems };
}
