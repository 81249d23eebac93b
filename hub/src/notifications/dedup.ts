// De-duplication of deliveries per sink, object and state: the same state of the same object is
// sent once, until it changes. An object is a resource's drift, a bundle's health or sync, or a
// cluster's connection; its state is what an event says about it. A settled mark (the object went
// back to normal without an event of its own) forgets the state, so the next drift is new.
import { resourceKey, type FleetEvent, type SettledMark } from "../fleet-events/index.js";

/** The object an event is about, and the state it reports. */
export interface DedupKey {
  object: string;
  state: string;
}

/** The de-duplication key of an event. */
export function dedupKeyOf(event: FleetEvent): DedupKey {
  const id = event.cluster.id;
  const bundle = event.bundle ?? "";
  const paths = (event.fields ?? []).map((f) => f.path).sort().join(",");
  switch (event.type) {
    case "drift-detected":
    case "conflict":
    case "drift-corrected": {
      const object = `${id}|${bundle}|drift|${event.resource ? resourceKey(event.resource) : ""}`;
      // Every correction is its own state (the object was put back); only re-sends are one.
      const state = event.type === "drift-corrected" ? `corrected:${event.id}` : `${event.type}:${event.driftState ?? ""}:${paths}`;
      return { object, state };
    }
    case "health-degraded":
    case "health-recovered":
      return { object: `${id}|${bundle}|health|`, state: `${event.type}:${event.type === "health-degraded" ? (event.revision ?? "") : ""}` };
    case "sync-failed":
      return { object: `${id}|${bundle}|sync|`, state: `${event.type}:${event.revision ?? ""}:${event.message}` };
    case "cluster-stale":
    case "cluster-back":
      return { object: `${id}||connection|`, state: event.type };
  }
}

/** The object a settled mark is about (as {@link dedupKeyOf} names it). */
export function settledObjectOf(mark: SettledMark): string {
  return `${mark.cluster.id}|${mark.bundle}|${mark.aspect}|${mark.aspect === "drift" && mark.resource ? resourceKey(mark.resource) : ""}`;
}
