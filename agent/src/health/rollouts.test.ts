import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HealthState } from "@gitfleet/proto";
import { assessHealth } from "../health.js";
import type { KubeObject } from "../kube-objects.js";

const { HEALTHY, PROGRESSING, DEGRADED } = HealthState;

// Shaped like what kube-controller-manager writes; `status` replaces the whole status.
function deployment(generation: number, status: Record<string, unknown> | undefined, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "web", generation, uid: "4f6c", resourceVersion: "812" },
    spec: {
      replicas: 3,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: "web" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "registry.example/web:1.1" }] } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

const available = { type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability." };
const complete = { type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: 'ReplicaSet "web-7d9c" has successfully progressed.' };
const rolling = { type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: 'ReplicaSet "web-5b8f" is progressing.' };
const rolledOut = (generation: number) => ({
  observedGeneration: generation,
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [available, complete],
});

describe("health of a Deployment", () => {
  it("is healthy once every replica runs the current generation and is available", () => {
    assert.deepEqual(assessHealth(deployment(2, rolledOut(2))), { health: HEALTHY, message: "" });
  });

  it("is progressing before the controller has seen it at all", () => {
    const a = assessHealth(deployment(1, undefined));
    assert.equal(a.health, PROGRESSING);
    assert.match(a.message, /observe generation 1/);
  });

  it("is not healthy at a new generation while the status still describes the previous one", () => {
    // The spec just changed (generation 3); everything in status is about generation 2.
    const a = assessHealth(deployment(3, rolledOut(2)));
    assert.equal(a.health, PROGRESSING);
    assert.equal(a.message, "waiting for the controller to observe generation 3 (it has seen 2)");
  });

  it("is not healthy mid-rollout of a new generation, while old replicas still serve", () => {
    // Observed, but only one pod runs the new template; the old ReplicaSet still has three.
    const midRollout = { observedGeneration: 3, replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 1, conditions: [available, rolling] };
    const a = assessHealth(deployment(3, midRollout));
    assert.equal(a.health, PROGRESSING);
    assert.equal(a.message, "1 of 3 replicas updated");
  });

  it("waits for the old replicas to go once every new one is up", () => {
    const a = assessHealth(deployment(3, { observedGeneration: 3, replicas: 4, updatedReplicas: 3, readyReplicas: 4, availableReplicas: 4, conditions: [available, rolling] }));
    assert.equal(a.health, PROGRESSING);
    assert.equal(a.message, "1 old replicas pending termination");
  });

  it("waits for updated replicas to become available and ready", () => {
    const notAvailable = assessHealth(deployment(3, { observedGeneration: 3, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 2, conditions: [available, rolling] }));
    assert.deepEqual(notAvailable, { health: PROGRESSING, message: "2 of 3 updated replicas available" });
    const scaledUp = assessHealth(deployment(4, { observedGeneration: 4, replicas: 5, updatedReplicas: 5, readyReplicas: 3, availableReplicas: 3, conditions: [available, complete] }, { replicas: 5 }));
    assert.deepEqual(scaledUp, { health: PROGRESSING, message: "3 of 5 updated replicas available" });
  });

  it("waits for the Progressing condition to report the new ReplicaSet available", () => {
    const a = assessHealth(deployment(3, { ...rolledOut(3), conditions: [available, rolling] }));
    assert.equal(a.health, PROGRESSING);
    assert.match(a.message, /ReplicaSetUpdated/);
  });

  it("is degraded once its progress deadline is exceeded", () => {
    const stuck = {
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      unavailableReplicas: 3,
      conditions: [
        { type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability." },
        { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "web-7d9c" has timed out progressing.' },
      ],
    };
    assert.deepEqual(assessHealth(deployment(2, stuck)), { health: DEGRADED, message: 'ProgressDeadlineExceeded: ReplicaSet "web-7d9c" has timed out progressing.' });
  });

  it("reads a missing replicas as 1 and accepts zero replicas", () => {
    const one = deployment(1, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1, conditions: [available, complete] });
    delete (one["spec"] as Record<string, unknown>)["replicas"];
    assert.equal(assessHealth(one).health, HEALTHY);
    assert.equal(assessHealth(deployment(2, { observedGeneration: 2, conditions: [available, complete] }, { replicas: 0 })).health, HEALTHY);
    // Scaled to zero before the controller saw it: not healthy yet, whatever the counts say.
    assert.equal(assessHealth(deployment(2, undefined, { replicas: 0 })).health, PROGRESSING);
  });

  it("says when a rollout is paused", () => {
    const a = assessHealth(deployment(3, { observedGeneration: 3, replicas: 3, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3, conditions: [available] }, { paused: true }));
    assert.deepEqual(a, { health: PROGRESSING, message: "1 of 3 replicas updated (rollout paused)" });
  });

  it("is healthy without a Progressing condition when no progress deadline is set", () => {
    assert.equal(assessHealth(deployment(2, { ...rolledOut(2), conditions: [available] })).health, HEALTHY);
  });
});

function statefulSet(status: Record<string, unknown> | undefined, spec: Record<string, unknown> = {}, generation = 2): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "web", generation },
    spec: {
      replicas: 3,
      serviceName: "db",
      selector: { matchLabels: { app: "db" } },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "db", image: "registry.example/db:2" }] } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}
const stsDone = { observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3, currentRevision: "db-6c9f", updateRevision: "db-6c9f", collisionCount: 0 };

