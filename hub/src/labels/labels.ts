// Kubernetes naming rules for cluster names and labels, so a selector that works
// in kubectl works on the fleet the same way.

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const qualifiedName = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Labels of a cluster: Kubernetes label keys and values. */
export type Labels = Record<string, string>;

/** Why `name` is not an RFC 1123 DNS label (what cluster names must be), or undefined when it is. */
export function dnsLabelProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > 63) return `must be at most 63 characters (has ${name.length})`;
  if (!dnsLabel.test(name)) {
    return "must consist of lowercase letters, digits and '-', and start and end with a letter or digit";
  }
  return undefined;
}

function dnsSubdomainProblem(name: string): string | undefined {
  if (name.length > 253) return `must be at most 253 characters (has ${name.length})`;
  for (const part of name.split(".")) {
    if (dnsLabelProblem(part) !== undefined) {
      return "must be a DNS subdomain: lowercase dot-separated parts of letters, digits and '-'";
    }
  }
  return undefined;
}

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
