import { strict as assert } from "node:assert";
import { EventEmitter } from "node:events";
import { describe, test } from "node:test";
import { timestampFromDate, type StatusReport } from "@gitfleet/proto";
import { pino } from "pino";
import type { CommitInfo } from "../delivery/index.js";
import type { HubEventMap } from "../events.js";
import type { StatusChange } from "../store/status.js";
import { testBundle, testReport } from "../test-support/status-reports.js";
import type { HistoryEntry } from "./history-entry.js";
import { startHistoryRecorder, type HistoryRecorderOptions } from "./recorder.js";

const logger = pino({ level: "silent" });
const now = new Date("2026-05-01T12:00:00Z");

const info = (subject: string): CommitInfo => ({ subject, author: "alice", email: "a@b", time: now.toISOString(), trailers: {}, parents: [] });
const report = (revision: string, digest: string, reportedAt = now) =>
  testReport([testBundle("web", [], { digest, revision })], { observedRevision: revision, reportedAt: timestampFromDate(reportedAt) });

/** A recorder over fakes: a log in memory (deduplicating like JetStream), a status store, delivery's commits. */
function setup(init: { stored?: Map<string, HistoryEntry>; statuses?: Record<string, StatusReport>; graceMs?: number; latestFails?: number } = {}) {
  const recorded: Array<{ clusterId: string; entry: HistoryEntry }> = [];
  const ids = new Set<string>();
  const purged: string[] = [];
  const listeners = new Set<(c: StatusChange) => void>();
  const statuses: Record<string, StatusReport> = { ...init.statuses };
  const commits = new Map<string, CommitInfo>();
  const events = new EventEmitter<HubEventMap>();
  let latestFails = init.latestFails ?? 0;
  const options: HistoryRecorderOptions = {
    log: {
      record: (clusterId, entry) => {
        const id = `${clusterId}.${entry.revision}`;
        if (ids.has(id)) return Promise.resolve(false);
        ids.add(id);
        recorded.push({ clusterId, entry });
        return Promise.resolve(true);
      },
      latest: () => (latestFails-- > 0 ? Promise.reject(new Error("NATS away")) : Promise.resolve(new Map(init.stored ?? []))),
      purge: (clusterId) => {
        purged.push(clusterId);
        return Promise.resolve();
      },
    },
    status: {
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      get: (id) => statuses[id],
    },
    clusters: { list: () => Object.keys(statuses).map((id) => ({ id })) },
    events,
    commits: () => ({ info: (c) => commits.get(c) }),
    metadataGraceMs: init.graceMs ?? 20,
    logger,
    now: () => now,
  };
  const recorder = startHistoryRecorder(options);
  const put = (clusterId: string, r: StatusReport | undefined) => {
    if (r) statuses[clusterId] = r;
    for (const l of listeners) l({ clusterId, report: r });
  };
  return { recorder, recorded, purged, commits, events, put, listeners };
}

async function until(what: string, check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

void describe("the history recorder", () => {
  void test("records each new revision a cluster reports, with the commit's subject, and knows since when it runs a digest", async () => {
    const { recorder, recorded, commits, put } = setup();
    await recorder.ready();
    commits.set("c1", info("first"));
    commits.set("c2", info("second"));
    put("cl-a", report("c1", "d1", new Date(now.getTime() - 60_000)));
    put("cl-a", report("c1", "d1"));
    put("cl-a", report("c2", "d2"));
    await until("two entries", () => recorded.length === 2);
    assert.deepEqual(recorded.map((r) => [r.clusterId, r.entry.revision, r.entry.subject]), [["cl-a", "c1", "first"], ["cl-a", "c2", "second"]]);
    assert.equal(recorder.since("cl-a", "web", "d2"), now.toISOString());
    assert.equal(recorder.since("cl-a", "web", "d1"), undefined, "not what it runs now");
    assert.equal(recorder.since("cl-b", "web", "d2"), undefined);
    await recorder.stop();
  });

  void test("after a restart, what is already recorded is not recorded again, and since is read back", async () => {
    const stored = new Map([["cl-a", { revision: "c1", reachedAt: "2026-05-01T11:00:00.000Z", bundles: [{ name: "web", digest: "d1", since: "2026-05-01T10:00:00.000Z" }] }]]);
    const { recorder, recorded } = setup({ stored, statuses: { "cl-a": report("c1", "d1"), "cl-b": report("c9", "d9") } });
    await recorder.ready();
    assert.equal(recorder.since("cl-a", "web", "d1"), "2026-05-01T10:00:00.000Z");
    await until("cl-b's entry", () => recorded.length === 1);
    assert.deepEqual(recorded.map((r) => [r.clusterId, r.entry.revision]), [["cl-b", "c9"]], "a cluster with nothing recorded gets its current revision");
    await recorder.stop();
  });

  void test("changes seen while loading are kept and applied after; a failed load is retried", async () => {
    const { recorder, recorded, put } = setup({ latestFails: 1, statuses: { "cl-a": report("c1", "d1") } });
    put("cl-a", report("c2", "d2"));
    await recorder.ready();
    await until("the entry", () => recorded.length === 1);
    assert.deepEqual(recorded.map((r) => r.entry.revision), ["c2"]);
    await recorder.stop();
  });

  void test("an entry whose commit is not fetched yet waits for it, and is recorded without it when it never comes", async () => {
    const { recorder, recorded, commits, put } = setup({ graceMs: 100 });
    await recorder.ready();
    put("cl-a", report("c1", "d1"));
    put("cl-b", report("c7", "d7"));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(recorded.length, 0, "both wait for their commit");
    commits.set("c1", info("fetched meanwhile"));
    await until("both entries", () => recorded.length === 2);
    const byCluster = Object.fromEntries(recorded.map((r) => [r.clusterId, r.entry.subject]));
    assert.deepEqual(byCluster, { "cl-a": "fetched meanwhile", "cl-b": undefined });
    assert.equal(recorder.latest("cl-a")?.subject, "fetched meanwhile");
    await recorder.stop();
  });

  void test("stopping records what waits at once, and a deleted cluster's history is purged", async () => {
    const { recorder, recorded, purged, put, events, listeners } = setup({ graceMs: 60_000 });
    await recorder.ready();
    put("cl-a", report("c1", "d1"));
    events.emit("cluster-deleted", { id: "cl-z" } as never);
    const started = Date.now();
    await recorder.stop();
    assert.ok(Date.now() - started < 5_000);
    assert.deepEqual(recorded.map((r) => r.entry.revision), ["c1"]);
    assert.deepEqual(purged, ["cl-z"]);
    assert.equal(listeners.size, 0, "no longer subscribed");
  });
});
