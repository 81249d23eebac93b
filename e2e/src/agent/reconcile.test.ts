// The agent's reconcile engine against a real kube-apiserver: apply order, all-or-nothing
// bundles, prune, and drift correction by re-apply. Desired states are given in code; the
// full hub + agent story lives elsewhere.
import { strict as assert } from "node:assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  BUNDLE_ANNOTATION,
  createConfigMapInventoryStore,
  createKubeClient,
  createReconciler,
  loadKubeConfig,
} from "@gitfleet/agent";
import type { DesiredBundle, DesiredStateSnapshot, KubeClient, KubeObject, ObjectRef, Reconciler } from "@gitfleet/agent";
import { HealthState, SyncState } from "@gitfleet/proto";
import { startKubeApiserver } from "../lab/kube.js";
import type { KubeApiserver } from "../lab/kube.js";
import { skipUnlessTool } from "../lab/skip.js";

const binary = process.env["GITFLEET_KUBE_APISERVER_BIN"];
const skip = skipUnlessTool(binary ? false : "GITFLEET_KUBE_APISERVER_BIN is not set (path of the lab's kube-apiserver binary; `npm test` builds it)");

const agentNamespace = "gitfleet-system";
const ref = (apiVersion: string, kind: string, namespace: string, name: string): ObjectRef => {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  return { group: group ?? "", version: version ?? "", kind, namespace, name };
};
const namespace = (name: string): KubeObject => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
const configMap = (name: string, ns: string, data: Record<string, string> = { greeting: "hello" }): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: ns },
  data,
});
const widgetsCrd: KubeObject = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.lab.gitfleet.io" },
  spec: {
    group: "lab.gitfleet.io",
    scope: "Namespaced",
    names: { kind: "Widget", plural: "widgets", singular: "widget", listKind: "WidgetList" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                properties: { size: { type: "integer" } },
                "x-kubernetes-preserve-unknown-fields": true,
              },
            },
          },
        },
      },
    ],
  },
};
const widget = (name: string, ns: string, size: unknown): KubeObject => ({
  apiVersion: "lab.gitfleet.io/v1",
  kind: "Widget",
  metadata: { name, namespace: ns },
  spec: { size, colour: "teal" },
});

let digestCounter = 0;
const bundle = (name: string, objects: KubeObject[], prune = true): DesiredBundle => ({
  name,
  // A new digest per call: a changed bundle is validated again, as a new payload would be.
  digest: (++digestCounter).toString(16).padStart(64, "0"),
  revision: "f00d",
  stage: "",
  policy: { prune, namespace: "", drift: "correct", ignore: [] },
  objects,
});
// The cluster's bundles so far: each test changes some and keeps the others, as the hub would.
const current = new Map<string, DesiredBundle>();
let generation = 0n;
const desired = (...changed: DesiredBundle[]): DesiredStateSnapshot => {
  for (const b of changed) current.set(b.name, b);
  return { revision: "f00d", generation: ++generation, kvRevision: Number(generation), bundles: [...current.values()], publishedAt: "" };
};

