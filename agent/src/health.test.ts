import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HealthState } from "@gitfleet/proto";
import { assessHealth, worstHealth } from "./health.js";
import type { KubeObject } from "./kube-objects.js";

const { HEALTHY, PROGRESSING, DEGRADED } = HealthState;

// A custom resource as a kstatus-style controller (Flux, Crossplane, cert-manager...) writes it.
function widget(generation: number, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "lab.gitfleet.io/v1",
    kind: "Widget",
    metadata: { name: "w1", namespace: "web", generation },
    spec: { size: 3 },
    ...(status ? { status } : {}),
  };
}
const cond = (type: string, status: string, reason = "", message = "", observedGeneration?: number) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: "2026-05-01T10:00:00Z",
  ...(observedGeneration === undefined ? {} : { observedGeneration }),
});

describe("health", () => {
  it("counts an object without status semantics as healthy once it exists", () => {
    assert.equal(assessHealth({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }).health, HEALTHY);
    assert.equal(assessHealth({ apiVersion: "v1", kind: "Secret", metadata: { name: "x", namespace: "web" }, type: "Opaque" }).health, HEALTHY);
    assert.equal(assessHealth({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "x", namespace: "web" }, rules: [] }).health, HEALTHY);
  });

  it("reads CRD conditions", () => {
    const crd = (conditions: object[]) => ({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "x", generation: 1 }, status: { conditions } });
    assert.equal(assessHealth(crd([{ type: "Established", status: "True" }])).health, HEALTHY);
    assert.equal(assessHealth(crd([])).health, PROGRESSING);
    assert.equal(assessHealth(crd([{ type: "Established", status: "False", reason: "Installing" }])).health, PROGRESSING);
    assert.equal(assessHealth(crd([{ type: "NamesAccepted", status: "False", message: "clash" }])).health, DEGRADED);
  });

  it("reads a Deployment's rollout", () => {
    const deployment = (status: object) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x", generation: 2 }, spec: { replicas: 2 }, status });
    assert.equal(assessHealth(deployment({})).health, PROGRESSING);
    assert.equal(assessHealth(deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 1 })).health, PROGRESSING);
    assert.equal(assessHealth(deployment({ observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 })).health, HEALTHY);
    assert.equal(
      assessHealth(deployment({ observedGeneration: 2, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }] })).health,
      DEGRADED,
    );
  });

  it("is progressing while an object is being deleted", () => {
    const a = assessHealth({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", deletionTimestamp: "2026-05-01T10:00:00Z", finalizers: ["example.com/keep"] } });
    assert.deepEqual(a, { health: PROGRESSING, message: "being deleted since 2026-05-01T10:00:00Z" });
    assert.equal(assessHealth({ apiVersion: "v1", kind: "Namespace", metadata: { name: "web" }, status: { phase: "Terminating" } }).health, PROGRESSING);
    assert.equal(assessHealth({ apiVersion: "v1", kind: "Namespace", metadata: { name: "web" }, status: { phase: "Active" } }).health, HEALTHY);
  });

  it("is progressing while any object's observedGeneration lags its generation", () => {
    const a = assessHealth(widget(4, { observedGeneration: 3, conditions: [cond("Ready", "True", "Succeeded", "", 3)] }));
    assert.deepEqual(a, { health: PROGRESSING, message: "waiting for the controller to observe generation 4 (it has seen 3)" });
  });

  it("reads a PersistentVolumeClaim's phase", () => {
    const pvc = (phase?: string): KubeObject => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: "web" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: "standard" },
      ...(phase ? { status: { phase, ...(phase === "Bound" ? { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"] } : {}) } } : {}),
    });
    assert.equal(assessHealth(pvc("Bound")).health, HEALTHY);
    assert.deepEqual(assessHealth(pvc("Pending")), { health: PROGRESSING, message: "claim pending: not bound to a volume yet" });
    assert.equal(assessHealth(pvc()).health, PROGRESSING);
    assert.equal(assessHealth(pvc("Lost")).health, DEGRADED);
  });

  it("waits for a LoadBalancer Service's ingress, not for other Services", () => {
    const service = (type: string, status: Record<string, unknown>): KubeObject => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "web" },
      spec: { type, clusterIP: "10.96.4.7", clusterIPs: ["10.96.4.7"], selector: { app: "web" }, ports: [{ port: 80, protocol: "TCP", targetPort: 8080 }] },
      status,
    });
    assert.deepEqual(assessHealth(service("LoadBalancer", { loadBalancer: {} })), { health: PROGRESSING, message: "waiting for the load balancer's ingress address" });
    assert.equal(assessHealth(service("LoadBalancer", { loadBalancer: { ingress: [{ ip: "203.0.113.9", ipMode: "VIP" }] } })).health, HEALTHY);
    assert.equal(assessHealth(service("ClusterIP", { loadBalancer: {} })).health, HEALTHY);
  });

  it("ranks the worst state", () => {
    assert.equal(worstHealth([HEALTHY, PROGRESSING, HealthState.UNKNOWN]), PROGRESSING);
    assert.equal(worstHealth([]), HEALTHY);
    assert.equal(worstHealth([HealthState.MISSING, DEGRADED]), DEGRADED);
  });
});

