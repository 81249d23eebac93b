import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { DriftState, HealthState, SyncState } from "@gitfleet/proto";
import type { ClusterRecord } from "../store/clusters.js";
import { testBundle, testReport, testResource } from "../test-support/status-reports.js";
import { bundleStateView } from "./status-views.js";
import { clusterDetail } from "./views.js";

const now = new Date("2026-05-01T12:00:00Z");
const cluster = (lastSeen: string | null): ClusterRecord => ({
  id: "c1", name: "eu-1", labels: {}, registeredAt: "2026-05-01T00:00:00Z", lastSeen, connected: true, credentialEpoch: 0,
  natsUserPublicKey: "U", signingPublicKey: "U", agentVersion: "", kubernetesVersion: "", observedRevision: "rev-1",
  observedGeneration: 1, registrationTokenId: "t", credentialsExpireAt: null, session: "s",
});

const web = testBundle("web", [
  testResource({ kind: "Service", name: "web", namespace: "web" }),
  testResource({ kind: "Secret", name: "creds", namespace: "web", state: DriftState.DRIFTED, firstSeen: now }),
]);
web.resources[1]?.drift.push({ $typeName: "gitfleet.v1.DriftedField", path: "/data/password", desired: "", live: "", manager: "kubectl-edit", redacted: true, truncated: false });

void describe("a cluster's status in the API", () => {
  void test("shows each bundle's health at its revision, drift counts and mode, and each object's state and drifted fields", () => {
    const view = bundleStateView(web, false);
    assert.equal(view.sync, "synced");
    assert.equal(view.health, "healthy");
    assert.equal(view.healthRevision, "rev-1");
    assert.equal(view.driftMode, "correct");
    assert.deepEqual([view.driftedCount, view.missingCount, view.conflictCount, view.resourceCount], [1, 0, 0, 2]);
    assert.equal(view.lastReported, undefined);
    const secret = view.resources[1];
    assert.deepEqual(secret?.resource, { apiVersion: "v1", kind: "Secret", namespace: "web", name: "creds" });
    assert.equal(secret?.drift, "drifted");
    assert.equal(secret?.sync, "out-of-sync");
    assert.deepEqual(secret?.fields, [{ path: "/data/password", desired: "", live: "", manager: "kubectl-edit", redacted: true }]);
    assert.equal(secret?.firstSeen, now.toISOString());
    assert.equal(view.resources[0]?.drift, "in-sync");
  });

  void test("never shows a stale cluster in sync or healthy, and keeps what it last reported beside", () => {
    const detail = clusterDetail(cluster("2026-05-01T11:59:00Z"), testReport([web]), [], now, 45_000);
    assert.equal(detail.stale, true);
    assert.equal(detail.connected, false);
    const bundle = detail.bundles[0];
    assert.deepEqual([bundle?.sync, bundle?.health], ["unknown", "unknown"]);
    assert.deepEqual(bundle?.lastReported, { sync: "synced", health: "healthy" });
    assert.deepEqual([bundle?.resources[0]?.sync, bundle?.resources[0]?.health], ["unknown", "unknown"]);
    assert.equal(bundle?.resources[1]?.drift, "drifted", "drift stays the last reported");

    const fresh = clusterDetail(cluster("2026-05-01T11:59:30Z"), testReport([web]), [], now, 45_000);
    assert.equal(fresh.stale, false);
    assert.equal(fresh.connected, true);
    assert.equal(fresh.bundles[0]?.sync, "synced");
    assert.equal(clusterDetail(cluster(null), undefined, [], now, 45_000).stale, true, "never heard from");
  });

  void test("names sync and health as the wire does", () => {
    const degraded = bundleStateView(testBundle("x", [], { sync: SyncState.OUT_OF_SYNC, health: HealthState.DEGRADED }), false);
    assert.deepEqual([degraded.sync, degraded.health], ["out-of-sync", "degraded"]);
  });
});
