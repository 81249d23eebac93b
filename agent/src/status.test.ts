import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { ConditionStatus, HealthState, SyncState, timestampDate } from "@gitfleet/proto";
import type { BundleResult } from "./bundle-result.js";
import type { ReconcileReport } from "./reconcile.js";
import { buildStatusReport, statusFingerprint } from "./status.js";
import { ref } from "./test-support/fake-kube.js";

const synced: BundleResult = {
  name: "web",
  desiredDigest: "a".repeat(64),
  appliedDigest: "a".repeat(64),
  revision: "c0ffee",
  sync: SyncState.SYNCED,
  health: HealthState.HEALTHY,
  message: "",
  resources: [
    { ref: ref("v1", "ConfigMap", "web", "settings"), sync: SyncState.SYNCED, health: HealthState.HEALTHY, message: "" },
    { ref: ref("v1", "ConfigMap", "web", "old"), sync: SyncState.PRUNED, health: HealthState.MISSING, message: "pruned: no longer in the bundle" },
  ],
  appliedAt: "2026-01-02T03:04:05.000Z",
  complete: true,
};
const failed: BundleResult = {
  ...synced,
  name: "db",
  appliedDigest: "",
  sync: SyncState.FAILED,
  health: HealthState.UNKNOWN,
  message: "validation failed, nothing applied: ConfigMap db/x: invalid",
  resources: [{ ref: ref("v1", "ConfigMap", "db", "x"), sync: SyncState.FAILED, health: HealthState.UNKNOWN, message: "ConfigMap db/x: invalid" }],
  appliedAt: "",
  complete: false,
};
const report = (bundles: BundleResult[]): ReconcileReport => ({
  revision: "c0ffee",
  generation: 42n,
  bundles,
  removedBundles: [],
  startedAt: "",
  finishedAt: "",
});
const context = { agentVersion: "0.1.0", kubernetesVersion: "v1.36.3", now: new Date("2026-01-02T03:05:00Z") };

describe("status report", () => {
  it("carries observed revision, per-bundle and per-resource state", () => {
    const status = buildStatusReport(report([synced, failed]), context);
    assert.equal(status.observedRevision, "c0ffee");
    assert.equal(status.observedGeneration, 42n);
    assert.equal(status.agentVersion, "0.1.0");
    assert.equal(status.kubernetesVersion, "v1.36.3");
    const [web, db] = status.bundles;
    assert.equal(web?.sync, SyncState.SYNCED);
    assert.equal(web?.health, HealthState.HEALTHY);
    assert.equal(web?.digest, "a".repeat(64));
    assert.equal(web?.resourceCount, 1, "pruned objects are not counted");
    assert.equal(web?.resources[0]?.kind, "ConfigMap");
    assert.equal(web?.resources[0]?.namespace, "web");
    assert.equal(web?.resources[1]?.sync, SyncState.PRUNED);
    assert.equal(web?.lastAppliedAt && timestampDate(web.lastAppliedAt).toISOString(), "2026-01-02T03:04:05.000Z");
    assert.equal(db?.sync, SyncState.FAILED);
    assert.equal(db?.digest, "");
    assert.match(db?.message ?? "", /ConfigMap db\/x: invalid/);
    assert.equal(db?.lastAppliedAt, undefined);
  });

  it("sums the bundles up in Synced and Healthy conditions", () => {
    const good = buildStatusReport(report([synced]), context);
    assert.deepEqual(good.conditions.map((c) => [c.type, c.status]), [
      ["Synced", ConditionStatus.TRUE],
      ["Healthy", ConditionStatus.TRUE],
    ]);
    const bad = buildStatusReport(report([synced, failed]), context);
    assert.equal(bad.conditions[0]?.status, ConditionStatus.FALSE);
    assert.equal(bad.conditions[0]?.message, "bundles not synced: db");
  });

  it("has the same fingerprint when only the report time differs", () => {
    const a = buildStatusReport(report([synced]), context);
    const b = buildStatusReport(report([synced]), { ...context, now: new Date("2030-01-01T00:00:00Z") });
    const c = buildStatusReport(report([synced, failed]), context);
    assert.equal(statusFingerprint(a), statusFingerprint(b));
    assert.notEqual(statusFingerprint(a), statusFingerprint(c));
  });
});