describe("health of a custom resource, from its conditions", () => {
  it("is degraded when Stalled, progressing when Reconciling", () => {
    const stalled = widget(2, { observedGeneration: 2, conditions: [cond("Stalled", "True", "InvalidSpec", "size must be even"), cond("Ready", "False", "InvalidSpec", "size must be even")] });
    assert.deepEqual(assessHealth(stalled), { health: DEGRADED, message: "InvalidSpec: size must be even" });
    const reconciling = widget(2, { observedGeneration: 2, conditions: [cond("Reconciling", "True", "Progressing", "creating 3 parts"), cond("Ready", "False", "Failed", "old error")] });
    assert.deepEqual(assessHealth(reconciling), { health: PROGRESSING, message: "Progressing: creating 3 parts" });
  });

  it("is healthy when Ready=True", () => {
    assert.deepEqual(assessHealth(widget(2, { observedGeneration: 2, conditions: [cond("Reconciling", "False"), cond("Ready", "True", "Succeeded", "all parts ready")] })), { health: HEALTHY, message: "" });
  });

  it("is degraded when Ready=False at the observed generation with nothing reconciling", () => {
    // The controller has seen this spec, says it is not ready, and is not working on it: failed.
    const byStatus = widget(2, { observedGeneration: 2, conditions: [cond("Ready", "False", "DependencyMissing", "secret db not found")] });
    assert.deepEqual(assessHealth(byStatus), { health: DEGRADED, message: "DependencyMissing: secret db not found" });
    const byCondition = widget(2, { conditions: [cond("Ready", "False", "DependencyMissing", "secret db not found", 2)] });
    assert.equal(assessHealth(byCondition).health, DEGRADED);
  });

  it("is progressing when Ready=False names work in progress, or cannot be tied to the generation", () => {
    assert.equal(assessHealth(widget(2, { observedGeneration: 2, conditions: [cond("Ready", "False", "Provisioning", "creating the bucket")] })).health, PROGRESSING);
    assert.equal(assessHealth(widget(2, { observedGeneration: 2, conditions: [cond("Ready", "False", "WaitingForDependencies")] })).health, PROGRESSING);
    assert.equal(assessHealth(widget(2, { conditions: [cond("Ready", "False", "DependencyMissing", "secret db not found")] })).health, PROGRESSING);
    assert.equal(assessHealth(widget(2, { observedGeneration: 2, conditions: [cond("Ready", "Unknown", "Reconciling")] })).health, PROGRESSING);
  });

  it("is degraded when Ready=False names a failure, observed or not", () => {
    assert.equal(assessHealth(widget(2, { conditions: [cond("Ready", "False", "ReconciliationFailed", "apply failed")] })).health, DEGRADED);
    assert.equal(assessHealth(widget(2, { conditions: [cond("Ready", "False", "UpdateFailed", "quota")] })).health, DEGRADED);
  });

  it("is healthy without any standard condition", () => {
    assert.equal(assessHealth(widget(2, { observedGeneration: 2, conditions: [cond("Synced", "True")] })).health, HEALTHY);
    assert.equal(assessHealth(widget(1)).health, HEALTHY);
  });
});
