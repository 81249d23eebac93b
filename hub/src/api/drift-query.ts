// Turns the drift API's query parameters into the index's filter, refusing what cannot be
// read with a message that names the parameter.
import { DurationError, parseDuration } from "@gitfleet/proto/rules";
import { driftStateNames, type DriftFilter, type DriftStateName } from "../drift/index.js";
import { HubError } from "../errors.js";
import { parseSelector } from "../labels/selector.js";
import type { DriftSummaryQuery } from "./drift-schemas.js";

/** The filter parameters both drift routes take. */
export type DriftFilterQuery = Omit<DriftSummaryQuery, "groupBy">;

function states(text: string): Set<DriftStateName> {
  const out = new Set<DriftStateName>();
  for (const part of text.split(",").map((s) => s.trim())) {
    const state = driftStateNames.find((s) => s === part);
    if (!state) {
      throw new HubError("invalid-argument", `state: "${part}" is not a drift state; use ${driftStateNames.join(", ")} (several separated by commas)`);
    }
    out.add(state);
  }
  return out;
}

function since(text: string, now: Date): number {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const at = Date.parse(text);
    if (Number.isFinite(at)) return at;
    throw new HubError("invalid-argument", `since: "${text}" is not an RFC 3339 time, e.g. 2026-05-01T12:00:00Z`);
  }
  try {
    return now.getTime() - parseDuration(text, "since");
  } catch (err) {
    if (err instanceof DurationError) {
      throw new HubError("invalid-argument", `${err.message}, or an RFC 3339 time such as 2026-05-01T12:00:00Z`);
    }
    throw err;
  }
}

function selector(text: string): DriftFilter["selector"] {
  try {
    return parseSelector(text);
  } catch (err) {
    if (err instanceof HubError) throw new HubError("invalid-argument", `clusterSelector: ${err.message}`);
    throw err;
  }
}

/** The index filter of a drift query; throws HubError `invalid-argument` on a bad parameter. */
export function driftFilter(query: DriftFilterQuery, now: Date): DriftFilter {
  return {
    selector: query.clusterSelector ? selector(query.clusterSelector) : undefined,
    bundle: query.bundle,
    kind: query.kind,
    namespace: query.namespace,
    name: query.name,
    states: query.state === undefined ? undefined : states(query.state),
    manager: query.manager,
    sinceMs: query.since === undefined ? undefined : since(query.since, now),
  };
}
