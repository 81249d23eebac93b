// cluster-stale and cluster-back: every replica sweeps the cluster store on a timer and records
// what changed. The events' ids come from the cluster and the time it went silent, so replicas
// sweeping at once record each change once; each replica learns at start, from the stream,
// which clusters were last recorded stale.
import { formatDuration } from "@gitfleet/proto/rules";
import type { Logger } from "pino";
import type { ClusterRecord, ClusterStore } from "../store/clusters.js";
import type { EventLog } from "./event-log.js";
import { fleetEventId, type FleetEvent } from "./fleet-event.js";
import { eventSubjectRoot } from "./subjects.js";

/** What a replica last recorded about a cluster: stale since `lastSeen`, or back. */
export interface StaleMark {
  state: "stale" | "back";
  /** For `stale`: the cluster's lastSeen when it went stale. */
  lastSeen: string;
}

/** Input of {@link staleTransitions}. */
export interface StaleSweepInput {
  clusters: readonly ClusterRecord[];
  marks: ReadonlyMap<string, StaleMark>;
  now: Date;
  /** A cluster not heard from for longer than this is stale (3 heartbeat intervals). */
  staleAfterMs: number;
}

/**
 * The cluster-stale and cluster-back events a sweep records: a cluster silent for longer than
 * `staleAfterMs` and not yet marked stale at that lastSeen goes stale; a cluster marked stale
 * that was heard from since is back. Clusters never heard from are neither.
 */
export function staleTransitions(input: StaleSweepInput): FleetEvent[] {
  const { now, staleAfterMs } = input;
  const out: FleetEvent[] = [];
  for (const cluster of input.clusters) {
    if (!cluster.lastSeen) continue;
    const seenAt = Date.parse(cluster.lastSeen);
    if (Number.isNaN(seenAt)) continue;
    const stale = now.getTime() - seenAt > staleAfterMs;
    const mark = input.marks.get(cluster.id);
    const markedStale = mark?.state === "stale";
    const sameSilence = markedStale && mark.lastSeen === cluster.lastSeen;
    if (markedStale && !sameSilence) {
      const silentMs = Math.max(0, seenAt - Date.parse(mark.lastSeen));
      out.push({
        id: fleetEventId(cluster.id, "cluster-back", mark.lastSeen),
        type: "cluster-back",
        time: cluster.lastSeen,
        cluster: { id: cluster.id, name: cluster.name },
        lastSeen: cluster.lastSeen,
        message: `cluster ${cluster.name} is back after ${formatDuration(silentMs)} without a word`,
      });
    }
    if (stale && !sameSilence) {
      out.push({
        id: fleetEventId(cluster.id, "cluster-stale", cluster.lastSeen),
        type: "cluster-stale",
        time: new Date(seenAt + staleAfterMs).toISOString(),
        cluster: { id: cluster.id, name: cluster.name },
        lastSeen: cluster.lastSeen,
        message: `cluster ${cluster.name} has not been heard from since ${cluster.lastSeen} (${formatDuration(staleAfterMs)}, 3 heartbeat intervals)`,
      });
    }
  }
  return out;
}

/** Options of {@link startStaleSweep}. */
export interface StaleSweepOptions {
  clusters: ClusterStore;
  log: EventLog;
  staleAfterMs: number;
  intervalMs: number;
  logger: Logger;
  now: () => Date;
}

/** Starts sweeping; the first sweep runs at once. Returns the function that stops it. */
export function startStaleSweep(options: StaleSweepOptions): () => Promise<void> {
  const { clusters, log, logger, now } = options;
  let marks: Map<string, StaleMark> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const loadMarks = async (): Promise<Map<string, StaleMark>> => {
    const latest = await log.lastPerSubject([`${eventSubjectRoot}.*.cluster-stale.>`, `${eventSubjectRoot}.*.cluster-back.>`]);
    const byCluster = new Map<string, { sequence: number; mark: StaleMark }>();
    for (const event of latest) {
      const seen = byCluster.get(event.cluster.id);
      if (seen && seen.sequence > event.sequence) continue;
      const state = event.type === "cluster-stale" ? "stale" : "back";
      byCluster.set(event.cluster.id, { sequence: event.sequence, mark: { state, lastSeen: event.lastSeen ?? "" } });
    }
    return new Map([...byCluster].map(([id, { mark }]) => [id, mark]));
  };

  const sweep = async (): Promise<void> => {
    // No sweep before the replica knows what was recorded: it would record it again.
    marks ??= await loadMarks();
    const current = clusters.list();
    const ids = new Set(current.map((c) => c.id));
    for (const id of marks.keys()) if (!ids.has(id)) marks.delete(id);
    for (const event of staleTransitions({ clusters: current, marks, now: now(), staleAfterMs: options.staleAfterMs })) {
      const recorded = await log.record(event);
      marks.set(event.cluster.id, event.type === "cluster-stale" ? { state: "stale", lastSeen: event.lastSeen ?? "" } : { state: "back", lastSeen: "" });
      if (recorded) logger.info({ cluster: event.cluster.name, type: event.type }, event.message);
    }
  };

  const tick = (): void => {
    running = sweep()
      .catch((err: unknown) => logger.warn({ err }, "stale cluster sweep failed; trying again at the next one"))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  tick();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
