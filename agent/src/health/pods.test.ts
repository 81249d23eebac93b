import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HealthState } from "@gitfleet/proto";
import { assessHealth } from "../health.js";
import type { KubeObject } from "../kube-objects.js";

const { HEALTHY, PROGRESSING, DEGRADED } = HealthState;

function pod(status: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-7d9c-abcde", namespace: "web", generation: 1, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7d9c", uid: "1" }] },
    spec: { nodeName: "kwok-node-1", containers: [{ name: "web", image: "registry.example/web:1.1" }] },
    status,
  };
}
const scheduled = { type: "PodScheduled", status: "True" };
const readyConditions = [
  { type: "Initialized", status: "True" },
  { type: "Ready", status: "True" },
  { type: "ContainersReady", status: "True" },
  scheduled,
];
const notReady = [
  { type: "Initialized", status: "True" },
  { type: "Ready", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [web]" },
  { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [web]" },
  scheduled,
];
const waiting = (reason: string, message: string, restartCount = 0) => [
  { name: "web", image: "registry.example/web:1.1", ready: false, restartCount, started: false, state: { waiting: { reason, message } } },
];

describe("health of a Pod", () => {
  it("is healthy Running and Ready", () => {
    const running = [{ name: "web", ready: true, restartCount: 0, started: true, state: { running: { startedAt: "2026-05-01T10:00:00Z" } } }];
    assert.deepEqual(assessHealth(pod({ phase: "Running", conditions: readyConditions, containerStatuses: running })), { health: HEALTHY, message: "" });
  });

  it("is degraded while a container crash-loops", () => {
    const a = assessHealth(pod({ phase: "Running", conditions: notReady, containerStatuses: waiting("CrashLoopBackOff", "back-off 40s restarting failed container=web pod=web-7d9c-abcde", 3) }));
    assert.equal(a.health, DEGRADED);
    assert.equal(a.message, "container web CrashLoopBackOff after 3 restarts: back-off 40s restarting failed container=web pod=web-7d9c-abcde");
  });

  it("is degraded when its image cannot be pulled", () => {
    for (const reason of ["ImagePullBackOff", "ErrImagePull"]) {
      const a = assessHealth(pod({ phase: "Pending", conditions: notReady, containerStatuses: waiting(reason, 'Back-off pulling image "registry.example/web:1.1"') }));
      assert.equal(a.health, DEGRADED, reason);
      assert.match(a.message, new RegExp(`container web ${reason}: Back-off pulling image`));
    }
  });

  it("is degraded when a container's configuration is broken, init containers included", () => {
    const a = assessHealth(pod({
      phase: "Pending",
      conditions: notReady,
      initContainerStatuses: [{ name: "migrate", ready: false, restartCount: 0, state: { waiting: { reason: "CreateContainerConfigError", message: 'secret "db" not found' } } }],
    }));
    assert.deepEqual(a, { health: DEGRADED, message: 'container migrate CreateContainerConfigError: secret "db" not found' });
  });

  it("is degraded when it failed, and healthy when it succeeded", () => {
    const failed = assessHealth(pod({
      phase: "Failed",
      reason: "Evicted",
      message: "The node was low on resource: memory.",
      containerStatuses: [{ name: "web", ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: "OOMKilled" } } }],
    }));
    assert.deepEqual(failed, { health: DEGRADED, message: "failed: Evicted: The node was low on resource: memory.: container web exited with code 137" });
    assert.equal(assessHealth(pod({ phase: "Succeeded", containerStatuses: [{ name: "web", state: { terminated: { exitCode: 0, reason: "Completed" } } }] })).health, HEALTHY);
  });

  it("is progressing while pending or running but not ready", () => {
    assert.deepEqual(assessHealth(pod({ phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/2 nodes are available: 2 Insufficient cpu." }] })), {
      health: PROGRESSING,
      message: "pending: not scheduled (Unschedulable: 0/2 nodes are available: 2 Insufficient cpu.)",
    });
    assert.deepEqual(assessHealth(pod({ phase: "Pending", conditions: [scheduled], containerStatuses: waiting("ContainerCreating", "") })), { health: PROGRESSING, message: "pending" });
    const starting = [{ name: "web", ready: false, restartCount: 0, started: true, state: { running: { startedAt: "2026-05-01T10:00:00Z" } } }];
    assert.deepEqual(assessHealth(pod({ phase: "Running", conditions: notReady, containerStatuses: starting })), {
      health: PROGRESSING,
      message: "running, not ready (ContainersNotReady: containers with unready status: [web])",
    });
    assert.equal(assessHealth(pod({})).health, PROGRESSING);
  });
});

function job(status: Record<string, unknown> | undefined, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "migrate", namespace: "web", generation: 1 },
    spec: {
      completions: 2,
      parallelism: 2,
      backoffLimit: 1,
      completionMode: "NonIndexed",
      suspend: false,
      template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "registry.example/migrate:1" }] } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

describe("health of a Job", () => {
  it("is healthy once complete", () => {
    const done = {
      startTime: "2026-05-01T10:00:00Z",
      completionTime: "2026-05-01T10:00:04Z",
      succeeded: 2,
      ready: 0,
      terminating: 0,
      conditions: [
        { type: "SuccessCriteriaMet", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods" },
        { type: "Complete", status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods" },
      ],
    };
    assert.deepEqual(assessHealth(job(done)), { health: HEALTHY, message: "complete: 2 of 2 succeeded, 0 active, 0 failed" });
  });

  it("is degraded once failed, or once the controller has decided it fails", () => {
    const failed = {
      startTime: "2026-05-01T10:00:00Z",
      failed: 2,
      conditions: [
        { type: "FailureTarget", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" },
        { type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" },
      ],
    };
    assert.deepEqual(assessHealth(job(failed)), { health: DEGRADED, message: "failed: BackoffLimitExceeded: Job has reached the specified backoff limit" });
    const failing = { ...failed, conditions: failed.conditions.slice(0, 1), terminating: 1 };
    assert.equal(assessHealth(job(failing)).health, DEGRADED);
  });

  it("is progressing until then, and says when it is suspended", () => {
    assert.deepEqual(assessHealth(job(undefined)), { health: PROGRESSING, message: "waiting for the job to start" });
    assert.deepEqual(assessHealth(job({ startTime: "2026-05-01T10:00:00Z", active: 2, ready: 2 })), { health: PROGRESSING, message: "running: 0 of 2 succeeded, 2 active, 0 failed" });
    const suspended = { conditions: [{ type: "Suspended", status: "True", reason: "JobSuspended", message: "Job suspended" }] };
    assert.deepEqual(assessHealth(job(suspended, { suspend: true })), { health: PROGRESSING, message: "suspended: 0 of 2 succeeded, 0 active, 0 failed" });
  });
});
