// The hub's public API, as the UI calls it: bearer token, JSON, errors with the hub's message.
import { storedToken } from "./session.js";

/** An answer other than 2xx: the status and the hub's `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** Calls `/api/v1${path}`; resolves with the parsed JSON body. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string; signal?: AbortSignal } = {}): Promise<T> {
  const token = init.token ?? storedToken();
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method: init.method ?? "GET",
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(response.status, error?.code ?? String(response.status), error?.message ?? `${response.status} ${response.statusText}`, body);
  }
  return body as T;
}

/** A query string of the defined, non-empty parameters, with its "?"; "" when none. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** The caller, from GET /whoami. */
export interface Caller {
  name: string;
  role: "viewer" | "admin";
}

/** A bundle cell of the cluster list. */
export interface BundleCell {
  name: string;
  sync: string;
  health: string;
  revision: string;
  drifted: number;
}

/** A cluster of GET /clusters?bundles=true. */
export interface ClusterItem {
  id: string;
  name: string;
  labels: Record<string, string>;
  lastSeen: string | null;
  connected: boolean;
  stale: boolean;
  observedRevision: string;
  agentVersion: string;
  bundles?: BundleCell[];
}

/** GET /clusters. */
export interface ClusterList {
  items: ClusterItem[];
  total?: number;
  continue?: string | null;
}

/** A drifted field. */
export interface DriftField {
  path: string;
  desired: string;
  live: string;
  manager: string;
  redacted?: boolean;
  truncated?: boolean;
}

/** An object of a bundle in a cluster. */
export interface ResourceState {
  resource: { apiVersion: string; kind: string; namespace: string; name: string };
  sync: string;
  health: string;
  drift: string;
  fields: DriftField[];
  fieldsOmitted: number;
  message: string;
  corrections: number;
}

/** A bundle in a cluster. */
export interface BundleState {
  name: string;
  revision: string;
  sync: string;
  health: string;
  driftMode: string;
  message: string;
  resourceCount: number;
  driftedCount: number;
  lastAppliedAt: string | null;
  resources: ResourceState[];
}

/** GET /clusters/{name}. */
export interface ClusterDetail extends Omit<ClusterItem, "bundles"> {
  variables: Record<string, string>;
  reportedAt: string | null;
  kubernetesVersion: string;
  bundles: BundleState[];
  conditions: { type: string; status: string; reason: string; message: string }[];
  errors: { bundle: string; message: string; file?: string; line?: number }[];
}

/** GET /clusters/{name}/history item. */
export interface HistoryItem {
  revision: string;
  reachedAt: string;
  subject?: string;
  author?: string;
  promotion?: string;
}

/** GET /bundles. */
export interface BundleList {
  commit: string | null;
  items: BundleSummary[];
}

/** GET /bundles item. */
export interface BundleSummary {
  name: string;
  clusterCount: number;
  states: Record<string, number>;
}

/** An item of GET /drift. */
export interface DriftItem {
  cluster: string;
  bundle: string;
  resource: { apiVersion: string; kind: string; namespace: string; name: string };
  state: string;
  stale?: boolean;
  fields: DriftField[];
  [key: string]: unknown;
}

/** GET /drift. */
export interface DriftPage {
  items: DriftItem[];
  continue: string | null;
  totals?: Record<string, number>;
}

/** GET /drift/summary. */
export interface DriftSummary {
  groupBy: string;
  groups: { key: string; objects: number; [key: string]: unknown }[];
  [key: string]: unknown;
}

/** A gate's result. */
export interface GateResult {
  gate: string;
  passed: boolean;
  message: string;
  clusters: string[];
}

/** A promoted value. */
export interface PromotedValue {
  kind: string;
  file: string;
  key: string;
  value?: string;
}

/** A stage of GET /pipelines/{name}. */
export interface StageView {
  name: string;
  target: string;
  overlay: string;
  auto: boolean;
  values: PromotedValue[];
  revision: string;
  clusters: { total: number; synced: number; healthy: number; drifted: number; stale: number };
  lastPromotion: { id: string; kind: string; state: string; from: string; author: string; commit?: string; updatedAt?: string } | null;
  gates: { passed: boolean; gates: GateResult[]; evaluatedAt: string };
}

/** GET /pipelines/{name}. */
export interface PipelineView {
  name: string;
  bundle: string;
  commit: string;
  held: { reason: string } | null;
  stages: StageView[];
}

/** A promotion record. */
export interface Promotion {
  id: string;
  kind: string;
  pipeline: string;
  from: { stage: string; commit: string };
  to: { stage: string };
  author: string;
  automatic: boolean;
  state: string;
  createdAt: string;
  values: PromotedValue[];
  diff: { file: string; diff: string }[];
  commit?: string;
  rolledBackBy?: string;
  rollbackOf?: string;
  message?: string;
}

/** The answer of a dry run. */
export interface DryRun {
  dryRun: true;
  values: PromotedValue[];
  diff: { file: string; diff: string }[];
  gates?: { passed: boolean; gates: GateResult[] };
}

/** A fleet event. */
export interface FleetEvent {
  sequence: number;
  id: string;
  type: string;
  time: string;
  cluster: { id: string; name: string };
  bundle?: string;
  resource?: { kind: string; namespace: string; name: string };
  message: string;
}
