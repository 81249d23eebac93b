// Per-cluster variables: their names, the built-in ones derived from a cluster, and the lookup a
// substitution reads for one cluster and one target. Pure.
import type { ClusterRef } from "../snapshot.js";

/** A variable name: a letter or "_", then letters, digits or "_" (as in the shell). */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The built-in variable holding the cluster's name. */
export const CLUSTER_NAME_VARIABLE = "cluster_name";
/** Prefix of the built-in variables holding the cluster's labels. */
export const CLUSTER_LABEL_PREFIX = "cluster_label_";
/** Longest variable value accepted on a cluster record. */
export const MAX_VARIABLE_VALUE = 4096;

/** Why `name` cannot be a user-defined variable (fleet.yaml or a cluster record), or undefined. */
export function variableNameProblem(name: string): string | undefined {
  if (!VARIABLE_NAME.test(name)) return "must start with a letter or '_' and hold only letters, digits and '_'";
  if (name === CLUSTER_NAME_VARIABLE || name.startsWith(CLUSTER_LABEL_PREFIX)) {
    return `is reserved: ${CLUSTER_NAME_VARIABLE} and ${CLUSTER_LABEL_PREFIX}<key> are set from the cluster itself`;
  }
  return undefined;
}

/** The variable name of a label key: `cluster_label_` and the key with every character but [A-Za-z0-9_] as "_". */
export function clusterLabelVariable(labelKey: string): string {
  return CLUSTER_LABEL_PREFIX + labelKey.replace(/[^A-Za-z0-9_]/g, "_");
}

/**
 * What a name resolves to for one cluster: a value, nothing, or an ambiguous label variable; or,
 * when checking an overlay without a cluster, "unknown": the reference is left as written.
 */
export type VariableValue =
  | { readonly kind: "value"; readonly value: string }
  | { readonly kind: "undefined" }
  | { readonly kind: "ambiguous"; readonly labels: readonly string[] }
  | { readonly kind: "unknown" };

/** Looks up variables for one cluster and target; see {@link clusterVariables}. */
export type VariableLookup = (name: string) => VariableValue;

const UNDEFINED: VariableValue = { kind: "undefined" };

/**
 * The variables of `cluster` under a target: `cluster_name`, `cluster_label_<key>` for each label,
 * then the cluster record's variables over the target's (the more specific one wins). Two labels
 * that map to the same name (`a.b` and `a_b`) make that name ambiguous rather than picking one.
 */
export function clusterVariables(cluster: ClusterRef, targetVariables: Readonly<Record<string, string>>): VariableLookup {
  let labels: Map<string, string[]> | undefined;
  const labelIndex = (): Map<string, string[]> => {
    if (labels === undefined) {
      labels = new Map();
      for (const key of Object.keys(cluster.labels)) {
        const name = clusterLabelVariable(key);
        labels.set(name, [...(labels.get(name) ?? []), key]);
      }
    }
    return labels;
  };
  return (name) => {
    if (name === CLUSTER_NAME_VARIABLE) return { kind: "value", value: cluster.name };
    if (name.startsWith(CLUSTER_LABEL_PREFIX)) {
      const keys = labelIndex().get(name);
      if (keys === undefined) return UNDEFINED;
      if (keys.length > 1) return { kind: "ambiguous", labels: [...keys].sort() };
      return { kind: "value", value: cluster.labels[keys[0] ?? ""] ?? "" };
    }
    const own = cluster.variables;
    if (own !== undefined && Object.hasOwn(own, name)) return { kind: "value", value: own[name] ?? "" };
    if (Object.hasOwn(targetVariables, name)) return { kind: "value", value: targetVariables[name] ?? "" };
    return UNDEFINED;
  };
}