describe("agent reconcile against a real kube-apiserver", { skip }, () => {
  let dir: string;
  let kas: KubeApiserver;
  let kube: KubeClient;
  let reconciler: Reconciler;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-agent-reconcile-"));
    kas = await startKubeApiserver({ name: "agent-reconcile", binary: binary ?? "", dir });
    kube = createKubeClient({ kubeConfig: loadKubeConfig(kas.kubeconfig) });
    await kube.apply(namespace(agentNamespace));
    reconciler = createReconciler({
      kube,
      inventory: createConfigMapInventoryStore({ kube, namespace: agentNamespace }),
      agentNamespace,
      crdTimeoutMs: 30_000,
    });
  });

  after(async () => {
    await reconciler?.stop();
    await kas?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("applies a Namespace, a ConfigMap, a CRD and its custom resource, in that order", async () => {
    // Listed in the worst order on purpose: the CR before its CRD, the ConfigMap before its namespace.
    const web = bundle("web", [widget("w1", "web", 3), configMap("settings", "web"), widgetsCrd, namespace("web")]);
    reconciler.setDesired(desired(web));
    const report = await reconciler.reconcileNow();
    const result = report?.bundles[0];
    assert.equal(result?.sync, SyncState.SYNCED, result?.message);
    assert.equal(result?.health, HealthState.HEALTHY, JSON.stringify(result?.resources));
    assert.equal(result?.resources.length, 4);

    const cm = await kube.get(ref("v1", "ConfigMap", "web", "settings"));
    assert.deepEqual(cm?.["data"], { greeting: "hello" });
    assert.equal(cm?.metadata.annotations?.[BUNDLE_ANNOTATION], "web");
    const managers = (cm?.metadata["managedFields"] as Array<{ manager: string; operation: string }>).map((m) => `${m.manager}/${m.operation}`);
    assert.ok(managers.includes("gitfleet/Apply"), `server-side applied by gitfleet: ${managers.join(", ")}`);

    const w1 = await kube.get(ref("lab.gitfleet.io/v1", "Widget", "web", "w1"));
    assert.deepEqual(w1?.["spec"], { size: 3, colour: "teal" });

    const crd = await kube.get(ref("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.lab.gitfleet.io"));
    const schema = JSON.stringify((crd?.["spec"] as { versions: unknown[] }).versions[0]);
    assert.match(schema, /"x-kubernetes-preserve-unknown-fields":true/, "the CRD schema arrives exactly as given");

    const inventory = await kube.get(ref("v1", "ConfigMap", agentNamespace, "gitfleet-inventory-web"));
    const recorded = JSON.parse((inventory?.["data"] as Record<string, string>)["inventory.json"] ?? "{}") as { objects: ObjectRef[] };
    assert.deepEqual(recorded.objects.map((o) => `${o.kind}/${o.namespace}/${o.name}`).sort(), [
      "ConfigMap/web/settings",
      "CustomResourceDefinition//widgets.lab.gitfleet.io",
      "Namespace//web",
      "Widget/web/w1",
    ]);
  });

  it("fails a bundle with one invalid object, names the object, applies none of it, and still applies another bundle", async () => {
    const broken = bundle("broken", [namespace("broken"), configMap("fine", "broken"), configMap("bad", "broken", { "not a key!": "x" })]);
    const other = bundle("other", [namespace("other"), configMap("settings", "other")]);
    reconciler.setDesired(desired(broken, other));
    const report = await reconciler.reconcileNow();
    const b = report?.bundles.find((x) => x.name === "broken");
    const o = report?.bundles.find((x) => x.name === "other");
    assert.equal(b?.sync, SyncState.FAILED);
    assert.match(b?.message ?? "", /^validation failed, nothing applied: ConfigMap broken\/bad: .*not a key!/);
    assert.equal(b?.resources.find((r) => r.ref.name === "bad")?.sync, SyncState.FAILED);
    assert.equal(await kube.get(ref("v1", "Namespace", "", "broken")), undefined, "its namespace was not created");
    assert.equal(await kube.get(ref("v1", "ConfigMap", agentNamespace, "fine")), undefined, "the stand-in dry-run left nothing behind");
    assert.equal(o?.sync, SyncState.SYNCED, o?.message);
    assert.ok(await kube.get(ref("v1", "ConfigMap", "other", "settings")));
  });

  it("fails a custom resource that breaks its CRD's schema after the CRD is applied, and applies nothing else", async () => {
    const gadgets = bundle("gadgets", [
      namespace("gadgets"),
      { ...widgetsCrd, metadata: { name: "gizmos.lab.gitfleet.io" }, spec: { ...(widgetsCrd["spec"] as object), names: { kind: "Gizmo", plural: "gizmos" } } },
      { ...widget("g1", "gadgets", "big"), kind: "Gizmo" },
      configMap("gadget-settings", "gadgets"),
    ]);
    reconciler.setDesired(desired(gadgets));
    const result = (await reconciler.reconcileNow())?.bundles.find((x) => x.name === "gadgets");
    assert.equal(result?.sync, SyncState.FAILED);
    assert.match(result?.message ?? "", /Gizmo.lab.gitfleet.io gadgets\/g1: .*spec.size/);
    assert.equal(await kube.get(ref("lab.gitfleet.io/v1", "Gizmo", "gadgets", "g1")), undefined);
    assert.equal(await kube.get(ref("v1", "ConfigMap", "gadgets", "gadget-settings")), undefined);
  });

  it("prunes an object that left the bundle and leaves objects it never applied alone", async () => {
    await kube.apply(configMap("not-ours", "web"));
    const before = bundle("web", [namespace("web"), configMap("settings", "web"), configMap("extra", "web")]);
    reconciler.setDesired(desired(before));
    assert.equal((await reconciler.reconcileNow())?.bundles.find((x) => x.name === "web")?.sync, SyncState.SYNCED);
    assert.ok(await kube.get(ref("v1", "ConfigMap", "web", "extra")));

    const afterPrune = bundle("web", [namespace("web"), configMap("settings", "web")]);
    reconciler.setDesired(desired(afterPrune));
    const result = (await reconciler.reconcileNow())?.bundles.find((x) => x.name === "web");
    assert.equal(result?.sync, SyncState.SYNCED, result?.message);
    assert.equal(await kube.get(ref("v1", "ConfigMap", "web", "extra")), undefined);
    assert.deepEqual(result?.resources.filter((r) => r.sync === SyncState.PRUNED).map((r) => r.ref.name).sort(), ["extra"]);
    assert.ok(await kube.get(ref("v1", "ConfigMap", "web", "not-ours")), "an object outside the inventory stays");
    assert.ok(await kube.get(ref("v1", "ConfigMap", "web", "settings")));
  });

  it("puts a deleted object back on the next reconcile", async () => {
    assert.ok(await kube.delete(ref("v1", "ConfigMap", "web", "settings")));
    assert.equal(await kube.get(ref("v1", "ConfigMap", "web", "settings")), undefined);
    const result = (await reconciler.reconcileNow())?.bundles.find((b) => b.name === "web");
    assert.equal(result?.sync, SyncState.SYNCED);
    assert.deepEqual((await kube.get(ref("v1", "ConfigMap", "web", "settings")))?.["data"], { greeting: "hello" });
  });
});
