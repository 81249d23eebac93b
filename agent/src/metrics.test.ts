import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { HealthState, SyncState } from "@gitfleet/proto";
import type { BundleResult } from "./bundle-result.js";
import { createAgentMetrics } from "./metrics.js";
import { startProbeServer } from "./probe-server.js";
import type { ReconcileReport } from "./reconcile.js";

const bundle = (name: string, sync: SyncState, health: HealthState): BundleResult => ({
  name,
  desiredDigest: "d",
  appliedDigest: "d",
  revision: "r",
  sync,
  health,
  message: "",
  resources: [],
  appliedAt: "",
  complete: true,
});

const report: ReconcileReport = {
  revision: "r",
  generation: 1n,
  bundles: [bundle("web", SyncState.SYNCED, HealthState.HEALTHY), bundle("db", SyncState.SYNCED, HealthState.HEALTHY), bundle("jobs", SyncState.FAILED, HealthState.DEGRADED)],
  removedBundles: [],
  startedAt: "2026-05-01T12:00:00.000Z",
  finishedAt: "2026-05-01T12:00:01.000Z",
};

/** The value of the first line of `text` that starts with `series` (name and labels as printed). */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

void describe("the agent's metrics", () => {
  void test("read the last pass, drift and the hub link at scrape time, and count passes and applies", async () => {
    const metrics = createAgentMetrics({ version: "1.2.3", defaultMetrics: false });
    let connected = true;
    metrics.bind({ lastReport: () => report, drift: () => ({ drifted: 2, missing: 1, conflict: 0 }), hubConnected: () => connected, leading: () => true });
    metrics.reconcile.passed(0.3, "success");
    metrics.reconcile.passed(0.02, "success");
    metrics.reconcile.passed(1, "failure");
    metrics.reconcile.bundleApplied("web", 0.2, SyncState.SYNCED);
    let text = await metrics.scrape();
    assert.equal(valueOf(text, 'gitfleet_agent_bundles{sync="synced",health="healthy"}'), 2);
    assert.equal(valueOf(text, 'gitfleet_agent_bundles{sync="failed",health="degraded"}'), 1);
    assert.equal(valueOf(text, 'gitfleet_agent_drifted_objects{state="drifted"}'), 2);
    assert.equal(valueOf(text, 'gitfleet_agent_drifted_objects{state="missing"}'), 1);
    assert.equal(valueOf(text, "gitfleet_agent_hub_connected"), 1);
    assert.equal(valueOf(text, "gitfleet_agent_leader"), 1);
    assert.equal(valueOf(text, 'gitfleet_agent_reconcile_duration_seconds_count{outcome="success"}'), 2);
    assert.equal(valueOf(text, 'gitfleet_agent_reconcile_duration_seconds_bucket{le="0.5",outcome="success"}'), 2);
    assert.equal(valueOf(text, "gitfleet_agent_reconcile_errors_total"), 1);
    assert.equal(valueOf(text, 'gitfleet_agent_bundle_apply_duration_seconds_count{bundle="web",sync="synced"}'), 1);
    assert.equal(valueOf(text, "gitfleet_agent_last_reconcile_timestamp_seconds"), Date.parse(report.finishedAt) / 1000);
    connected = false;
    text = await metrics.scrape();
    assert.equal(valueOf(text, "gitfleet_agent_hub_connected"), 0, "the gauge follows the agent without a hook");
  });

  void test("the probe server serves them at /metrics beside the probes", async () => {
    const metrics = createAgentMetrics({ version: "1.2.3" });
    const server = await startProbeServer({ address: "127.0.0.1:0", liveness: () => ({ ok: true, message: "ok" }), readiness: () => ({ ok: true, message: "ok" }), metrics });
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const text = await response.text();
      assert.equal(valueOf(text, 'gitfleet_agent_info{version="1.2.3"}'), 1);
      assert.match(text, /^process_cpu_user_seconds_total /m, "process metrics are there too");
      const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      await server.close();
    }
  });
});