describe("health of a StatefulSet", () => {
  it("is healthy with every replica ready at the update revision", () => {
    assert.deepEqual(assessHealth(statefulSet(stsDone)), { health: HEALTHY, message: "" });
  });

  it("is progressing before it is observed, and while replicas are created or get ready", () => {
    assert.equal(assessHealth(statefulSet(undefined)).health, PROGRESSING);
    assert.deepEqual(assessHealth(statefulSet({ ...stsDone, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2, availableReplicas: 2 })), { health: PROGRESSING, message: "2 of 3 replicas created" });
    assert.deepEqual(assessHealth(statefulSet({ ...stsDone, readyReplicas: 1, availableReplicas: 1 })), { health: PROGRESSING, message: "1 of 3 replicas ready" });
  });

  it("is progressing while pods still run the previous revision", () => {
    // A rolling update replaces pods from the highest ordinal down: db-2 is updated, db-1 and db-0 not yet.
    const rolling = { ...stsDone, observedGeneration: 3, currentReplicas: 2, updatedReplicas: 1, currentRevision: "db-6c9f", updateRevision: "db-85d4" };
    assert.deepEqual(assessHealth(statefulSet(rolling, {}, 3)), { health: PROGRESSING, message: "1 of 3 replicas updated" });
    const lastStep = { ...stsDone, observedGeneration: 3, updatedReplicas: 3, currentRevision: "db-6c9f", updateRevision: "db-85d4" };
    assert.deepEqual(assessHealth(statefulSet(lastStep, {}, 3)), { health: PROGRESSING, message: "rolling out revision db-85d4 (current db-6c9f)" });
  });

  it("is healthy once the replicas above a partition are updated", () => {
    const spec = { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } } };
    const canary = { ...stsDone, observedGeneration: 3, currentReplicas: 2, updatedReplicas: 1, updateRevision: "db-85d4" };
    assert.deepEqual(assessHealth(statefulSet(canary, spec, 3)), { health: HEALTHY, message: "partitioned rollout: 1 of 3 replicas updated" });
    assert.equal(assessHealth(statefulSet({ ...canary, updatedReplicas: 0, currentReplicas: 3 }, spec, 3)).health, PROGRESSING);
  });

  it("does not wait for an update an OnDelete strategy leaves to the user", () => {
    const spec = { updateStrategy: { type: "OnDelete" } };
    const old = { ...stsDone, observedGeneration: 3, updatedReplicas: 0, updateRevision: "db-85d4" };
    assert.equal(assessHealth(statefulSet(old, spec, 3)).health, HEALTHY);
  });

  it("waits for extra replicas to terminate after a scale down", () => {
    assert.deepEqual(assessHealth(statefulSet({ ...stsDone, replicas: 4, readyReplicas: 4 })), { health: PROGRESSING, message: "1 extra replicas pending termination" });
  });
});

function daemonSet(status: Record<string, unknown> | undefined, generation = 1): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "node-agent", namespace: "kube-system", generation },
    spec: {
      selector: { matchLabels: { app: "node-agent" } },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template: { metadata: { labels: { app: "node-agent" } }, spec: { containers: [{ name: "agent", image: "registry.example/agent:3" }] } },
    },
    ...(status ? { status } : {}),
  };
}
const dsDone = { observedGeneration: 1, desiredNumberScheduled: 2, currentNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberReady: 2, numberMisscheduled: 0 };

describe("health of a DaemonSet", () => {
  it("is healthy with an updated, available pod on every node", () => {
    assert.deepEqual(assessHealth(daemonSet(dsDone)), { health: HEALTHY, message: "" });
  });

  it("is progressing before it is observed", () => {
    assert.equal(assessHealth(daemonSet(undefined)).health, PROGRESSING);
    assert.equal(assessHealth(daemonSet({ ...dsDone, observedGeneration: 1 }, 2)).health, PROGRESSING);
  });

  it("is progressing while pods are updated or become available", () => {
    assert.deepEqual(assessHealth(daemonSet({ ...dsDone, observedGeneration: 2, updatedNumberScheduled: 1 }, 2)), { health: PROGRESSING, message: "1 of 2 pods updated" });
    assert.deepEqual(assessHealth(daemonSet({ ...dsDone, numberAvailable: 1, numberReady: 1, numberUnavailable: 1 })), { health: PROGRESSING, message: "1 of 2 pods available" });
    assert.deepEqual(assessHealth(daemonSet({ ...dsDone, currentNumberScheduled: 1 })), { health: PROGRESSING, message: "1 of 2 pods scheduled" });
  });
});

function replicaSet(status: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "web-7d9c", namespace: "web", generation: 1 },
    spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "w" }] } } },
    status,
  };
}

describe("health of a ReplicaSet", () => {
  it("is healthy with its replicas ready and available", () => {
    assert.equal(assessHealth(replicaSet({ observedGeneration: 1, replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2 })).health, HEALTHY);
  });

  it("is progressing while replicas get ready, and says why pods cannot be created", () => {
    assert.deepEqual(assessHealth(replicaSet({ observedGeneration: 1, replicas: 2, readyReplicas: 1, availableReplicas: 1 })), { health: PROGRESSING, message: "1 of 2 replicas ready" });
    const quota = {
      observedGeneration: 1,
      replicas: 0,
      conditions: [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: 'pods "web-7d9c-x" is forbidden: exceeded quota: pods' }],
    };
    const a = assessHealth(replicaSet(quota));
    assert.equal(a.health, PROGRESSING);
    assert.match(a.message, /FailedCreate: .*exceeded quota/);
  });
});
