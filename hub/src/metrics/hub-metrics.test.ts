import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { pino } from "pino";
import { DriftState, HealthState, SyncState } from "@gitfleet/proto";
import { createDriftIndex } from "../drift/index.js";
import { testBundle, testReport, testResource } from "../test-support/status-reports.js";
import { createHubMetrics } from "./hub-metrics.js";
import { startMetricsServer } from "./metrics-server.js";
import { parseExposition, sampleValue } from "./exposition.js";

const now = new Date("2026-05-01T12:00:00Z");
const seen = (minutes: number): string => new Date(now.getTime() - minutes * 60_000).toISOString();

/** Five clusters, one in each state, with drift in two of them. */
function fleet() {
  const index = createDriftIndex({ staleAfterMs: 45_000, now: () => now });
  index.putCluster({ id: "c1", name: "synced", labels: {}, lastSeen: seen(0) });
  index.putCluster({ id: "c2", name: "drifting", labels: {}, lastSeen: seen(0) });
  index.putCluster({ id: "c3", name: "failing", labels: {}, lastSeen: seen(0) });
  index.putCluster({ id: "c4", name: "new", labels: {}, lastSeen: seen(0) });
  index.putCluster({ id: "c5", name: "silent", labels: {}, lastSeen: seen(10) });
  index.putStatus("c1", testReport([testBundle("web", [testResource({ kind: "Deployment", name: "web", namespace: "web" })])]));
  index.putStatus(
    "c2",
    testReport([
      testBundle("web", [testResource({ kind: "Deployment", name: "web", namespace: "web", state: DriftState.DRIFTED, fields: [["/spec/replicas", "3", "5", "kubectl"]] })], {
        sync: SyncState.OUT_OF_SYNC,
      }),
      testBundle("db", [testResource({ kind: "ConfigMap", name: "db", namespace: "db", state: DriftState.MISSING })], { health: HealthState.PROGRESSING }),
    ]),
  );
  index.putStatus("c3", testReport([testBundle("web", [], { sync: SyncState.FAILED, health: HealthState.DEGRADED })]));
  index.putStatus("c5", testReport([testBundle("web", [testResource({ kind: "Deployment", name: "web", namespace: "web", state: DriftState.DRIFTED })])]));
  return index;
}

