import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { DriftState, timestampDate } from "@gitfleet/proto";
import { testBundle, testReport, testResource } from "../test-support/status-reports.js";
import { mergeStatus } from "./status-merge.js";

const t = (iso: string) => new Date(iso);
const drifted = (firstSeen: string) =>
  testResource({ kind: "Deployment", name: "web", state: DriftState.DRIFTED, fields: [["/spec/replicas", "3", "5", "kubectl-edit"]], firstSeen: t(firstSeen) });

const stored = testReport([
  testBundle("a", [testResource({ kind: "ConfigMap", name: "a" })]),
  testBundle("b", [testResource({ kind: "ConfigMap", name: "b" })]),
  testBundle("c", [testResource({ kind: "ConfigMap", name: "c" })]),
]);

void describe("merging status reports", () => {
  void test("a whole report replaces the stored status", () => {
    const merged = mergeStatus(stored, testReport([testBundle("z", [])], { observedRevision: "rev-2" }));
    assert.deepEqual(merged?.bundles.map((b) => b.name), ["z"]);
    assert.equal(merged?.observedRevision, "rev-2");
    assert.equal(merged?.partial, false);
  });

  void test("a partial report replaces the bundles it names, drops removed ones, adds new ones, and keeps the rest", () => {
    const changed = testBundle("b", [drifted("2026-05-01T10:00:00Z")]);
    const merged = mergeStatus(
      stored,
      testReport([changed, testBundle("d", [])], { partial: true, removedBundles: ["c"], observedRevision: "rev-2", observedGeneration: 7n }),
    );
    assert.ok(merged);
    assert.deepEqual(merged.bundles.map((b) => b.name), ["a", "b", "d"]);
    assert.equal(merged.bundles[0], stored.bundles[0], "bundle a is the stored one");
    assert.equal(merged.bundles[1]?.driftedCount, 1, "bundle b is the reported one");
    assert.equal(merged.observedRevision, "rev-2");
    assert.equal(merged.observedGeneration, 7n);
    assert.equal(merged.partial, false, "what is stored is whole");
    assert.deepEqual(merged.removedBundles, []);
  });

  void test("a partial report with nothing stored to merge into gives nothing, so half a status is never stored", () => {
    assert.equal(mergeStatus(undefined, testReport([testBundle("a", [])], { partial: true })), undefined);
  });

  void test("agent fields a partial report leaves empty keep their stored value", () => {
    const merged = mergeStatus(testReport([], { agentVersion: "1.2.3", kubernetesVersion: "v1.36.0" }), testReport([], { partial: true, agentVersion: "" }));
    assert.equal(merged?.agentVersion, "1.2.3");
    assert.equal(merged?.kubernetesVersion, "v1.36.0");
  });

  void test("drift first seen before an agent restart keeps its earlier time while the state is the same", () => {
    const before = testReport([testBundle("b", [drifted("2026-05-01T10:00:00Z")])]);
    const restarted = testReport([testBundle("b", [drifted("2026-05-01T12:00:00Z")])]);
    const merged = mergeStatus(before, restarted);
    const first = merged?.bundles[0]?.resources[0]?.driftFirstSeen;
    assert.ok(first);
    assert.equal(timestampDate(first).toISOString(), "2026-05-01T10:00:00.000Z");
  });

  void test("a new drift state starts its own first-seen time", () => {
    const before = testReport([testBundle("b", [drifted("2026-05-01T10:00:00Z")])]);
    const conflict = testResource({ kind: "Deployment", name: "web", state: DriftState.CONFLICT, firstSeen: t("2026-05-01T12:00:00Z") });
    const merged = mergeStatus(before, testReport([testBundle("b", [conflict])]));
    const first = merged?.bundles[0]?.resources[0]?.driftFirstSeen;
    assert.ok(first);
    assert.equal(timestampDate(first).toISOString(), "2026-05-01T12:00:00.000Z");
  });
});
