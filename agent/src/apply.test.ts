import { strict as assert } from "node:assert";
import { beforeEach, describe, it } from "node:test";
import { HealthState, SyncState } from "@gitfleet/proto";
import { pino } from "pino";
import { applyBundle } from "./apply.js";
import type { ApplyBundleOptions } from "./apply.js";
import type { DesiredBundle } from "./desired-state.js";
import { createConfigMapInventoryStore } from "./inventory.js";
import type { InventoryStore } from "./inventory.js";
import { BUNDLE_ANNOTATION, refKey } from "./kube-objects.js";
import type { KubeObject } from "./kube-objects.js";
import { createFakeKube, ref } from "./test-support/fake-kube.js";
import type { FakeKube } from "./test-support/fake-kube.js";
import { createManualClock } from "./test-support/manual-clock.js";

const agentNamespace = "gitfleet-system";
const namespace = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
const configMap = (name: string, ns = "web", data: Record<string, string> = { k: "v" }): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns },
  data,
});
const crd: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.example.com" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { kind: "Widget", plural: "widgets" },
    versions: [{ name: "v1", served: true, storage: true }],
  },
};
const widget: KubeObject = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w1", namespace: "web" }, spec: { size: 3 } };

const bundle = (name: string, objects: KubeObject[], prune = true, digest = "d".repeat(64)): DesiredBundle => ({
  name,
  digest,
  revision: "rev1",
  stage: "",
  policy: { prune, namespace: "", drift: "correct", ignore: [] },
  objects,
});

