// The simulated object store is only useful if the agent's own drift and health code reads it
// the way it reads a kube-apiserver: checked here with the agent's drift monitor and health rules.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BUNDLE_ANNOTATION, assessHealth, createDriftMonitor, refOf } from "@gitfleet/agent";
import type { KubeObject, TrackedBundle } from "@gitfleet/agent";
import { HealthState } from "@gitfleet/proto";
import { createSimKube } from "./sim-kube.js";

const annotations = { [BUNDLE_ANNOTATION]: "app" };
const namespace: KubeObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "app", annotations } };
const config: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "config", namespace: "app", annotations }, data: { release: "1" } };
const deployment: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "app", annotations },
  spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "web:1" }] } } },
};

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

void describe("the simulated object store, read by the agent's own code", () => {
  test("refuses namespaced objects before their namespace, and kinds no CRD defined", async () => {
    const kube = createSimKube();
    await assert.rejects(kube.apply(config), /namespaces "app" not found/);
    await assert.rejects(kube.apply({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }), /could not find the requested resource/);
    await kube.apply({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: { group: "example.com", scope: "Cluster", names: { kind: "Widget", plural: "widgets" }, versions: [{ name: "v1" }] },
    });
    assert.equal(await kube.isNamespaced("example.com/v1", "Widget"), false);
  });

  test("a dry run stores nothing; an apply stores the object with a generation and a healthy status", async () => {
    const kube = createSimKube();
    await kube.apply(namespace);
    await kube.apply(deployment, { dryRun: true });
    assert.equal(await kube.get(refOf(deployment)), undefined);
    const live = await kube.apply(deployment);
    assert.equal(live.metadata["generation"], 1);
    assert.equal(assessHealth(live).health, HealthState.HEALTHY);
    assert.equal(kube.objects.size, 2);
  });

  test("drift made by another field manager is found by the agent's drift monitor and named", async () => {
    const kube = createSimKube();
    for (const o of [namespace, config, deployment]) await kube.apply(o);
    const changes: string[] = [];
    const monitor = createDriftMonitor({ kube, onChange: (b) => changes.push(b), onCorrection: () => {} });
    const bundle: TrackedBundle = {
      name: "app",
      digest: "d1",
      revision: "r1",
      mode: "report",
      ignore: [],
      objects: [config, deployment].map((object) => ({ ref: refOf(object), object })),
    };
    const applied = new Map<string, KubeObject>();
    monitor.track(bundle, applied);
    await monitor.verify("app");
    await until("both objects in sync", () => monitor.objects("app").every((o) => o.state === "in-sync"));
    assert.equal(kube.drift(1), 1);
    await until("one object drifted", () => monitor.objects("app").some((o) => o.state === "drifted"));
    const drifted = monitor.objects("app").find((o) => o.state === "drifted");
    assert.equal(drifted?.fields[0]?.manager, "kubectl-edit");
    assert.notDeepEqual(drifted?.fields[0]?.live, drifted?.fields[0]?.desired);
    await monitor.stop();
  });

  test("failHealth degrades the workloads as a failed rollout would; restoreHealth heals them", async () => {
    const kube = createSimKube();
    for (const o of [namespace, config, deployment]) await kube.apply(o);
    assert.equal(kube.failHealth(), 1, "only the workload fails when there is one");
    assert.equal(assessHealth((await kube.get(refOf(deployment)))!).health, HealthState.DEGRADED);
    assert.equal(kube.restoreHealth(), 1);
    assert.equal(assessHealth((await kube.get(refOf(deployment)))!).health, HealthState.HEALTHY);
  });
});
