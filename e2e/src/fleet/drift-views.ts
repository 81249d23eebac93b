// What a user reads about drift and events through the hub API, for the scenarios: the drift
// list, a cluster's detail, the event log, and waits on them with deadlines.
import type { HubClient } from "@gitfleet/hub";
import { waitFor } from "../lab/process.js";

/** A Kubernetes object as the hub names it. */
export interface ResourceView {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/** A drifted field; values are JSON-encoded, "" when absent or withheld. */
export interface DriftedFieldView {
  path: string;
  desired: string;
  live: string;
  manager: string;
  redacted?: boolean;
  truncated?: boolean;
}

/** One item of `GET /api/v1/drift`. */
export interface DriftItem {
  cluster: string;
  bundle: string;
  resource: ResourceView;
  state: "drifted" | "missing" | "conflict";
  fields: DriftedFieldView[];
  fieldsOmitted: number;
  revision: string;
  firstSeen: string | null;
  lastSeen: string | null;
  corrections: number;
  stale: boolean;
}

/** The answer of `GET /api/v1/drift`. */
export interface DriftAnswer {
  items: DriftItem[];
  totals: { clusters: number; clustersDrifted: number; objectsDrifted: number; clustersStale: number };
  continue: string | null;
}

/** One object of a bundle in `GET /api/v1/clusters/{name}`. */
export interface ResourceStateView {
  resource: ResourceView;
  sync: string;
  health: string;
  drift: string;
  fields: DriftedFieldView[];
  firstSeen: string | null;
  lastSeen: string | null;
  corrections: number;
  message: string;
}

/** One bundle in `GET /api/v1/clusters/{name}`. */
export interface BundleStateView {
  name: string;
  revision: string;
  sync: string;
  health: string;
  healthRevision: string;
  driftMode: string;
  message: string;
  driftedCount: number;
  missingCount: number;
  conflictCount: number;
  resources: ResourceStateView[];
}

/** The parts of `GET /api/v1/clusters/{name}` the drift scenarios read. */
export interface ClusterDetailView {
  name: string;
  connected: boolean;
  stale: boolean;
  observedRevision?: string;
  bundles: BundleStateView[];
}

/** One fleet event of `GET /api/v1/events`. */
export interface FleetEventItem {
  sequence: number;
  id: string;
  type: string;
  time: string;
  cluster: { id: string; name: string };
  bundle?: string;
  resource?: ResourceView;
  driftState?: string;
  fields?: DriftedFieldView[];
  revision?: string;
  message: string;
}

const query = (params: Record<string, string | undefined>): string => {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return entries.length === 0 ? "" : `?${new URLSearchParams(entries).toString()}`;
};

/** `GET /api/v1/drift` with filters (one page). */
export async function driftOf(api: HubClient, params: Record<string, string | undefined> = {}): Promise<DriftAnswer> {
  return await api.get<DriftAnswer>(`/drift${query(params)}`);
}

/** Every event of `GET /api/v1/events` that matches the filters, oldest first (all pages). */
export async function eventsOf(api: HubClient, params: Record<string, string | undefined> = {}): Promise<FleetEventItem[]> {
  const items: FleetEventItem[] = [];
  let next: string | undefined;
  do {
    const page = await api.get<{ items: FleetEventItem[]; continue?: string }>(`/events${query({ ...params, limit: "1000", continue: next })}`);
    items.push(...page.items);
    next = page.continue;
  } while (next);
  return items;
}

/** `GET /api/v1/clusters/{name}`. */
export async function clusterDetail(api: HubClient, name: string): Promise<ClusterDetailView> {
  return await api.get<ClusterDetailView>(`/clusters/${name}`);
}

/** Waits until the drift API answers something `check` accepts for the filters; returns that answer. */
export async function waitForDrift(
  api: HubClient,
  params: Record<string, string | undefined>,
  what: string,
  check: (answer: DriftAnswer) => boolean,
  timeoutMs = 5_000,
): Promise<DriftAnswer> {
  let last: DriftAnswer | undefined;
  try {
    return await waitFor(
      async () => {
        last = await driftOf(api, params);
        return check(last) ? last : undefined;
      },
      { what, timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; the drift API last answered ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Waits until the event log holds events `check` accepts; returns the matching events. */
export async function waitForEvents(
  api: HubClient,
  params: Record<string, string | undefined>,
  what: string,
  check: (events: FleetEventItem[]) => boolean,
  timeoutMs = 10_000,
): Promise<FleetEventItem[]> {
  let last: FleetEventItem[] = [];
  try {
    return await waitFor(
      async () => {
        last = await eventsOf(api, params);
        return check(last) ? last : undefined;
      },
      { what, timeoutMs, intervalMs: 200 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; the events API last answered ${JSON.stringify(last)}`, { cause: err });
  }
}

/** A drifted field as a user compares it: path, decoded values and manager. */
export function fieldOf(field: DriftedFieldView): { path: string; desired: unknown; live: unknown; manager: string } {
  const decode = (value: string): unknown => (value === "" ? undefined : (JSON.parse(value) as unknown));
  return { path: field.path, desired: decode(field.desired), live: decode(field.live), manager: field.manager };
}