describe("applying a bundle", () => {
  let kube: FakeKube;
  let inventory: InventoryStore;
  let options: (b: DesiredBundle, extra?: Partial<ApplyBundleOptions>) => ApplyBundleOptions;

  beforeEach(async () => {
    kube = createFakeKube();
    await kube.apply(namespace(agentNamespace));
    kube.calls.length = 0;
    inventory = createConfigMapInventoryStore({ kube, namespace: agentNamespace });
    options = (b, extra = {}) => ({
      kube,
      inventory,
      bundle: b,
      agentNamespace,
      claimedElsewhere: new Set(),
      validated: false,
      clock: createManualClock(),
      logger: pino({ level: "silent" }),
      ...extra,
    });
  });

  it("validates every object first, then applies Namespaces, CRDs and the rest in that order", async () => {
    const result = await applyBundle(options(bundle("web", [widget, configMap("settings"), crd, namespace("web")])));
    assert.equal(result.sync, SyncState.SYNCED, result.message);
    assert.equal(result.health, HealthState.HEALTHY);
    const writes = kube.calls.filter((c) => c.verb === "apply" || c.verb === "dry-run").map((c) => `${c.verb} ${c.ref}`);
    assert.deepEqual(writes, [
      "dry-run Namespace web",
      "dry-run CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
      // web does not exist yet: the ConfigMap is validated in the agent's namespace.
      "dry-run ConfigMap gitfleet-system/settings",
      "apply Namespace web",
      "apply CustomResourceDefinition.apiextensions.k8s.io widgets.example.com",
      // The Widget can only be validated once its CRD is served.
      "dry-run Widget.example.com web/w1",
      "apply Widget.example.com web/w1",
      "apply ConfigMap web/settings",
      "apply ConfigMap gitfleet-system/gitfleet-inventory-web",
    ]);
    const live = kube.find(ref("v1", "ConfigMap", "web", "settings"));
    assert.equal(live?.metadata.annotations?.[BUNDLE_ANNOTATION], "web");
    const recorded = await inventory.get("web");
    assert.equal(recorded?.digest, "d".repeat(64));
    assert.equal(recorded?.objects.length, 4);
  });

  it("fails the whole bundle on one invalid object, names it, and applies nothing", async () => {
    kube.reject((o) => (o.metadata.name === "bad" ? `ConfigMap "bad" is invalid: data[k y]: Invalid value` : undefined));
    const result = await applyBundle(options(bundle("web", [namespace("web"), configMap("good"), configMap("bad")])));
    assert.equal(result.sync, SyncState.FAILED);
    assert.match(result.message, /^validation failed, nothing applied: ConfigMap web\/bad: ConfigMap "bad" is invalid/);
    assert.equal(kube.calls.filter((c) => c.verb === "apply").length, 0);
    assert.equal(kube.find(ref("v1", "Namespace", "", "web")), undefined);
    const bad = result.resources.find((r) => r.ref.name === "bad");
    assert.equal(bad?.sync, SyncState.FAILED);
    assert.equal(result.resources.find((r) => r.ref.name === "good")?.sync, SyncState.OUT_OF_SYNC);
    assert.equal(await inventory.get("web"), undefined);
  });

  it("fails a bundle with a kind the server does not serve before any call that writes", async () => {
    const unknown: KubeObject = { apiVersion: "nope.io/v1", kind: "Thing", metadata: { name: "t" } };
    const result = await applyBundle(options(bundle("web", [namespace("web"), unknown])));
    assert.equal(result.sync, SyncState.FAILED);
    assert.match(result.message, /Thing.nope.io t: the API server does not serve Thing in nope.io\/v1/);
    assert.equal(kube.calls.filter((c) => c.verb !== "get").length, 0);
  });

  it("refuses a bundle that holds the agent's identity Secret before any call that writes, naming the object", async () => {
    const identity: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "gitfleet-agent-identity", namespace: agentNamespace }, stringData: { "identity.json": "{}" } };
    const result = await applyBundle(options(bundle("web", [namespace("web"), configMap("good"), identity])));
    assert.equal(result.sync, SyncState.FAILED);
    assert.match(result.message, /^validation failed, nothing applied: Secret gitfleet-system\/gitfleet-agent-identity: refused: it is the agent's identity Secret/);
    assert.deepEqual(kube.calls.filter((c) => c.verb === "apply" || c.verb === "dry-run" || c.verb === "delete" || c.verb === "create"), []);
    assert.equal(result.resources.find((r) => r.ref.name === "gitfleet-agent-identity")?.sync, SyncState.FAILED);
    assert.equal(await inventory.get("web"), undefined);
  });

  it("refuses a bundle that binds the agent's ServiceAccount or writes an inventory, when the agent knows its RBAC", async () => {
    const grab: KubeObject = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "grab" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: "gitfleet-agent", namespace: agentNamespace }],
    };
    const agentRbac = { serviceAccount: "gitfleet-agent", rbacName: "gitfleet-agent" };
    const bound = await applyBundle(options(bundle("web", [grab]), { agentRbac }));
    assert.match(bound.message, /ClusterRoleBinding\.rbac\.authorization\.k8s\.io grab: refused: it is a binding of the agent's ServiceAccount/);
    const forged = await applyBundle(options(bundle("web", [configMap("gitfleet-inventory-other", agentNamespace, { "inventory.json": "[]" })]), { agentRbac }));
    assert.match(forged.message, /ConfigMap gitfleet-system\/gitfleet-inventory-other: refused: it is an inventory of the agent/);
    assert.equal(kube.calls.filter((c) => c.verb === "apply" || c.verb === "dry-run").length, 0);
  });

  it("never prunes the agent's own objects, even when an inventory lists them", async () => {
    await kube.apply(namespace("web"));
    await kube.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "gitfleet-agent-identity", namespace: agentNamespace } });
    await inventory.put({
      bundle: "web",
      digest: "c".repeat(64),
      revision: "rev0",
      prune: true,
      appliedAt: "2026-01-01T00:00:00.000Z",
      objects: [ref("v1", "Namespace", "", agentNamespace), ref("v1", "Secret", agentNamespace, "gitfleet-agent-identity"), ref("v1", "ConfigMap", "web", "old")],
    });
    await kube.apply(configMap("old"));
    const result = await applyBundle(options(bundle("web", [configMap("a")])));
    assert.equal(result.sync, SyncState.SYNCED, result.message);
    assert.ok(kube.find(ref("v1", "Namespace", "", agentNamespace)), "the agent's namespace was pruned");
    assert.ok(kube.find(ref("v1", "Secret", agentNamespace, "gitfleet-agent-identity")), "the identity Secret was pruned");
    assert.equal(kube.find(ref("v1", "ConfigMap", "web", "old")), undefined);
    assert.deepEqual((await inventory.get("web"))?.objects.map((r) => r.name), ["a"]);
  });

  it("reports a bundle the hub published broken as failed, with the reason", async () => {
    const result = await applyBundle(options({ ...bundle("web", []), error: "bundle web payload is unusable" }));
    assert.equal(result.sync, SyncState.FAILED);
    assert.equal(result.message, "bundle web payload is unusable");
  });

  it("prunes an object that left the bundle, and only objects from its inventory", async () => {
    await kube.apply(namespace("web"));
    await kube.apply(configMap("someone-elses"));
    await applyBundle(options(bundle("web", [configMap("a"), configMap("b")])));
    const result = await applyBundle(options(bundle("web", [configMap("a")], true, "e".repeat(64))));
    assert.equal(result.sync, SyncState.SYNCED, result.message);
    assert.equal(kube.find(ref("v1", "ConfigMap", "web", "b")), undefined);
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "a")));
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "someone-elses")));
    assert.deepEqual(
      result.resources.filter((r) => r.sync === SyncState.PRUNED).map((r) => r.ref.name),
      ["b"],
    );
    assert.deepEqual((await inventory.get("web"))?.objects.map((r) => r.name), ["a"]);
  });

  it("leaves objects that left the bundle when prune is off", async () => {
    await kube.apply(namespace("web"));
    await applyBundle(options(bundle("web", [configMap("a"), configMap("b")], false)));
    await applyBundle(options(bundle("web", [configMap("a")], false, "e".repeat(64))));
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "b")));
  });

  it("does not prune an object another bundle holds now", async () => {
    await kube.apply(namespace("web"));
    await applyBundle(options(bundle("web", [configMap("a"), configMap("moved")])));
    const claimed = new Set([refKey(ref("v1", "ConfigMap", "web", "moved"))]);
    await applyBundle(options(bundle("web", [configMap("a")], true, "e".repeat(64)), { claimedElsewhere: claimed }));
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "moved")));
  });

  it("does not prune an object annotated as another bundle's", async () => {
    await kube.apply(namespace("web"));
    await applyBundle(options(bundle("web", [configMap("a"), configMap("taken")])));
    const live = kube.find(ref("v1", "ConfigMap", "web", "taken"));
    assert.ok(live);
    live.metadata.annotations = { [BUNDLE_ANNOTATION]: "other" };
    await applyBundle(options(bundle("web", [configMap("a")], true, "e".repeat(64))));
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "taken")));
  });

  it("skips the dry-run for a digest validated before and puts a deleted object back", async () => {
    await kube.apply(namespace("web"));
    const b = bundle("web", [configMap("a")]);
    await applyBundle(options(b));
    kube.objects.delete(refKey(ref("v1", "ConfigMap", "web", "a")));
    kube.calls.length = 0;
    const result = await applyBundle(options(b, { validated: true }));
    assert.equal(result.sync, SyncState.SYNCED);
    assert.equal(kube.calls.filter((c) => c.verb === "dry-run").length, 0);
    assert.ok(kube.find(ref("v1", "ConfigMap", "web", "a")));
  });

  it("fills in the bundle's default namespace for namespaced objects that name none", async () => {
    await kube.apply(namespace("apps"));
    const cm: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "plain" } };
    const b = { ...bundle("web", [cm]), policy: { prune: true, namespace: "apps", drift: "correct" as const, ignore: [] } };
    const result = await applyBundle(options(b));
    assert.equal(result.sync, SyncState.SYNCED, result.message);
    assert.ok(kube.find(ref("v1", "ConfigMap", "apps", "plain")));
  });
});
