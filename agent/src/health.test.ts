import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HealthState } from "@gitfleet/proto";
import { assessHealth, worstHealth } from "./health.js";

describe("health", () => {
  it("counts an object without status semantics as healthy once it exists", () => {
    assert.equal(assessHealth({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }).health, HealthState.HEALTHY);
  });

  it("reads CRD conditions", () => {
    const crd = (conditions: object[]) => ({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "x" }, status: { conditions } });
    assert.equal(assessHealth(crd([{ type: "Established", status: "True" }])).health, HealthState.HEALTHY);
    assert.equal(assessHealth(crd([])).health, HealthState.PROGRESSING);
    assert.equal(assessHealth(crd([{ type: "NamesAccepted", status: "False", message: "clash" }])).health, HealthState.DEGRADED);
  });

  it("reads a Deployment's rollout", () => {
    const deployment = (status: object) => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x", generation: 2 }, spec: { replicas: 2 }, status });
    assert.equal(assessHealth(deployment({})).health, HealthState.PROGRESSING);
    assert.equal(assessHealth(deployment({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 1 })).health, HealthState.PROGRESSING);
    assert.equal(assessHealth(deployment({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2 })).health, HealthState.HEALTHY);
    assert.equal(
      assessHealth(deployment({ observedGeneration: 2, conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }] })).health,
      HealthState.DEGRADED,
    );
  });

  it("ranks the worst state", () => {
    assert.equal(worstHealth([HealthState.HEALTHY, HealthState.PROGRESSING, HealthState.UNKNOWN]), HealthState.PROGRESSING);
    assert.equal(worstHealth([]), HealthState.HEALTHY);
    assert.equal(worstHealth([HealthState.MISSING, HealthState.DEGRADED]), HealthState.DEGRADED);
  });
});
