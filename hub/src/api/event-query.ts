// The filters of the events API, read from a query string.
import { parseDuration } from "@gitfleet/proto/rules";
import { HubError } from "../errors.js";
import { isFleetEventType, type EventFilter, type FleetEventType } from "../fleet-events/index.js";
import { isId } from "../secrets.js";
import type { ClusterStore } from "../store/clusters.js";

/** The query fields every events route takes. */
export interface EventFilterQuery {
  cluster?: string | undefined;
  bundle?: string | undefined;
  type?: string | undefined;
  kind?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  since?: string | undefined;
}

/** A filter, its start time, or `none` when it names a cluster that does not exist. */
export type ParsedEventQuery = { filter: EventFilter; since: Date | undefined; none: boolean };

/** Reads the filters; throws HubError `invalid-argument` naming the bad parameter. */
export function parseEventQuery(query: EventFilterQuery, clusters: ClusterStore, now: Date): ParsedEventQuery {
  let types: FleetEventType[] | undefined;
  if (query.type !== undefined) {
    types = [];
    for (const type of query.type.split(",").map((t) => t.trim()).filter((t) => t)) {
      if (!isFleetEventType(type)) throw new HubError("invalid-argument", `querystring/type: "${type}" is not an event type`);
      types.push(type);
    }
  }
  let clusterId: string | undefined;
  let none = false;
  if (query.cluster !== undefined) {
    // A name first; an id also finds the events of a cluster deleted since.
    clusterId = clusters.getByName(query.cluster)?.id ?? (isId(query.cluster, "c") ? query.cluster : undefined);
    none = clusterId === undefined;
  }
  const filter: EventFilter = { clusterId, types, bundle: query.bundle, kind: query.kind, namespace: query.namespace, name: query.name };
  return { filter, since: query.since === undefined ? undefined : parseSince(query.since, now), none };
}

/** `since` as an RFC 3339 time or a duration back from `now`. */
export function parseSince(text: string, now: Date): Date {
  if (/^(\d+(ms|s|m|h|d))+$/.test(text.trim())) return new Date(now.getTime() - parseDuration(text, "querystring/since"));
  const time = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(time)) {
    throw new HubError("invalid-argument", `querystring/since: "${text}" is neither an RFC 3339 time nor a duration like "1h"`);
  }
  return new Date(time);
}
