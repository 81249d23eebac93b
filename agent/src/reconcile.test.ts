import { strict as assert } from "node:assert";
import { afterEach, beforeEach, describe, it } from "node:test";
import { SyncState } from "@gitfleet/proto";
import type { DesiredBundle, DesiredStateSnapshot } from "./desired-state.js";
import { createConfigMapInventoryStore } from "./inventory.js";
import type { KubeObject } from "./kube-objects.js";
import { refKey } from "./kube-objects.js";
import { claimedKeys, createReconciler } from "./reconcile.js";
import type { ReconcileReport, Reconciler } from "./reconcile.js";
import { createFakeKube, ref } from "./test-support/fake-kube.js";
import type { FakeKube } from "./test-support/fake-kube.js";
import { createManualClock, until } from "./test-support/manual-clock.js";
import type { ManualClock } from "./test-support/manual-clock.js";

const cm = (name: string, ns = "web"): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns }, data: { k: "v" } });
const bundle = (name: string, objects: KubeObject[], prune = true): DesiredBundle => ({
  name,
  digest: `${name}`.padEnd(64, "0").replace(/[^0-9a-f]/g, "a"),
  revision: "r1",
  stage: "",
  policy: { prune, namespace: "", drift: "correct", ignore: [] },
  objects,
});
const state = (bundles: DesiredBundle[], generation = 1n): DesiredStateSnapshot => ({
  revision: `rev${generation}`,
  generation,
  kvRevision: Number(generation),
  bundles,
  publishedAt: "",
});

describe("reconcile loop", () => {
  let kube: FakeKube;
  let clock: ManualClock;
  let reports: ReconcileReport[];
  let reconciler: Reconciler;

  beforeEach(async () => {
    kube = createFakeKube();
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gitfleet-system" } });
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "web" } });
    clock = createManualClock();
    reports = [];
    reconciler = createReconciler({
      kube,
      inventory: createConfigMapInventoryStore({ kube, namespace: "gitfleet-system" }),
      agentNamespace: "gitfleet-system",
      clock,
      intervalMs: 30_000,
      onReport: (r) => reports.push(r),
    });
  });

  afterEach(async () => {
    await reconciler.stop();
  });

  it("does nothing until a desired state arrives, then applies it at once", async () => {
    reconciler.start();
    await until(() => clock.sleepers() === 1, "the loop to wait");
    assert.equal(reports.length, 0);
    reconciler.setDesired(state([bundle("web", [cm("a")])]));
    await until(() => reports.length === 1, "a pass after the desired state arrived");
    assert.equal(reports[0]?.bundles[0]?.sync, SyncState.SYNCED);
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "a")));
  });

  it("re-applies every interval, so a deleted object comes back", async () => {
    reconciler.setDesired(state([bundle("web", [cm("a")])]));
    reconciler.start();
    await until(() => reports.length === 1 && clock.sleepers() === 1, "the first pass");
    kube.objects.delete(refKey(ref("v1", "ConfigMap", "web", "a")));
    await clock.advance(29_999);
    assert.equal(reports.length, 1);
    await clock.advance(1);
    await until(() => reports.length === 2, "the periodic pass");
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "a")));
  });

  it("runs a pass on trigger without waiting for the interval", async () => {
    reconciler.setDesired(state([bundle("web", [cm("a")])]));
    reconciler.start();
    await until(() => reports.length === 1 && clock.sleepers() === 1, "the first pass");
    reconciler.trigger("resync");
    await until(() => reports.length === 2, "the triggered pass");
  });

  it("prunes the objects of a bundle that left the desired state and forgets its inventory", async () => {
    reconciler.setDesired(state([bundle("web", [cm("a")]), bundle("extra", [cm("b")])]));
    await reconciler.reconcileNow();
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "b")));
    reconciler.setDesired(state([bundle("web", [cm("a")])], 2n));
    const report = await reconciler.reconcileNow();
    assert.deepEqual(report?.removedBundles, ["extra"]);
    assert.equal(kube.find(ref("v1", "ConfigMap", "web", "b")), undefined);
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "a")));
    assert.equal(kube.find(ref("v1", "ConfigMap", "gitfleet-system", "gitfleet-inventory-extra")), undefined);
  });

  it("keeps applying one bundle when another fails", async () => {
    kube.reject((o) => (o.metadata.name === "bad" ? "invalid" : undefined));
    reconciler.setDesired(state([bundle("broken", [cm("bad"), cm("fine")]), bundle("web", [cm("a")])]));
    const report = await reconciler.reconcileNow();
    assert.equal(report?.bundles[0]?.sync, SyncState.FAILED);
    assert.equal(report?.bundles[1]?.sync, SyncState.SYNCED);
    assert.equal(kube.find(ref("v1", "ConfigMap", "web", "fine")), undefined);
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "a")));
  });

  it("does not re-apply a bundle whose drift mode only reports, until a resync asks", async () => {
    const reportOnly = { ...bundle("web", [cm("a")]), policy: { prune: true, namespace: "", drift: "report" as const, ignore: [] } };
    reconciler.setDesired(state([reportOnly]));
    await reconciler.reconcileNow();
    kube.objects.delete(refKey(ref("v1", "ConfigMap", "web", "a")));
    await reconciler.reconcileNow();
    assert.equal(kube.find(ref("v1", "ConfigMap", "web", "a")), undefined, "drift is left in place");
    reconciler.resync(["web"]);
    await reconciler.reconcileNow();
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "a")), "a resync re-applies");
  });

  it("claims objects without a namespace both cluster-wide and in the default namespace", () => {
    const keys = claimedKeys([bundle("web", [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }])]).get("web");
    assert.ok(keys?.has(refKey(ref("v1", "ConfigMap", "", "x"))));
    assert.ok(keys?.has(refKey(ref("v1", "ConfigMap", "default", "x"))));
  });
});
