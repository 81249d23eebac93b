// The outcome of each sink's deliveries (gitfleet_notify_sinks, one key per sink), written by
// whichever replica delivered, read by the API.
import type { KV } from "@nats-io/kv";
import { isRevisionConflict, storeError } from "../store/buckets.js";

/** What happened to one event at one sink. */
export type DeliveryOutcome = "delivered" | "failed" | "given-up" | "deduplicated";

/** One delivery record. */
export interface DeliveryRecord {
  eventId: string;
  sequence: number;
  type: string;
  cluster: string;
  outcome: DeliveryOutcome;
  /** The attempt it was (1 for the first); 0 when no attempt was made. */
  attempt: number;
  at: string;
  /** Why it failed or was given up on. */
  error?: string;
  /** For `failed`: when it is tried again. */
  nextAttemptAt?: string;
}

/** Counters and the latest outcomes of a sink. */
export interface SinkStats {
  delivered: number;
  failed: number;
  givenUp: number;
  deduplicated: number;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  /** The newest records first. */
  recent: DeliveryRecord[];
}

/** Records kept per sink. */
export const recentDeliveries = 20;

const empty = (): SinkStats => ({
  delivered: 0,
  failed: 0,
  givenUp: 0,
  deduplicated: 0,
  lastSuccessAt: null,
  lastFailureAt: null,
  lastError: null,
  recent: [],
});

/** Sink statistics in KV. */
export interface SinkStatsStore {
  record(sink: string, record: DeliveryRecord): Promise<void>;
  read(sink: string): Promise<SinkStats>;
}

/** The stats of a sink after `record`. */
export function addRecord(stats: SinkStats, record: DeliveryRecord): SinkStats {
  const next: SinkStats = { ...stats, recent: [record, ...stats.recent].slice(0, recentDeliveries) };
  if (record.outcome === "delivered") {
    next.delivered++;
    next.lastSuccessAt = record.at;
  } else if (record.outcome === "deduplicated") {
    next.deduplicated++;
  } else {
    if (record.outcome === "failed") next.failed++;
    else next.givenUp++;
    next.lastFailureAt = record.at;
    next.lastError = record.error ?? null;
  }
  return next;
}

/** Creates the store on its bucket. */
export function createSinkStatsStore(kv: KV): SinkStatsStore {
  const read = async (sink: string): Promise<{ stats: SinkStats; revision: number }> => {
    const entry = await kv.get(sink);
    if (!entry || entry.operation !== "PUT") return { stats: empty(), revision: 0 };
    return { stats: { ...empty(), ...(entry.json<Partial<SinkStats>>()) }, revision: entry.revision };
  };
  return {
    async record(sink, record) {
      try {
        for (let attempt = 0; attempt < 10; attempt++) {
          const { stats, revision } = await read(sink);
          const value = JSON.stringify(addRecord(stats, record));
          try {
            if (revision === 0) await kv.create(sink, value);
            else await kv.update(sink, value, revision);
            return;
          } catch (err) {
            if (!isRevisionConflict(err)) throw err;
          }
        }
      } catch (err) {
        throw storeError(`cannot record a delivery of sink ${sink}`, err);
      }
    },
    async read(sink) {
      try {
        return (await read(sink)).stats;
      } catch (err) {
        throw storeError(`cannot read the deliveries of sink ${sink}`, err);
      }
    },
  };
}