void describe("the hub's metrics", () => {
  void test("count clusters by state, bundles by sync and health, and drifted objects at scrape time", async () => {
    const metrics = createHubMetrics({ version: "1.2.3", defaultMetrics: false });
    const index = fleet();
    metrics.bind({ tally: () => index.tally(), openStreams: () => 4, readiness: () => ({ nats: "ok" }) });
    const samples = parseExposition(await metrics.scrape());
    const value = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
    assert.equal(value("gitfleet_clusters", { state: "synced" }), 1);
    assert.equal(value("gitfleet_clusters", { state: "out-of-sync" }), 1);
    assert.equal(value("gitfleet_clusters", { state: "failed" }), 1);
    assert.equal(value("gitfleet_clusters", { state: "pending" }), 1);
    assert.equal(value("gitfleet_clusters", { state: "stale" }), 1);
    assert.equal(value("gitfleet_bundles", { sync: "synced", health: "healthy" }), 1);
    assert.equal(value("gitfleet_bundles", { sync: "out-of-sync", health: "healthy" }), 1);
    assert.equal(value("gitfleet_bundles", { sync: "synced", health: "progressing" }), 1);
    assert.equal(value("gitfleet_bundles", { sync: "failed", health: "degraded" }), 1);
    // A stale cluster's bundles are unknown, as the API shows them; its drift is the last it reported.
    assert.equal(value("gitfleet_bundles", { sync: "unknown", health: "unknown" }), 1);
    assert.equal(value("gitfleet_drifted_objects", { state: "drifted" }), 2);
    assert.equal(value("gitfleet_drifted_objects", { state: "missing" }), 1);
    assert.equal(value("gitfleet_drifted_objects", { state: "conflict" }), 0);
    assert.equal(value("gitfleet_grpc_streams_open"), 4);
    assert.equal(value("gitfleet_hub_ready"), 1);
    assert.equal(value("gitfleet_hub_info", { version: "1.2.3" }), 1);

    // The next scrape sees what changed since, without any hook on the writes.
    index.putStatus("c2", testReport([testBundle("web", [testResource({ kind: "Deployment", name: "web", namespace: "web" })])]));
    index.removeCluster("c3");
    const later = parseExposition(await metrics.scrape());
    assert.equal(sampleValue(later, "gitfleet_clusters", { state: "synced" }), 2);
    assert.equal(sampleValue(later, "gitfleet_clusters", { state: "failed" }), 0);
    assert.equal(sampleValue(later, "gitfleet_bundles", { sync: "failed", health: "degraded" }), undefined, "a combination no bundle has any more is gone");
    assert.equal(sampleValue(later, "gitfleet_drifted_objects", { state: "missing" }), 0);
  });

  void test("histograms and counters count what the parts report, and the series alerts use start at 0", async () => {
    const metrics = createHubMetrics({ version: "1.2.3", defaultMetrics: false });
    let samples = parseExposition(await metrics.scrape());
    assert.equal(sampleValue(samples, "gitfleet_nats_errors_total", { kind: "disconnect" }), 0);
    assert.equal(sampleValue(samples, "gitfleet_git_errors_total", { operation: "fetch" }), 0);
    assert.equal(sampleValue(samples, "gitfleet_promotions_total", { kind: "promotion", outcome: "failed" }), 0);
    assert.equal(sampleValue(samples, "gitfleet_hub_ready"), 0, "not ready before the hub binds its sources");

    metrics.delivery.resolved(0.2, "success");
    metrics.delivery.rendered(0.03, "success");
    metrics.delivery.rendered(2, "failure");
    metrics.delivery.published(0.004, "success");
    metrics.delivery.published(1, "failure");
    metrics.delivery.gitError("fetch");
    metrics.natsError("disconnect");
    metrics.promotion("promotion", "verified");
    metrics.promotion("rollback", "rolled-back");
    metrics.notification("slack", "delivered");
    metrics.notification("webhook", "failed");
    samples = parseExposition(await metrics.scrape());
    assert.equal(sampleValue(samples, "gitfleet_resolve_duration_seconds_count", { outcome: "success" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_resolve_duration_seconds_bucket", { outcome: "success", le: "0.25" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_resolve_duration_seconds_bucket", { outcome: "success", le: "0.1" }), 0);
    assert.equal(sampleValue(samples, "gitfleet_render_duration_seconds_count", { outcome: "failure" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_publish_duration_seconds_sum", { outcome: "success" }), 0.004);
    assert.equal(sampleValue(samples, "gitfleet_nats_errors_total", { kind: "publish" }), 1, "a failed publish is a NATS error");
    assert.equal(sampleValue(samples, "gitfleet_nats_errors_total", { kind: "disconnect" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_git_errors_total", { operation: "fetch" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_promotions_total", { kind: "promotion", outcome: "verified" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_promotions_total", { kind: "rollback", outcome: "rolled-back" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_notification_deliveries_total", { sink_type: "slack", outcome: "delivered" }), 1);
    assert.equal(sampleValue(samples, "gitfleet_notification_deliveries_total", { sink_type: "webhook", outcome: "failed" }), 1);
  });

  void test("two hubs in one process keep their own counts, and the default process metrics are there", async () => {
    const a = createHubMetrics({ version: "1" });
    const b = createHubMetrics({ version: "1" });
    a.natsError("error");
    const [textA, textB] = await Promise.all([a.scrape(), b.scrape()]);
    assert.equal(sampleValue(parseExposition(textA), "gitfleet_nats_errors_total", { kind: "error" }), 1);
    assert.equal(sampleValue(parseExposition(textB), "gitfleet_nats_errors_total", { kind: "error" }), 0);
    assert.ok(sampleValue(parseExposition(textA), "process_cpu_user_seconds_total") !== undefined, "process metrics are exported");
    assert.ok(sampleValue(parseExposition(textA), "nodejs_heap_size_used_bytes") !== undefined, "Node.js metrics are exported");
  });

  void test("every metric name follows the Prometheus conventions and no label names a cluster or an object", async () => {
    const metrics = createHubMetrics({ version: "1", defaultMetrics: false });
    const json = await metrics.registry.getMetricsAsJSON();
    for (const metric of json) {
      assert.match(metric.name, /^gitfleet_[a-z_]+$/, metric.name);
      const type = String(metric.type);
      if (type === "counter") assert.match(metric.name, /_total$/, `${metric.name} is a counter`);
      if (type === "histogram") assert.match(metric.name, /_seconds$/, `${metric.name} is a histogram of durations`);
    }
    const labels = new Set(json.flatMap((m) => m.values.flatMap((v) => Object.keys(v.labels))));
    for (const forbidden of ["cluster", "cluster_id", "name", "namespace", "object", "sink", "url"]) assert.ok(!labels.has(forbidden), `no ${forbidden} label`);
  });

  void test("GITFLEET_METRICS_ADDRESS: a server of its own answers GET /metrics and nothing else", async () => {
    const metrics = createHubMetrics({ version: "1", defaultMetrics: false });
    const server = await startMetricsServer({ address: "127.0.0.1:0", source: metrics, logger: pino({ level: "silent" }) });
    try {
      const ok = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      assert.match(await ok.text(), /^# HELP gitfleet_/m);
      const other = await fetch(`http://127.0.0.1:${server.port}/api/v1/clusters`);
      assert.equal(other.status, 404);
      await other.body?.cancel();
    } finally {
      await server.close();
    }
  });
});
