// The history of a hub replica: the shared log and this replica's recorder.
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { openHistoryLog, type HistoryLog } from "./history-log.js";
import { startHistoryRecorder, type HistoryRecorder, type HistoryRecorderOptions } from "./recorder.js";

/** Options of {@link startHistory}. */
export interface HistoryOptions extends Omit<HistoryRecorderOptions, "log" | "logger"> {
  nc: NatsConnection;
  replicas: number;
  /** Entries kept per cluster; default 100. */
  maxPerCluster?: number | undefined;
  logger: Logger;
}

/** The running history of a replica. */
export interface History {
  readonly log: HistoryLog;
  readonly recorder: HistoryRecorder;
  stop(): Promise<void>;
}

/** Opens the log and starts recording; the recorder loads the newest entries in the background (`recorder.ready()`). */
export async function startHistory(options: HistoryOptions): Promise<History> {
  const logger = options.logger.child({ component: "history" });
  const log = await openHistoryLog({ nc: options.nc, replicas: options.replicas, maxPerCluster: options.maxPerCluster, logger });
  const recorder = startHistoryRecorder({ ...options, log, logger });
  return { log, recorder, stop: () => recorder.stop() };
}
