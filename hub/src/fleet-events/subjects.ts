// Subjects of the event stream. Every field a reader filters on is a token of the subject, so
// JetStream does the filtering:
//
//   gitfleet.events.<cluster id>.<type>.<bundle>.<kind>.<namespace>.<name>
//   gitfleet.settled.<cluster id>.<aspect>.<bundle>.<kind>.<namespace>.<name>
//
// An empty token is "_"; a character other than a letter, digit or "-" is "~" and two hex digits
// per UTF-8 byte (a dot in an object name, "_" itself), so no token is ever a wildcard.
import type { FleetEvent, FleetEventType, SettledMark } from "./fleet-event.js";

/** Name of the JetStream stream of fleet events. */
export const eventStreamName = "gitfleet_events";
/** Subjects of recorded events. */
export const eventSubjectRoot = "gitfleet.events";
/** Subjects of settled marks (what the notifier's de-duplication needs; never listed). */
export const settledSubjectRoot = "gitfleet.settled";

/** Encodes one subject token; see the file comment. */
export function subjectToken(value: string): string {
  if (value === "") return "_";
  let out = "";
  for (const char of value) {
    if (/^[A-Za-z0-9-]$/.test(char)) out += char;
    else for (const byte of Buffer.from(char, "utf8")) out += `~${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** The subject an event is recorded under. */
export function eventSubject(event: FleetEvent): string {
  const r = event.resource;
  return [eventSubjectRoot, event.cluster.id, event.type, event.bundle ?? "", r?.kind ?? "", r?.namespace ?? "", r?.name ?? ""]
    .map((part, i) => (i === 0 ? part : subjectToken(part)))
    .join(".");
}

/** The subject a settled mark is recorded under. */
export function settledSubject(mark: SettledMark): string {
  const r = mark.resource;
  return [settledSubjectRoot, mark.cluster.id, mark.aspect, mark.bundle, r?.kind ?? "", r?.namespace ?? "", r?.name ?? ""]
    .map((part, i) => (i === 0 ? part : subjectToken(part)))
    .join(".");
}

/** What a reader filters events on; an absent field matches everything. */
export interface EventFilter {
  clusterId?: string | undefined;
  /** Any of these types; all when absent or empty. */
  types?: readonly FleetEventType[] | undefined;
  bundle?: string | undefined;
  kind?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
}

/** The JetStream filter subjects of a filter: one per type asked for. */
export function filterSubjects(filter: EventFilter): string[] {
  const token = (value: string | undefined): string => (value === undefined ? "*" : subjectToken(value));
  const rest = [filter.bundle, filter.kind, filter.namespace, filter.name].map(token);
  const types = filter.types && filter.types.length > 0 ? filter.types : [undefined];
  if (filter.clusterId === undefined && types[0] === undefined && rest.every((t) => t === "*")) return [`${eventSubjectRoot}.>`];
  return [...new Set(types)].map((type) => [eventSubjectRoot, token(filter.clusterId), token(type), ...rest].join("."));
}
