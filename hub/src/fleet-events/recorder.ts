// Records the events of this replica's agents: the events derived from each status report, and
// the drift corrections the agents send. Writes run one at a time, in the order things happened.
import type { AgentEvent, StatusReport } from "@gitfleet/proto";
import type { Logger } from "pino";
import type { HubEvents } from "../events.js";
import type { ClusterStore } from "../store/clusters.js";
import { agentCorrectionEvents } from "./agent-events.js";
import { deriveStatusEvents } from "./derive.js";
import type { EventLog } from "./event-log.js";
import type { FleetEvent, FleetEventCluster } from "./fleet-event.js";

/** Options of {@link startEventRecorder}. */
export interface EventRecorderOptions {
  events: HubEvents;
  clusters: ClusterStore;
  log: EventLog;
  logger: Logger;
  now: () => Date;
  /** Writes waiting beyond this many are dropped with a warning (NATS away for long); default 10,000. */
  maxQueued?: number;
}

/** Starts recording; returns the function that stops listening and waits for queued writes. */
export function startEventRecorder(options: EventRecorderOptions): () => Promise<void> {
  const { events, clusters, log, logger, now } = options;
  const maxQueued = options.maxQueued ?? 10_000;
  let queued = 0;
  let chain: Promise<void> = Promise.resolve();

  const enqueue = (what: string, task: () => Promise<void>): void => {
    if (queued >= maxQueued) {
      logger.warn({ what }, "too many fleet events waiting to be recorded; dropping one");
      return;
    }
    queued++;
    chain = chain
      .then(task)
      .catch((err: unknown) => logger.warn({ err, what }, "could not record fleet events"))
      .finally(() => queued--);
  };

  const clusterOf = async (clusterId: string): Promise<FleetEventCluster> => {
    const record = await clusters.get(clusterId);
    return { id: clusterId, name: record?.name ?? clusterId };
  };

  const record = async (event: FleetEvent): Promise<void> => {
    if (await log.record(event)) logger.info({ cluster: event.cluster.name, bundle: event.bundle, type: event.type, event: event.id }, event.message);
  };

  const onStatus = (clusterId: string, current: StatusReport, previous: StatusReport | undefined): void => {
    const at = now();
    enqueue("status", async () => {
      const derived = deriveStatusEvents({ cluster: await clusterOf(clusterId), previous, current, now: at });
      for (const event of derived.events) await record(event);
      for (const mark of derived.settled) await log.settle(mark);
    });
  };

  const onAgentEvents = (clusterId: string, agentEvents: readonly AgentEvent[]): void => {
    const at = now();
    enqueue("agent events", async () => {
      const cluster = await clusterOf(clusterId);
      const result = agentCorrectionEvents({ cluster, events: agentEvents, now: at });
      if (result.refused.length > 0) logger.warn({ cluster: cluster.name, refused: result.refused.slice(0, 5), count: result.refused.length }, "refused events from an agent");
      for (const event of result.events) await record(event);
    });
  };

  events.on("status-reported", onStatus);
  events.on("agent-events", onAgentEvents);
  return async () => {
    events.off("status-reported", onStatus);
    events.off("agent-events", onAgentEvents);
    await chain;
  };
}
