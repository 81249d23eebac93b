// Bounds on what an event carries: its text comes from agents, and an event must stay small
// enough for a notification and a JetStream message.
import type { FleetEventField } from "./fleet-event.js";

/** Longest message kept, in characters. */
export const maxMessageLength = 1024;
/** Longest desired or live value kept, in characters (the agent cuts at 1 KiB already). */
export const maxValueLength = 1024;

/** `text` cut to `max` characters, with an ellipsis when cut. */
export function boundedText(text: string, max: number = maxMessageLength): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A field with its values cut to {@link maxValueLength}; `truncated` says so. */
export function boundedField(field: FleetEventField): FleetEventField {
  const cut = field.desired.length > maxValueLength || field.live.length > maxValueLength;
  const truncated = field.truncated === true || cut;
  return {
    path: boundedText(field.path, 512),
    desired: field.redacted ? "" : field.desired.slice(0, maxValueLength),
    live: field.redacted ? "" : field.live.slice(0, maxValueLength),
    manager: boundedText(field.manager, 128),
    ...(field.redacted ? { redacted: true } : {}),
    ...(truncated ? { truncated: true } : {}),
  };
}
