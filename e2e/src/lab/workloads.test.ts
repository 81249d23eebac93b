// Lab clusters run workloads: the real controller manager and scheduler with kwok's fake nodes
// take Deployments, Jobs, StatefulSets and DaemonSets through their real lifecycle, and a pod
// marked to fail makes a rollout really unhealthy.
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, type KubeConfig, type KubernetesObject, type V1Pod } from "@kubernetes/client-node";
import { kubeConfigFor, readObject, serverSideApply } from "../kube-client.js";
import { startLab, type Lab } from "./lab.js";
import { waitFor } from "./process.js";
import { isAlive } from "./state.js";
import { failAnnotation } from "./workloads.js";

// The machine running the lab may be busy: deadlines are generous, and each says what it awaited.
const rollout = 120_000;

interface Condition {
  type: string;
  status: string;
  reason?: string;
}
type Live = KubernetesObject & { status?: Record<string, unknown> & { conditions?: Condition[] } };

const conditionOf = (o: Live | undefined, type: string): Condition | undefined =>
  o?.status?.conditions?.find((c) => c.type === type);

/** Waits until the object exists and `check` holds, and returns it. */
async function waitForObject(
  kc: KubeConfig,
  ref: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
  what: string,
  check: (o: Live) => boolean,
): Promise<Live> {
  let last: Live | undefined;
  try {
    return await waitFor(
      async () => {
        last = await readObject<Live>(kc, ref);
        return last && check(last) ? last : undefined;
      },
      { what: `${ref.kind} ${ref.metadata.name}: ${what}`, timeoutMs: rollout, intervalMs: 250 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`, { cause: err });
  }
}

async function podsOf(kc: KubeConfig, namespace: string, app: string): Promise<V1Pod[]> {
  return (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
}

const podReady = (p: V1Pod): boolean => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** A Deployment; `annotations` go on its pods. A short progress deadline shows a stuck rollout soon. */
function deployment(namespace: string, name: string, replicas: number, annotations: Record<string, string> = {}): KubernetesObject {
  const stuckSoon = Object.keys(annotations).length > 0 ? { progressDeadlineSeconds: 15 } : {};
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      ...stuckSoon,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: { containers: [{ name: "app", image: "registry.example/web:1.0" }] },
      },
    },
  } as KubernetesObject;
}

describe("lab clusters run workloads", { timeout: 600_000 }, () => {
  let lab: Lab;
  let kc: KubeConfig;
  let nodes: string[];

  before(async () => {
    lab = await startLab({ clusters: 1, nodes: 2 });
    const cluster = lab.info().clusters[0] ?? assert.fail("the lab has a cluster");
    kc = kubeConfigFor(cluster);
    nodes = cluster.nodes;
    await serverSideApply(kc, { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" } });
  });

  after(async () => {
    await lab?.stop();
  });

  test("the cluster has two Ready kwok nodes", async () => {
    assert.deepEqual(nodes, ["kwok-node-1", "kwok-node-2"]);
    for (const name of nodes) {
      const node = await readObject<Live>(kc, { apiVersion: "v1", kind: "Node", metadata: { name } });
      assert.equal(conditionOf(node, "Ready")?.status, "True", `node ${name} is Ready`);
    }
  });

  test("a Deployment becomes Available with Running, Ready pods on the kwok nodes", async () => {
    await serverSideApply(kc, deployment("apps", "web", 3));
    const live = await waitForObject(kc, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "apps" } }, "3 available replicas and Available=True", (d) =>
      d.status?.["availableReplicas"] === 3 && conditionOf(d, "Available")?.status === "True",
    );
    assert.equal(conditionOf(live, "Progressing")?.reason, "NewReplicaSetAvailable");
    const pods = await podsOf(kc, "apps", "web");
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.equal(p.status?.phase, "Running", `pod ${p.metadata?.name} runs`);
      assert.ok(podReady(p), `pod ${p.metadata?.name} is Ready`);
      assert.ok(nodes.includes(p.spec?.nodeName ?? ""), `pod ${p.metadata?.name} is bound to a kwok node, not ${p.spec?.nodeName}`);
      assert.equal(p.metadata?.ownerReferences?.[0]?.kind, "ReplicaSet", "the pod belongs to the Deployment's ReplicaSet");
    }
  });

  test("a Job completes", async () => {
    await serverSideApply(kc, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "migrate", namespace: "apps" },
      spec: {
        completions: 2,
        parallelism: 2,
        backoffLimit: 0,
        template: { spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "registry.example/migrate:1.0" }] } },
      },
    } as KubernetesObject);
    const job = await waitForObject(kc, { apiVersion: "batch/v1", kind: "Job", metadata: { name: "migrate", namespace: "apps" } }, "Complete=True", (j) =>
      conditionOf(j, "Complete")?.status === "True",
    );
    assert.equal(job.status?.["succeeded"], 2);
  });

  test("a StatefulSet and a DaemonSet roll out", async () => {
    await serverSideApply(kc, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "db", namespace: "apps" },
      spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 5432 }] },
    } as KubernetesObject);
    await serverSideApply(kc, {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "apps" },
      spec: {
        serviceName: "db",
        replicas: 2,
        selector: { matchLabels: { app: "db" } },
        template: { metadata: { labels: { app: "db" } }, spec: { containers: [{ name: "db", image: "registry.example/db:1.0" }] } },
      },
    } as KubernetesObject);
    await serverSideApply(kc, {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: "apps" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: { metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "agent", image: "registry.example/agent:1.0" }] } },
      },
    } as KubernetesObject);

    const sts = await waitForObject(kc, { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "db", namespace: "apps" } }, "2 ready replicas at the update revision", (s) =>
      s.status?.["readyReplicas"] === 2 && s.status["updatedReplicas"] === 2 && s.status["currentRevision"] === s.status["updateRevision"],
    );
    assert.equal(sts.status?.["availableReplicas"], 2);
    assert.deepEqual((await podsOf(kc, "apps", "db")).map((p) => p.metadata?.name).sort(), ["db-0", "db-1"]);

    const ds = await waitForObject(kc, { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "agent", namespace: "apps" } }, "one ready pod per node", (d) =>
      d.status?.["desiredNumberScheduled"] === nodes.length && d.status["numberReady"] === nodes.length && d.status["updatedNumberScheduled"] === nodes.length,
    );
    assert.equal(ds.status?.["numberAvailable"], 2);
    assert.deepEqual((await podsOf(kc, "apps", "agent")).map((p) => p.spec?.nodeName).sort(), nodes);
  });

  test(`a pod annotated ${failAnnotation}: "true" crash-loops and its Deployment is not Available`, async () => {
    await serverSideApply(kc, deployment("apps", "broken", 2, { [failAnnotation]: "true" }));
    const ref = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "broken", namespace: "apps" } };
    const live = await waitForObject(kc, ref, "Available=False and Progressing=False (ProgressDeadlineExceeded)", (d) =>
      conditionOf(d, "Available")?.status === "False" && conditionOf(d, "Progressing")?.reason === "ProgressDeadlineExceeded",
    );
    assert.equal(conditionOf(live, "Available")?.reason, "MinimumReplicasUnavailable");
    assert.equal(live.status?.["availableReplicas"] ?? 0, 0);
    const pods = await podsOf(kc, "apps", "broken");
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.equal(p.status?.phase, "Running");
      assert.equal(podReady(p), false, `pod ${p.metadata?.name} is not Ready`);
      assert.equal(p.status?.containerStatuses?.[0]?.state?.waiting?.reason, "CrashLoopBackOff");
      assert.ok((p.status?.containerStatuses?.[0]?.restartCount ?? 0) > 0, "the container has restarted");
    }

    // The same Deployment without the annotation recovers: a new ReplicaSet rolls out for real.
    await serverSideApply(kc, deployment("apps", "broken", 2));
    await waitForObject(kc, ref, "Available=True after the fix", (d) =>
      d.status?.["availableReplicas"] === 2 && d.status["updatedReplicas"] === 2 && conditionOf(d, "Available")?.status === "True",
    );
  });

  test(`a Job whose pods are annotated ${failAnnotation}: "true" fails`, async () => {
    await serverSideApply(kc, {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "doomed", namespace: "apps" },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { annotations: { [failAnnotation]: "true" } },
          spec: { restartPolicy: "Never", containers: [{ name: "doomed", image: "registry.example/doomed:1.0" }] },
        },
      },
    } as KubernetesObject);
    const job = await waitForObject(kc, { apiVersion: "batch/v1", kind: "Job", metadata: { name: "doomed", namespace: "apps" } }, "Failed=True", (j) =>
      conditionOf(j, "Failed")?.status === "True",
    );
    assert.equal(conditionOf(job, "Failed")?.reason, "BackoffLimitExceeded");
    assert.equal(job.status?.["succeeded"] ?? 0, 0);
  });

  test("a new namespace gets its default ServiceAccount, and deleting it finishes", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await serverSideApply(kc, { apiVersion: "v1", kind: "Namespace", metadata: { name: "short-lived" } });
    await waitForObject(kc, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "short-lived" } }, "created by the controller manager", () => true);
    await serverSideApply(kc, deployment("short-lived", "web", 1));
    await waitForObject(kc, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "short-lived" } }, "Available=True", (d) =>
      conditionOf(d, "Available")?.status === "True",
    );
    await core.deleteNamespace({ name: "short-lived" });
    await waitFor(
      async () => (await readObject(kc, { apiVersion: "v1", kind: "Namespace", metadata: { name: "short-lived" } })) === undefined,
      { what: "namespace short-lived (with a running Deployment) to be gone", timeoutMs: rollout, intervalMs: 250 },
    );
    assert.deepEqual((await core.listNamespacedPod({ namespace: "short-lived" })).items, []);
  });

  test("a cluster added to the running lab runs workloads too", async () => {
    const extra = await lab.addCluster("extra");
    assert.deepEqual(extra.workloads?.nodes, ["kwok-node-1", "kwok-node-2"]);
    assert.equal(extra.processes.length, 4, "apiserver, controller manager, scheduler, kwok");
    const kcExtra = kubeConfigFor(lab.info().clusters.find((c) => c.name === "extra") ?? assert.fail("extra is listed"));
    await serverSideApply(kcExtra, deployment("default", "hello", 1));
    await waitForObject(kcExtra, { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "hello", namespace: "default" } }, "Available=True", (d) =>
      conditionOf(d, "Available")?.status === "True",
    );
  });

  test("stop() stops every component of every cluster and removes the lab's folder", async () => {
    const processes = lab.clusters.flatMap((c) => c.processes);
    assert.equal(processes.length, 8);
    const dir = lab.dir;
    await lab.stop();
    for (const p of processes) assert.equal(isAlive(p.pid), false, `${p.name} (pid ${p.pid}) is gone`);
    await assert.rejects(stat(dir), /ENOENT/);
  });
});

describe("a lab without workloads", { timeout: 300_000 }, () => {
  let lab: Lab;

  after(async () => {
    await lab?.stop();
  });

  test("starts bare apiservers that still store objects", async () => {
    lab = await startLab({ clusters: 1, workloads: false });
    const info = lab.info();
    assert.equal(info.workloads, false);
    const cluster = info.clusters[0] ?? assert.fail("the lab has a cluster");
    assert.deepEqual(cluster.nodes, []);
    assert.equal(lab.clusters[0]?.processes.length, 1, "only the apiserver runs");
    assert.equal(lab.clusters[0]?.workloads, undefined);
    const kc = kubeConfigFor(cluster);
    await serverSideApply(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "plain", namespace: "default" }, data: { a: "b" } });
    assert.ok(await readObject(kc, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "plain", namespace: "default" } }));
    assert.equal(
      await readObject(kc, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "default" } }),
      undefined,
      "no controller manager creates default ServiceAccounts",
    );
    const pid = lab.clusters[0]?.process.pid ?? assert.fail("apiserver pid");
    const dir = lab.dir;
    await lab.stop();
    assert.equal(isAlive(pid), false);
    await assert.rejects(stat(dir), /ENOENT/);
  });
});
