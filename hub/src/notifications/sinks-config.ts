// Notification sinks as an operator configures them: a YAML or JSON file (GITFLEET_NOTIFY_SINKS_FILE)
//
//   sinks:
//     - name: ops                      # DNS label, unique
//       type: webhook                  # webhook (signed JSON) or slack (incoming webhook)
//       url: https://hooks.example.com/gitfleet
//       secret: <at least 16 characters>   # webhook only, required: the HMAC key
//       types: [drift-detected, conflict]  # optional; every type when absent
//       maxAttempts: 10                # optional
//       maxAge: 24h                    # optional: give up on events older than this
//       timeout: 10s                   # optional: per attempt
//       backoff: { initial: 1s, max: 5m }  # optional
//
// URLs and secrets are secrets: nothing here logs or shows them (see redactUrl).
import { dnsLabelProblem, messageOf, parseDuration } from "@gitfleet/proto/rules";
import { parse as parseYaml } from "yaml";
import { HubError } from "../errors.js";
import { fleetEventTypes, isFleetEventType, type FleetEventType } from "../fleet-events/index.js";

/** Kinds of sink. */
export type SinkType = "webhook" | "slack";

/** Retry policy of a sink. */
export interface RetryPolicy {
  maxAttempts: number;
  maxAgeMs: number;
  /** Delay before the second attempt; doubled for each further one. */
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** One configured sink. */
export interface SinkConfig extends RetryPolicy {
  name: string;
  type: SinkType;
  url: string;
  /** HMAC-SHA256 key of webhook signatures. */
  secret?: string;
  /** Event types sent; empty means every type. */
  types: FleetEventType[];
  timeoutMs: number;
}

/** Defaults of the optional settings of a sink. */
export const sinkDefaults = {
  maxAttempts: 10,
  maxAgeMs: 24 * 3_600_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 5 * 60_000,
  timeoutMs: 10_000,
} as const;

const sinkKeys = new Set(["name", "type", "url", "secret", "types", "maxAttempts", "maxAge", "timeout", "backoff"]);

/** `scheme://host/…`: a sink URL with its path, query and credentials hidden. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const rest = parsed.pathname !== "/" || parsed.search ? "/…" : "";
    return `${parsed.protocol}//${parsed.host}${rest}`;
  } catch {
    return "(not a URL)";
  }
}

/** Parses a sinks file; `where` names it in errors. Throws HubError `invalid-argument`. */
export function parseSinks(text: string, where: string): SinkConfig[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new HubError("invalid-argument", `${where}: not YAML or JSON: ${messageOf(err).split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  const list = isRecord(doc) ? doc["sinks"] : undefined;
  if (!isRecord(doc) || Object.keys(doc).some((k) => k !== "sinks") || !Array.isArray(list)) {
    throw new HubError("invalid-argument", `${where}: expected a map with one key, sinks: a list of sinks`);
  }
  const sinks = list.map((item, i) => parseSink(item, `${where}: sinks[${i}]`));
  const seen = new Set<string>();
  for (const sink of sinks) {
    if (seen.has(sink.name)) throw new HubError("invalid-argument", `${where}: two sinks are named ${sink.name}`);
    seen.add(sink.name);
  }
  return sinks;
}

function parseSink(item: unknown, where: string): SinkConfig {
  const fail = (message: string): never => {
    throw new HubError("invalid-argument", `${where}${message}`);
  };
  if (!isRecord(item)) return fail(": expected a map");
  const unknown = Object.keys(item).find((k) => !sinkKeys.has(k));
  if (unknown) fail(`: unknown setting ${unknown} (known: ${[...sinkKeys].join(", ")})`);
  const name = typeof item["name"] === "string" ? item["name"] : "";
  const nameProblem = dnsLabelProblem(name);
  if (nameProblem) fail(`.name: "${name}" ${nameProblem}`);
  const type = item["type"];
  if (type !== "webhook" && type !== "slack") fail(".type: must be webhook or slack");
  const url = typeof item["url"] === "string" ? item["url"].trim() : "";
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) fail(".url: must be an http or https URL");
  const secret = item["secret"];
  if (type === "webhook" && (typeof secret !== "string" || secret.length < 16)) fail(".secret: a webhook needs a secret of at least 16 characters to sign with");
  if (type === "slack" && secret !== undefined) fail(".secret: Slack incoming webhooks are not signed; the URL is the secret");
  const types = item["types"] ?? [];
  if (!Array.isArray(types) || types.some((t) => typeof t !== "string" || !isFleetEventType(t))) {
    fail(`.types: a list of event types (${fleetEventTypes.join(", ")})`);
  }
  const backoff = item["backoff"] ?? {};
  if (!isRecord(backoff) || Object.keys(backoff).some((k) => k !== "initial" && k !== "max")) fail(".backoff: a map of initial and max durations");
  const duration = (value: unknown, fallback: number, what: string): number => {
    if (value === undefined) return fallback;
    try {
      return parseDuration(value as string | number, `${where}.${what}`);
    } catch (err) {
      return fail(`.${what}: ${messageOf(err).replace(/^.*?: /, "")}`);
    }
  };
  const maxAttempts = item["maxAttempts"] ?? sinkDefaults.maxAttempts;
  if (typeof maxAttempts !== "number" || !Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000) fail(".maxAttempts: a whole number from 1 to 1000");
  const b = backoff as Record<string, unknown>;
  const initialBackoffMs = duration(b["initial"], sinkDefaults.initialBackoffMs, "backoff.initial");
  const maxBackoffMs = duration(b["max"], Math.max(sinkDefaults.maxBackoffMs, initialBackoffMs), "backoff.max");
  if (maxBackoffMs < initialBackoffMs) fail(".backoff.max: must not be shorter than backoff.initial");
  return {
    name,
    type: type as SinkType,
    url,
    ...(typeof secret === "string" ? { secret } : {}),
    types: [...new Set(types as FleetEventType[])],
    maxAttempts: maxAttempts as number,
    maxAgeMs: duration(item["maxAge"], sinkDefaults.maxAgeMs, "maxAge"),
    timeoutMs: duration(item["timeout"], sinkDefaults.timeoutMs, "timeout"),
    initialBackoffMs,
    maxBackoffMs,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
