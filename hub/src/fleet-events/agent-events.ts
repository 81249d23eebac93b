// Drift corrections the agent reports (AgentMessage.events) turned into fleet events. What an
// agent sends is untrusted: the cluster is the stream's, never a field of the message, and every
// field is checked and bounded; an event that does not check out is refused, not half-recorded.
import { AgentEventType, timestampDate, type AgentEvent, type ResourceRef } from "@gitfleet/proto";
import { dnsLabelProblem } from "@gitfleet/proto/rules";
import { boundedField, boundedText } from "./bounds.js";
import { describeResource, fleetEventId, type FleetEvent, type FleetEventCluster, type FleetEventResource } from "./fleet-event.js";

/** Most events one AgentMessage may carry; the rest are refused. */
export const maxAgentEventsPerMessage = 256;
/** Most fields kept per event; more are counted in `fieldsOmitted`. */
const maxFields = 64;
/** An event time further ahead of the hub's clock than this is replaced by the hub's time. */
const maxClockAheadMs = 5 * 60_000;

const objectName = /^[A-Za-z0-9._:@+-]{1,253}$/;
const kindName = /^[A-Za-z][A-Za-z0-9]{0,62}$/;
const groupName = /^[a-z0-9.-]{0,253}$/;
const versionName = /^[a-z0-9]{1,63}$/;
const agentEventId = /^[\x21-\x7e]{1,128}$/;

/** Input of {@link agentCorrectionEvents}. */
export interface AgentEventsInput {
  /** The cluster of the stream the events came on. */
  cluster: FleetEventCluster;
  events: readonly AgentEvent[];
  now: Date;
}

/** The fleet events of an AgentEvents message, and why any were refused. */
export interface AgentEventsResult {
  events: FleetEvent[];
  refused: string[];
}

/**
 * Checks the agent's events and turns each drift correction into a `drift-corrected` event whose
 * id is derived from the cluster and the agent's id, so a re-sent event is recorded once.
 */
export function agentCorrectionEvents(input: AgentEventsInput): AgentEventsResult {
  const result: AgentEventsResult = { events: [], refused: [] };
  input.events.forEach((event, index) => {
    if (index >= maxAgentEventsPerMessage) {
      if (index === maxAgentEventsPerMessage) result.refused.push(`more than ${maxAgentEventsPerMessage} events in one message`);
      return;
    }
    const problem = problemOf(event);
    if (problem) {
      result.refused.push(`event ${index}: ${problem}`);
      return;
    }
    result.events.push(toFleetEvent(input, event));
  });
  return result;
}

function problemOf(event: AgentEvent): string | undefined {
  if (event.type !== AgentEventType.DRIFT_CORRECTED) return `unknown type ${event.type}`;
  if (!agentEventId.test(event.id)) return "id must be 1 to 128 printable ASCII characters";
  const bundle = dnsLabelProblem(event.bundle);
  if (bundle) return `bundle "${boundedText(event.bundle, 64)}" ${bundle}`;
  return resourceProblem(event.resource);
}

function resourceProblem(resource: ResourceRef | undefined): string | undefined {
  if (!resource) return "resource is required";
  if (!kindName.test(resource.kind)) return "resource.kind is not a Kubernetes kind";
  if (!groupName.test(resource.group)) return "resource.group is not an API group";
  if (!versionName.test(resource.version)) return "resource.version is not an API version";
  if (resource.namespace !== "" && dnsLabelProblem(resource.namespace)) return "resource.namespace is not a namespace name";
  if (!objectName.test(resource.name)) return "resource.name is not an object name";
  return undefined;
}

function toFleetEvent(input: AgentEventsInput, event: AgentEvent): FleetEvent {
  const ref = event.resource as ResourceRef;
  const resource: FleetEventResource = {
    apiVersion: ref.group ? `${ref.group}/${ref.version}` : ref.version,
    kind: ref.kind,
    namespace: ref.namespace,
    name: ref.name,
  };
  const fields = event.fields.slice(0, maxFields).map((f) =>
    boundedField({ path: f.path, desired: f.desired, live: f.live, manager: f.manager, redacted: f.redacted, truncated: f.truncated }),
  );
  const omitted = event.fields.length - fields.length;
  const managers = [...new Set(fields.map((f) => f.manager).filter((m) => m))].sort();
  const paths = fields.slice(0, 3).map((f) => f.path).join(", ");
  const generated = `${describeResource(resource)} corrected${paths ? `: ${paths}${fields.length + omitted > 3 ? ` and ${fields.length + omitted - 3} more` : ""}` : ""}${managers.length ? ` (changed by ${managers.join(", ")})` : ""}`;
  return {
    id: fleetEventId(input.cluster.id, "agent", event.id),
    type: "drift-corrected",
    time: eventTime(event, input.now).toISOString(),
    cluster: input.cluster,
    bundle: event.bundle,
    resource,
    fields,
    ...(omitted > 0 ? { fieldsOmitted: omitted } : {}),
    ...(event.revision ? { revision: boundedText(event.revision, 64) } : {}),
    // The agent's own words, after the object they are about.
    message: boundedText(event.message.trim() ? `${describeResource(resource)}: ${event.message.trim()}` : generated),
  };
}

// The agent's clock, unless it is missing or ahead of the hub's.
function eventTime(event: AgentEvent, now: Date): Date {
  if (!event.at) return now;
  const at = timestampDate(event.at);
  return Number.isNaN(at.getTime()) || at.getTime() > now.getTime() + maxClockAheadMs ? now : at;
}
