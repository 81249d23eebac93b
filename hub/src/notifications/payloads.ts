// What a sink receives for an event: a generic webhook gets the event as JSON, signed; a Slack
// incoming webhook gets `{ text, blocks }`.
import { describeResource, type FleetEventType, type StoredEvent } from "../fleet-events/index.js";
import { eventSignature, signatureHeader, timestampHeader } from "./signature.js";
import type { SinkConfig } from "./sinks-config.js";

/** An HTTP request to a sink, before it is sent. */
export interface SinkRequest {
  body: string;
  headers: Record<string, string>;
}

const titles: Record<FleetEventType, { emoji: string; title: string }> = {
  "drift-detected": { emoji: ":warning:", title: "Drift detected" },
  "drift-corrected": { emoji: ":wrench:", title: "Drift corrected" },
  conflict: { emoji: ":crossed_swords:", title: "Conflict" },
  "health-degraded": { emoji: ":red_circle:", title: "Health degraded" },
  "health-recovered": { emoji: ":large_green_circle:", title: "Health recovered" },
  "sync-failed": { emoji: ":x:", title: "Sync failed" },
  "cluster-stale": { emoji: ":zzz:", title: "Cluster stale" },
  "cluster-back": { emoji: ":wave:", title: "Cluster back" },
};

/** The request for `event` to `sink` at attempt `attempt`, signed at `now` for webhooks. */
export function sinkRequest(sink: SinkConfig, event: StoredEvent, attempt: number, now: Date): SinkRequest {
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "gitfleet-hub" };
  if (sink.type === "slack") return { body: JSON.stringify(slackMessage(event)), headers };
  const body = JSON.stringify(event);
  const timestamp = Math.floor(now.getTime() / 1000);
  headers["x-gitfleet-event"] = event.type;
  headers["x-gitfleet-event-id"] = event.id;
  headers["x-gitfleet-delivery-attempt"] = String(attempt);
  headers[timestampHeader] = String(timestamp);
  if (sink.secret) headers[signatureHeader] = eventSignature(sink.secret, timestamp, body);
  return { body, headers };
}

/** A Slack incoming-webhook message for `event`. */
export function slackMessage(event: StoredEvent): { text: string; blocks: unknown[] } {
  const { emoji, title } = titles[event.type];
  const text = `${emoji} ${title} on ${event.cluster.name}: ${event.message}`;
  const facts = [
    ["Cluster", event.cluster.name],
    ["Bundle", event.bundle],
    ["Object", event.resource ? describeResource(event.resource) : undefined],
    ["Revision", event.revision?.slice(0, 12)],
  ].flatMap(([label, value]) => (value ? [{ type: "mrkdwn", text: `*${label}*\n${escape(value)}` }] : []));
  const fieldLines = (event.fields ?? [])
    .slice(0, 5)
    .map((f) => `• \`${escape(f.path)}\`${f.redacted ? " (values withheld)" : `: ${escape(short(f.desired))} → ${escape(short(f.live))}`}${f.manager ? ` by ${escape(f.manager)}` : ""}`);
  const blocks: unknown[] = [
    { type: "section", text: { type: "mrkdwn", text: `${emoji} *${title}*\n${escape(event.message)}` } },
    ...(facts.length > 0 ? [{ type: "section", fields: facts }] : []),
    ...(fieldLines.length > 0 ? [{ type: "section", text: { type: "mrkdwn", text: fieldLines.join("\n") } }] : []),
    { type: "context", elements: [{ type: "mrkdwn", text: `${event.time} · event ${event.id}` }] },
  ];
  return { text, blocks };
}

// Slack reads &, < and > as markup.
function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function short(value: string): string {
  if (value === "") return "(absent)";
  return value.length > 80 ? `${value.slice(0, 79)}…` : value;
}
