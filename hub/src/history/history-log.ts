// Cluster histories in a JetStream stream every hub replica shares: one subject per cluster,
// bounded per subject, each entry recorded with an id that makes a transition seen by several
// replicas one entry (history-entry.ts).
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { storeError } from "../store/buckets.js";
import { ensureStream, withConsumer } from "../store/streams.js";
import { entryId, type HistoryEntry } from "./history-entry.js";

/** Name of the JetStream stream of cluster histories. */
export const historyStreamName = "gitfleet_history";
/** Subjects of history entries: `gitfleet.history.<cluster id>`. */
export const historySubjectRoot = "gitfleet.history";

/** Entries kept per cluster by default. */
export const defaultHistoryLimit = 100;

/** Options of {@link openHistoryLog}. */
export interface HistoryLogOptions {
  nc: NatsConnection;
  /** JetStream replicas of the stream (1, 3 or 5). */
  replicas: number;
  /** Entries kept per cluster, the oldest dropped first; default 100. */
  maxPerCluster?: number | undefined;
  logger: Logger;
}

/** The history log. */
export interface HistoryLog {
  /** Entries kept per cluster. */
  readonly maxPerCluster: number;
  /** Records an entry; resolves false when the stream already held it (another replica recorded it). */
  record(clusterId: string, entry: HistoryEntry): Promise<boolean>;
  /** A cluster's newest entries, newest first. */
  list(clusterId: string, limit: number): Promise<HistoryEntry[]>;
  /** The newest entry of every cluster that has one. */
  latest(): Promise<Map<string, HistoryEntry>>;
  /** Forgets a cluster's history (the cluster was deleted). */
  purge(clusterId: string): Promise<void>;
}

const nanos = (ms: number): number => Math.round(ms * 1_000_000);
// Replicas see the same status change within milliseconds; one that lacks the commit's metadata
// waits a little before recording (recorder.ts). Well inside this window.
const duplicateWindowMs = 5 * 60_000;
// How long a read waits for messages its consumer said were there.
const fetchExpiresMs = 2_000;

/** The subject of a cluster's history. */
export function historySubject(clusterId: string): string {
  return `${historySubjectRoot}.${clusterId}`;
}

/** Creates the stream, or brings its limits up to date, and returns the log. */
export async function openHistoryLog(options: HistoryLogOptions): Promise<HistoryLog> {
  const maxPerCluster = options.maxPerCluster ?? defaultHistoryLimit;
  const js = jetstream(options.nc);
  const jsm = await jetstreamManager(options.nc);
  await openStream(jsm, { ...options, maxPerCluster });
  const encoder = new TextEncoder();

  return {
    maxPerCluster,
    async record(clusterId, entry) {
      try {
        const ack = await js.publish(historySubject(clusterId), encoder.encode(JSON.stringify(entry)), { msgID: entryId(clusterId, entry) });
        return !ack.duplicate;
      } catch (err) {
        throw storeError(`cannot record that cluster ${clusterId} reached ${entry.revision}`, err);
      }
    },
    async list(clusterId, limit) {
      const entries = await read(js, { filter_subjects: [historySubject(clusterId)] });
      return entries.slice(-limit).reverse().map(({ entry }) => entry);
    },
    async latest() {
      const entries = await read(js, { filter_subjects: [`${historySubjectRoot}.>`], deliver_policy: DeliverPolicy.LastPerSubject });
      return new Map(entries.map(({ subject, entry }) => [subject.slice(historySubjectRoot.length + 1), entry]));
    },
    async purge(clusterId) {
      try {
        await jsm.streams.purge(historyStreamName, { filter: historySubject(clusterId) });
      } catch (err) {
        throw storeError(`cannot remove the history of cluster ${clusterId}`, err);
      }
    },
  };
}

async function openStream(jsm: JetStreamManager, options: HistoryLogOptions & { maxPerCluster: number }): Promise<void> {
  const { maxPerCluster } = options;
  const outcome = await ensureStream(jsm, {
    config: {
      name: historyStreamName,
      description: "gitfleet cluster histories: the revisions each cluster reached",
      subjects: [`${historySubjectRoot}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: maxPerCluster,
      duplicate_window: nanos(duplicateWindowMs),
      num_replicas: options.replicas,
    },
    limits: ["max_msgs_per_subject", "duplicate_window"],
  });
  if (outcome === "updated") options.logger.info({ maxPerCluster }, "history stream limits updated");
}

// Reads every message a short-lived ordered consumer has to give, oldest first.
async function read(
  js: JetStreamClient,
  options: { filter_subjects: string[]; deliver_policy?: DeliverPolicy },
): Promise<{ subject: string; entry: HistoryEntry }[]> {
  return withConsumer(js, historyStreamName, options, "history stream", async (consumer, pending) => {
    const out: { subject: string; entry: HistoryEntry }[] = [];
    if (pending === 0) return out;
    const decoder = new TextDecoder();
    const messages = await consumer.fetch({ max_messages: pending, expires: fetchExpiresMs });
    for await (const msg of messages) {
      try {
        out.push({ subject: msg.subject, entry: JSON.parse(decoder.decode(msg.data)) as HistoryEntry });
      } catch {
        // Not an entry of ours; a history is never failed by one bad message.
      }
      if (msg.info.pending === 0) break;
    }
    return out;
  });
}
