// The fleet events the hub records (docs/events.md): what they say, and the ids that make a
// re-recorded event (another replica, an agent re-sending, a second sweep) the same event.
import { createHash } from "node:crypto";
import { base32Lower } from "../secrets.js";

/** Every type of fleet event, in the order the docs list them. */
export const fleetEventTypes = [
  "drift-detected",
  "drift-corrected",
  "conflict",
  "health-degraded",
  "health-recovered",
  "sync-failed",
  "cluster-stale",
  "cluster-back",
] as const;

/** A type of fleet event. */
export type FleetEventType = (typeof fleetEventTypes)[number];

/** True when `value` names a fleet event type. */
export function isFleetEventType(value: string): value is FleetEventType {
  return (fleetEventTypes as readonly string[]).includes(value);
}

/** The cluster an event is about: its id (never reused) and its name when the event was recorded. */
export interface FleetEventCluster {
  id: string;
  name: string;
}

/** The Kubernetes object an event is about. */
export interface FleetEventResource {
  apiVersion: string;
  kind: string;
  /** Empty for cluster-scoped objects. */
  namespace: string;
  name: string;
}

/** A field an event is about, as the agent reported it. */
export interface FleetEventField {
  /** JSON pointer (RFC 6901). */
  path: string;
  /** JSON-encoded values; empty when absent or redacted. */
  desired: string;
  live: string;
  /** The field manager that wrote the live value; empty when none owns it. */
  manager: string;
  /** The values are withheld (fields of Secrets). */
  redacted?: boolean;
  /** A value was cut to bound the message. */
  truncated?: boolean;
}

/** What an object's drift looked like when a drift event was recorded. */
export type FleetDriftState = "drifted" | "missing" | "conflict";

/** One recorded fleet event. */
export interface FleetEvent {
  /** `e` and 20 base32 characters, derived from what the event is about (see {@link fleetEventId}). */
  id: string;
  type: FleetEventType;
  /** RFC 3339 time of the change. */
  time: string;
  cluster: FleetEventCluster;
  /** The bundle, for every event but cluster-stale and cluster-back. */
  bundle?: string;
  /** The object, for drift-detected, drift-corrected and conflict. */
  resource?: FleetEventResource;
  /** The object's drift state, for drift-detected and conflict. */
  driftState?: FleetDriftState;
  /** The fields, for drift-detected, drift-corrected and conflict (the first 64 by path). */
  fields?: FleetEventField[];
  /** Fields left out of `fields` by the agent. */
  fieldsOmitted?: number;
  /** The Git revision the state was observed at (the bundle's, or its health revision). */
  revision?: string;
  /**
   * For cluster-stale: when the cluster was last heard from before it fell silent; for
   * cluster-back: when it was heard from again.
   */
  lastSeen?: string;
  message: string;
}

/**
 * What the notifier's de-duplication needs to know that an object went back to normal without an
 * event of its own: a resource's drift cleared, a bundle's failed sync succeeded, a bundle left
 * the cluster. Recorded beside the events, never listed or sent.
 */
export interface SettledMark {
  id: string;
  time: string;
  cluster: FleetEventCluster;
  bundle: string;
  /** What went back to normal: a resource's drift, or a bundle's sync or health. */
  aspect: "drift" | "sync" | "health";
  resource?: FleetEventResource;
}

/**
 * A deterministic event id: the same parts give the same id, on every replica. Used as the
 * JetStream message id, so the stream records such an event once.
 */
export function fleetEventId(...parts: readonly string[]): string {
  const digest = createHash("sha256").update(parts.join("\0"), "utf8").digest();
  return `e${base32Lower(digest).slice(0, 20)}`;
}

/** "Deployment web/api" or "Namespace web": how messages name an object. */
export function describeResource(resource: FleetEventResource): string {
  return `${resource.kind} ${resource.namespace ? `${resource.namespace}/` : ""}${resource.name}`;
}

/** A stable key of an object inside a cluster and bundle (the apiVersion's version left out). */
export function resourceKey(resource: FleetEventResource): string {
  const slash = resource.apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "" : resource.apiVersion.slice(0, slash);
  return `${group}/${resource.kind}/${resource.namespace}/${resource.name}`;
}
