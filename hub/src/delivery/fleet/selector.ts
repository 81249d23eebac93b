// fleet.yaml's clusterSelector (Kubernetes LabelSelector shape: matchLabels + matchExpressions),
// matched with the same semantics as the API's `?selector=` strings: both become the
// requirements of labels/selector.ts, so the hub has one definition of "matches".
import { matchesSelector, type Requirement, type Selector } from "../../labels/selector.js";

/** The operators of a matchExpressions entry, as Kubernetes spells them. */
export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

/** One matchExpressions entry; `values` is non-empty for In/NotIn and empty otherwise. */
export interface SelectorExpression {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** A Kubernetes-style label selector over cluster labels. Every part must match; empty matches all. */
export interface ClusterSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly SelectorExpression[];
}

/** The selector that matches every cluster (what an absent clusterSelector means). */
export const matchAll: ClusterSelector = { matchLabels: {}, matchExpressions: [] };

const operatorOf: Record<SelectorOperator, Requirement["op"]> = {
  In: "in",
  NotIn: "not-in",
  Exists: "exists",
  DoesNotExist: "not-exists",
};

/** Converts a cluster selector to the hub's selector requirements; `source` is its string form. */
export function toSelector(selector: ClusterSelector): Selector {
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    requirements.push({ key, op: "equals", value });
  }
  for (const expression of selector.matchExpressions) {
    const op = operatorOf[expression.operator];
    if (op === "in" || op === "not-in") requirements.push({ key: expression.key, op, values: expression.values });
    else if (op === "exists" || op === "not-exists") requirements.push({ key: expression.key, op });
  }
  return { requirements, source: describeSelector(selector) };
}

/**
 * True when `labels` satisfy every matchLabels entry and every matchExpressions entry.
 * In needs the label with one of the values; NotIn matches when the label is absent or has
 * another value; Exists and DoesNotExist look at the key only.
 */
export function matchesClusterSelector(selector: ClusterSelector, labels: Readonly<Record<string, string>>): boolean {
  return matchesSelector(toSelector(selector), labels);
}

/** The selector in kubectl's string syntax (`env=prod,tier in (a,b),!legacy`), for logs and messages. */
export function describeSelector(selector: ClusterSelector): string {
  const parts: string[] = Object.entries(selector.matchLabels).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values } of selector.matchExpressions) {
    if (operator === "In") parts.push(`${key} in (${values.join(",")})`);
    else if (operator === "NotIn") parts.push(`${key} notin (${values.join(",")})`);
    else if (operator === "Exists") parts.push(key);
    else parts.push(`!${key}`);
  }
  return parts.join(",");
}
