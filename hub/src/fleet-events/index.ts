// Fleet events (docs/events.md): drift, corrections, conflicts, health, failed syncs and stale
// clusters, derived from what agents report, recorded in a JetStream stream every replica shares.
// Not to be confused with ../events.ts, the hub's in-process event emitter.

export { agentCorrectionEvents, maxAgentEventsPerMessage } from "./agent-events.js";
export type { AgentEventsInput, AgentEventsResult } from "./agent-events.js";
export { deriveStatusEvents } from "./derive.js";
export type { DeriveStatusInput, DerivedEvents } from "./derive.js";
export { decodeEvent, decodeSettled, defaultEventLogLimits, openEventLog } from "./event-log.js";
export type { EventFollower, EventLog, EventLogLimits, EventLogOptions, EventPage, EventQuery, StoredEvent } from "./event-log.js";
export { describeResource, fleetEventId, fleetEventTypes, isFleetEventType, resourceKey } from "./fleet-event.js";
export type {
  FleetDriftState,
  FleetEvent,
  FleetEventCluster,
  FleetEventField,
  FleetEventResource,
  FleetEventType,
  SettledMark,
} from "./fleet-event.js";
export { startFleetEvents } from "./fleet-events.js";
export type { FleetEvents, FleetEventsOptions } from "./fleet-events.js";
export { staleTransitions } from "./stale-sweep.js";
export type { StaleMark, StaleSweepInput } from "./stale-sweep.js";
export { eventStreamName, eventSubjectRoot, filterSubjects, settledSubjectRoot, subjectToken } from "./subjects.js";
export type { EventFilter } from "./subjects.js";
