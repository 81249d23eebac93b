// Records each cluster's history from the status store, on every hub replica: when a cluster's
// reported revision (or the digest of one of its bundles) changes, the new entry goes to the
// history log, once however many replicas see it. The newest entry of each cluster stays in
// memory, so "since when does this cluster run this digest" answers without NATS (soak gates).
import type { StatusReport } from "@gitfleet/proto";
import type { Logger } from "pino";
import type { FleetCommits } from "../delivery-contract.js";
import type { HubEvents } from "../events.js";
import type { StatusChange } from "../store/status.js";
import { nextEntry, withCommit, type HistoryEntry } from "./history-entry.js";
import type { HistoryLog } from "./history-log.js";

/** Options of {@link startHistoryRecorder}. */
export interface HistoryRecorderOptions {
  log: Pick<HistoryLog, "record" | "latest" | "purge">;
  status: { subscribe(listener: (change: StatusChange) => void): () => void; get(clusterId: string): StatusReport | undefined };
  clusters: { list(): readonly { id: string }[] };
  /** Deleted clusters' histories are purged. */
  events: Pick<HubEvents, "on" | "off">;
  /** The commits the delivery part fetched; their subjects and authors go into entries. */
  commits: () => Pick<FleetCommits, "info"> | undefined;
  /**
   * How long an entry whose commit this replica has not fetched waits for it before it is
   * recorded without subject and author; another replica that has it records first. Default 10 s.
   */
  metadataGraceMs?: number | undefined;
  logger: Logger;
  now: () => Date;
}

/** The running recorder. */
export interface HistoryRecorder {
  /** Resolves once the newest entries are loaded and the current statuses compared with them. */
  ready(): Promise<void>;
  /** When the cluster reached `digest` of `bundle` (ISO), if that is what it runs now. */
  since(clusterId: string, bundle: string, digest: string): string | undefined;
  /** The cluster's newest entry as this replica knows it. */
  latest(clusterId: string): HistoryEntry | undefined;
  /** Stops watching and records what waits (without waiting for metadata). */
  stop(): Promise<void>;
}

const loadRetryMs = 1_000;

/** Starts recording; see {@link HistoryRecorder}. */
export function startHistoryRecorder(options: HistoryRecorderOptions): HistoryRecorder {
  const { log, status, logger, now } = options;
  const graceMs = options.metadataGraceMs ?? 10_000;
  const last = new Map<string, HistoryEntry>();
  // Per cluster, so an entry waiting for metadata holds back only that cluster's later ones.
  const chains = new Map<string, Promise<void>>();
  const waits = new Set<() => void>();
  let buffered: Map<string, StatusReport | undefined> | undefined = new Map();
  let stopped = false;

  const enqueue = (clusterId: string, task: () => Promise<void>): void => {
    const run = (chains.get(clusterId) ?? Promise.resolve())
      .then(task)
      .catch((err: unknown) => logger.warn({ err, cluster: clusterId }, "could not record the cluster's history"));
    chains.set(clusterId, run);
    void run.finally(() => {
      if (chains.get(clusterId) === run) chains.delete(clusterId);
    });
  };

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        waits.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waits.add(done);
      if (stopped) done();
    });

  const observe = (clusterId: string, report: StatusReport | undefined): void => {
    if (!report) return;
    const info = options.commits()?.info(report.observedRevision);
    const entry = nextEntry({ previous: last.get(clusterId), report, info, now: now() });
    if (!entry) return;
    last.set(clusterId, entry);
    enqueue(clusterId, async () => {
      let recorded = entry;
      if (entry.subject === undefined && !stopped) {
        await wait(graceMs);
        recorded = withCommit(entry, options.commits()?.info(entry.revision));
        if (last.get(clusterId) === entry) last.set(clusterId, recorded);
      }
      if (await log.record(clusterId, recorded)) logger.info({ cluster: clusterId, revision: recorded.revision, subject: recorded.subject }, "cluster reached a new revision");
    });
  };

  const unsubscribe = status.subscribe(({ clusterId, report }) => {
    if (buffered) buffered.set(clusterId, report);
    else observe(clusterId, report);
  });

  const onDeleted = (cluster: { id: string }): void => {
    last.delete(cluster.id);
    buffered?.delete(cluster.id);
    enqueue(cluster.id, () => log.purge(cluster.id));
  };
  options.events.on("cluster-deleted", onDeleted);

  const load = async (): Promise<void> => {
    while (!stopped) {
      try {
        for (const [clusterId, entry] of await log.latest()) if (!last.has(clusterId)) last.set(clusterId, entry);
        break;
      } catch (err) {
        logger.warn({ err }, "cannot read the newest history entries; retrying");
        await wait(loadRetryMs);
      }
    }
    const changed = buffered ?? new Map<string, StatusReport | undefined>();
    buffered = undefined;
    if (stopped) return;
    for (const { id } of options.clusters.list()) if (!changed.has(id)) observe(id, status.get(id));
    for (const [clusterId, report] of changed) observe(clusterId, report);
  };
  const loaded = load();

  return {
    ready: () => loaded,
    since(clusterId, bundle, digest) {
      const found = last.get(clusterId)?.bundles.find((b) => b.name === bundle);
      return found?.digest === digest ? found.since : undefined;
    },
    latest: (clusterId) => last.get(clusterId),
    async stop() {
      stopped = true;
      unsubscribe();
      options.events.off("cluster-deleted", onDeleted);
      for (const done of [...waits]) done();
      await loaded;
      await Promise.all([...chains.values()]);
    },
  };
}
