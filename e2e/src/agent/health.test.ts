// Health on a lab cluster that runs workloads: objects applied with the agent's kube client go
// from PROGRESSING to HEALTHY as the real controllers roll them out (kwok's fake nodes run the
// pods), a new generation is never healthy before it has rolled out, and pods that crash-loop
// make their pods and, at its progress deadline, their Deployment DEGRADED.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assessHealth, createKubeClient, formatRef, refOf } from "@gitfleet/agent";
import type { HealthAssessment, KubeClient, KubeObject } from "@gitfleet/agent";
import { HealthState } from "@gitfleet/proto";
import { kubeConfigFor } from "../kube-client.js";
import { startLab, type Lab } from "../lab/lab.js";
import { waitFor } from "../lab/process.js";
import { failAnnotation } from "../lab/workloads.js";

// The machine running the lab may be busy: deadlines are generous, and each says what it awaited.
const rollout = 120_000;
const { HEALTHY, DEGRADED } = HealthState;
const stateName = (h: HealthState): string => HealthState[h] ?? String(h);

interface Observation {
  assessment: HealthAssessment;
  live: KubeObject;
}

/**
 * Reads the object until its health is `wanted`, recording every change of health (the apply
 * answer's first). `check` runs on each observation, e.g. to refuse a HEALTHY too early.
 */
