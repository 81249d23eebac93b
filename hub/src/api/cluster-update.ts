// PATCH /api/v1/clusters/{name}: an operator sets or removes labels and variables of a cluster.
// The body is a JSON merge patch (RFC 7386) of the two maps: a string sets a key, null removes
// it, an absent key is left alone. Pure, so the rules are tested without a server.
import { HubError } from "../errors.js";
import { labelKeyProblem, labelValueProblem } from "@gitfleet/proto/rules";
import { MAX_VARIABLE_VALUE, variableNameProblem } from "../delivery/index.js";
import type { ClusterRecord } from "../store/clusters.js";

/** The body of PATCH /api/v1/clusters/{name}. */
export interface ClusterUpdate {
  labels?: Record<string, string | null> | undefined;
  variables?: Record<string, string | null> | undefined;
}

/** Most labels a cluster may have (as at registration). */
export const MAX_LABELS = 64;
/** Most variables a cluster may have. */
export const MAX_VARIABLES = 128;

/**
 * The record with `update` merged in, or undefined when nothing changes. Throws HubError
 * `invalid-argument` naming every invalid key and value, and a map that would grow too large.
 */
export function applyClusterUpdate(record: ClusterRecord, update: ClusterUpdate): ClusterRecord | undefined {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(update.labels ?? {})) {
    const keyProblem = labelKeyProblem(key);
    if (keyProblem !== undefined) problems.push(`labels: key ${JSON.stringify(key)} ${keyProblem}`);
    const valueProblem = value === null ? undefined : labelValueProblem(value);
    if (valueProblem !== undefined) problems.push(`labels[${JSON.stringify(key)}]: value ${JSON.stringify(value)} ${valueProblem}`);
  }
  for (const [name, value] of Object.entries(update.variables ?? {})) {
    const nameProblem = variableNameProblem(name);
    if (nameProblem !== undefined) problems.push(`variables: name ${JSON.stringify(name)} ${nameProblem}`);
    if (value !== null && value.length > MAX_VARIABLE_VALUE) {
      problems.push(`variables[${JSON.stringify(name)}]: value must be at most ${MAX_VARIABLE_VALUE} characters (has ${value.length})`);
    }
  }
  const labels = merge(record.labels, update.labels);
  const variables = merge(record.variables ?? {}, update.variables);
  if (Object.keys(labels).length > MAX_LABELS) problems.push(`labels: at most ${MAX_LABELS} labels are allowed (would be ${Object.keys(labels).length})`);
  if (Object.keys(variables).length > MAX_VARIABLES) {
    problems.push(`variables: at most ${MAX_VARIABLES} variables are allowed (would be ${Object.keys(variables).length})`);
  }
  if (problems.length > 0) throw new HubError("invalid-argument", `invalid update of cluster ${record.name}: ${problems.join("; ")}`);
  if (sameEntries(labels, record.labels) && sameEntries(variables, record.variables ?? {})) return undefined;
  return { ...record, labels, variables };
}

function merge(current: Readonly<Record<string, string>>, patch: Record<string, string | null> | undefined): Record<string, string> {
  const out: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(patch ?? {})) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  // Sorted, so equal maps are stored alike and compare alike.
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sameEntries(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
