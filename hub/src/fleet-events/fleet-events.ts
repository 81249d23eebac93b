// The fleet events of one hub replica: the shared log, the recorder of this replica's agents,
// and the stale sweep.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { HubEvents } from "../events.js";
import type { ClusterStore } from "../store/clusters.js";
import { openEventLog, type EventLog, type EventLogLimits } from "./event-log.js";
import { startEventRecorder } from "./recorder.js";
import { startStaleSweep } from "./stale-sweep.js";

/** Options of {@link startFleetEvents}. */
export interface FleetEventsOptions {
  nc: NatsConnection;
  replicas: number;
  limits: EventLogLimits;
  events: HubEvents;
  clusters: ClusterStore;
  /** A cluster silent for longer than this is stale (3 heartbeat intervals). */
  staleAfterMs: number;
  /** How often the stale sweep runs (one heartbeat interval). */
  sweepIntervalMs: number;
  logger: Logger;
  now: () => Date;
}

/** The running fleet events of a replica. */
export interface FleetEvents {
  readonly log: EventLog;
  /** Stops recording and sweeping, after the queued writes. */
  stop(): Promise<void>;
}

/** Opens the log and starts recording and sweeping. */
export async function startFleetEvents(options: FleetEventsOptions): Promise<FleetEvents> {
  const logger = options.logger.child({ component: "fleet-events" });
  const log = await openEventLog({ nc: options.nc, replicas: options.replicas, limits: options.limits, logger });
  const stopRecorder = startEventRecorder({ events: options.events, clusters: options.clusters, log, logger, now: options.now });
  const stopSweep = startStaleSweep({
    clusters: options.clusters,
    log,
    staleAfterMs: options.staleAfterMs,
    intervalMs: options.sweepIntervalMs,
    logger,
    now: options.now,
  });
  return {
    log,
    async stop() {
      await stopSweep();
      await stopRecorder();
    },
  };
}