async function healthUntil(
  kube: KubeClient,
  applied: KubeObject,
  wanted: HealthState,
  check: (o: Observation) => void = () => {},
): Promise<{ history: string[]; messages: string[]; last: Observation }> {
  const first = { assessment: assessHealth(applied), live: applied };
  check(first);
  const history = [stateName(first.assessment.health)];
  const messages = [first.assessment.message];
  let last: Observation = first;
  try {
    await waitFor(
      async () => {
        const live = (await kube.get(refOf(applied))) ?? assert.fail(`${formatRef(refOf(applied))} is gone`);
        last = { assessment: assessHealth(live), live };
        check(last);
        const name = stateName(last.assessment.health);
        if (history.at(-1) !== name) history.push(name);
        if (messages.at(-1) !== last.assessment.message) messages.push(last.assessment.message);
        return last.assessment.health === wanted;
      },
      { what: `${formatRef(refOf(applied))} to be ${stateName(wanted)}`, timeoutMs: rollout, intervalMs: 200 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; health so far ${history.join(" → ")}, last: ${last.assessment.message}; status ${JSON.stringify(last.live["status"])}`, { cause: err });
  }
  return { history, messages, last };
}

const podTemplate = (app: string, image: string, annotations: Record<string, string> = {}) => ({
  metadata: { labels: { app }, annotations },
  spec: { containers: [{ name: "app", image }] },
});

function deployment(name: string, image: string, extra: { annotations?: Record<string, string>; progressDeadlineSeconds?: number; minReadySeconds?: number } = {}): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "apps" },
    spec: {
      replicas: 2,
      ...(extra.progressDeadlineSeconds === undefined ? {} : { progressDeadlineSeconds: extra.progressDeadlineSeconds }),
      ...(extra.minReadySeconds === undefined ? {} : { minReadySeconds: extra.minReadySeconds, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }),
      selector: { matchLabels: { app: name } },
      template: podTemplate(name, image, extra.annotations),
    },
  };
}

const statusOf = (o: KubeObject): Record<string, unknown> => (o["status"] ?? {}) as Record<string, unknown>;

describe("health of workloads on a lab cluster", { timeout: 600_000 }, () => {
  let lab: Lab;
  let kube: KubeClient;

  before(async () => {
    lab = await startLab({ clusters: 1 });
    kube = createKubeClient({ kubeConfig: kubeConfigFor(lab.info().clusters[0] ?? assert.fail("the lab has a cluster")) });
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } });
  });

  after(async () => {
    await lab?.stop();
  });

  test("a Deployment goes from PROGRESSING to HEALTHY, and its next generation is not healthy before it has rolled out", async () => {
    // kwok makes pods ready at once; minReadySeconds keeps each new pod unavailable for a moment,
    // so the rollout takes long enough to be seen half done.
    const web = (image: string) => deployment("web", image, { minReadySeconds: 2 });
    const first = await healthUntil(kube, await kube.apply(web("registry.example/web:1.0")), HEALTHY);
    assert.equal(first.history[0], "PROGRESSING", "the apply answer is a generation no controller has seen yet");
    assert.equal(statusOf(first.last.live)["availableReplicas"], 2);

    // A new pod template: generation 2. Every HEALTHY seen must describe it fully rolled out.
    const applied = await kube.apply(web("registry.example/web:1.1"));
    assert.equal(applied.metadata["generation"], 2);
    const second = await healthUntil(kube, applied, HEALTHY, ({ assessment, live }) => {
      if (assessment.health !== HEALTHY) return;
      const status = statusOf(live);
      assert.equal(status["observedGeneration"], 2, "healthy only once generation 2 is observed");
      assert.equal(status["updatedReplicas"], 2, "healthy only once every replica runs generation 2");
      assert.equal(status["replicas"], 2, "healthy only once the old replicas are gone");
    });
    assert.deepEqual(second.history, ["PROGRESSING", "HEALTHY"]);
    assert.ok(
      second.messages.some((m) => /updated|available|old replicas/.test(m)),
      `the rollout was seen half done, not only before the controller saw it: ${second.messages.join(" | ")}`,
    );
    const pods = await kube.list({ apiVersion: "v1", kind: "Pod", namespace: "apps", labelSelector: "app=web" });
    const running = pods.filter((p) => p.metadata["deletionTimestamp"] === undefined);
    assert.equal(running.length, 2);
    for (const pod of running) {
      const image = ((pod["spec"] as { containers: Array<{ image: string }> }).containers[0] ?? assert.fail("a container")).image;
      assert.equal(image, "registry.example/web:1.1", `pod ${pod.metadata.name} runs the new template`);
      assert.equal(assessHealth(pod).health, HEALTHY, `pod ${pod.metadata.name} is Running and Ready`);
    }
  });

  test("a StatefulSet, a DaemonSet and a Job go from PROGRESSING to HEALTHY", async () => {
    await kube.apply({ apiVersion: "v1", kind: "Service", metadata: { name: "db", namespace: "apps" }, spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 5432 }] } });
    const statefulSet = await kube.apply({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "apps" },
      spec: { serviceName: "db", replicas: 2, selector: { matchLabels: { app: "db" } }, template: podTemplate("db", "registry.example/db:1.0") },
    });
    const daemonSet = await kube.apply({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "node-agent", namespace: "apps" },
      spec: { selector: { matchLabels: { app: "node-agent" } }, template: podTemplate("node-agent", "registry.example/agent:1.0") },
    });
    const job = await kube.apply({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "migrate", namespace: "apps" },
      spec: {
        completions: 2,
        parallelism: 1,
        backoffLimit: 0,
        template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "registry.example/migrate:1.0" }] } },
      },
    });

    const sts = await healthUntil(kube, statefulSet, HEALTHY);
    assert.equal(sts.history[0], "PROGRESSING");
    assert.equal(statusOf(sts.last.live)["readyReplicas"], 2);
    assert.equal(statusOf(sts.last.live)["currentRevision"], statusOf(sts.last.live)["updateRevision"]);

    const ds = await healthUntil(kube, daemonSet, HEALTHY);
    assert.equal(ds.history[0], "PROGRESSING");
    assert.equal(statusOf(ds.last.live)["numberAvailable"], statusOf(ds.last.live)["desiredNumberScheduled"]);

    const done = await healthUntil(kube, job, HEALTHY, ({ assessment, live }) => {
      if (assessment.health === HEALTHY) assert.equal(statusOf(live)["succeeded"], 2, "healthy only once both completions succeeded");
    });
    assert.equal(done.history[0], "PROGRESSING");
    assert.match(done.last.assessment.message, /^complete: 2 of 2 succeeded/);
  });

  test(`a Deployment whose pods crash-loop (${failAnnotation}) is never HEALTHY, its pods are DEGRADED, and it is DEGRADED at its progress deadline`, async () => {
    const applied = await kube.apply(deployment("broken", "registry.example/web:1.0", { annotations: { [failAnnotation]: "true" }, progressDeadlineSeconds: 10 }));
    const result = await healthUntil(kube, applied, DEGRADED, ({ assessment }) => {
      assert.notEqual(assessment.health, HEALTHY, `the Deployment was reported healthy: ${assessment.message}`);
    });
    assert.equal(result.history[0], "PROGRESSING");
    assert.match(result.last.assessment.message, /ProgressDeadlineExceeded/);

    const pods = await kube.list({ apiVersion: "v1", kind: "Pod", namespace: "apps", labelSelector: "app=broken" });
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      const { health, message } = assessHealth(pod);
      assert.equal(health, DEGRADED, `pod ${pod.metadata.name}: ${message}`);
      assert.match(message, /container app CrashLoopBackOff/);
    }
  });

  test(`a Job whose pod fails (${failAnnotation}) goes from PROGRESSING to DEGRADED`, async () => {
    const applied = await kube.apply({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "doomed", namespace: "apps" },
      spec: {
        backoffLimit: 0,
        template: { metadata: { annotations: { [failAnnotation]: "true" } }, spec: { restartPolicy: "Never", containers: [{ name: "doomed", image: "registry.example/doomed:1.0" }] } },
      },
    });
    const result = await healthUntil(kube, applied, DEGRADED, ({ assessment }) => assert.notEqual(assessment.health, HEALTHY));
    assert.equal(result.history[0], "PROGRESSING");
    assert.match(result.last.assessment.message, /BackoffLimitExceeded/);
  });
});
