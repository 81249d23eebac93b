// The hub step that starts alerting: the fleet event log with its recorder and stale sweep, and
// the notification sinks that read it. Between the agent link (whose events it records) and the
// admin API (which serves what it recorded).
import type { Logger } from "pino";
import type { HubEvents } from "./events.js";
import { startFleetEvents, type EventLog, type EventLogLimits } from "./fleet-events/index.js";
import type { StopStack } from "./hub-steps.js";
import type { HubNatsConnection } from "./nats-connection.js";
import { startNotifications, type Notifications, type Sender, type SinkConfig } from "./notifications/index.js";
import type { ClusterStore } from "./store/clusters.js";

/** What the admin API reads of alerting. */
export interface HubAlerts {
  log: EventLog;
  notifications: Notifications;
}

/** Starts recording fleet events and delivering them to the sinks. */
export async function startAlerts(
  input: {
    nats: HubNatsConnection;
    replicas: number;
    clusters: ClusterStore;
    events: HubEvents;
    limits: EventLogLimits;
    sinks: readonly SinkConfig[];
    heartbeatIntervalSeconds: number;
    send: Sender | undefined;
    /** Told each notification delivery outcome (the hub's metrics). */
    onDelivery?: ((sinkType: string, outcome: string) => void) | undefined;
    logger: Logger;
    now: () => Date;
  },
  stops: StopStack,
): Promise<HubAlerts> {
  const { nats, replicas, logger, now } = input;
  const intervalMs = input.heartbeatIntervalSeconds * 1000;
  const fleetEvents = await startFleetEvents({
    nc: nats.nc,
    replicas,
    limits: input.limits,
    events: input.events,
    clusters: input.clusters,
    staleAfterMs: 3 * intervalMs,
    sweepIntervalMs: intervalMs,
    logger,
    now,
  });
  stops.push("fleet events", () => fleetEvents.stop());
  const notifications = await startNotifications({
    nc: nats.nc,
    replicas,
    sinks: input.sinks,
    eventMaxAgeMs: input.limits.maxAgeMs,
    logger,
    now,
    ...(input.send ? { send: input.send } : {}),
    onOutcome: input.onDelivery,
  });
  stops.push("notifications", () => notifications.stop());
  return { log: fleetEvents.log, notifications };
}
