// What makes a lab cluster run workloads without a kubelet: the real kube-controller-manager
// (ReplicaSets, pods, namespace finalization, garbage collection, `default` ServiceAccounts),
// the real kube-scheduler (binds pods to nodes) and kwok, which fakes the nodes and plays each
// pod's lifecycle from the stages in e2e/servers/kwok/stages.yaml.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { KubeApiserver } from "./kube.js";
import { componentHealthy, kubeRest } from "./kube-rest.js";
import { serversDir } from "./binaries.js";
import { freePort } from "./ports.js";
import { startProcess, waitFor, type LabProcess } from "./process.js";

/** Annotation that makes a pod fail in a lab cluster: crash-looping, or Failed in a Job. */
export const failAnnotation = "lab.gitfleet.dev/fail";

/** The kwok stages every lab cluster plays (pods ready, Jobs complete, the fail annotation). */
export const kwokStagesFile = join(serversDir, "kwok", "stages.yaml");

/** Binaries of the workload components, as {@link ensureBinaries} returns them. */
export interface WorkloadBinaries {
  "kube-controller-manager": string;
  "kube-scheduler": string;
  kwok: string;
}

/** Options for {@link startWorkloads}. */
export interface WorkloadsOptions {
  /** The running apiserver of the cluster. */
  kube: KubeApiserver;
  binaries: WorkloadBinaries;
  /** The cluster's folder; the components' logs go there. */
  dir: string;
  /** Number of fake nodes, named kwok-node-1..N. Default 1. */
  nodes?: number;
  detached?: boolean;
  /** How long to wait for the nodes to be Ready and the `default` ServiceAccount to exist. */
  readyTimeoutMs?: number;
}

/** The running workload components of one cluster. */
export interface ClusterWorkloads {
  /** Names of the fake nodes. */
  readonly nodes: readonly string[];
  readonly processes: readonly LabProcess[];
  /** Stops the three components; the apiserver is left alone. */
  stop(): Promise<void>;
}

/**
 * Starts kube-controller-manager, kube-scheduler and kwok against a running apiserver,
 * registers the fake nodes, and waits until pods can run: every node Ready, the scheduler
 * healthy and the `default` ServiceAccount of the `default` namespace created. On failure,
 * whatever was started is stopped before the error is thrown.
 */
export async function startWorkloads(options: WorkloadsOptions): Promise<ClusterWorkloads> {
  const { kube, binaries, dir } = options;
  const detached = options.detached ?? false;
  const nodes = Array.from({ length: options.nodes ?? 1 }, (_, i) => `kwok-node-${i + 1}`);
  const [controllerManagerPort, schedulerPort] = [await freePort(), await freePort()];
  const processes: LabProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop(5_000)));
  };
  try {
    // Neither component gets an authentication or authorization kubeconfig: their own HTTPS
    // endpoint serves /healthz to anyone, which is all the lab asks of it.
    const controllerManagerConfig = await kube.componentKubeconfig("kube-controller-manager");
    processes.push(
      await startProcess({
        name: `kube-controller-manager ${kube.name}`,
        command: binaries["kube-controller-manager"],
        logFile: join(dir, "kube-controller-manager.log"),
        detached,
        args: [
          `--kubeconfig=${controllerManagerConfig}`,
          // Every controller acts as the controller manager's own user (see KubeComponent).
          "--use-service-account-credentials=false",
          `--service-account-private-key-file=${kube.serviceAccountKeyFile}`,
          `--root-ca-file=${kube.caFile}`,
          `--cluster-name=${kube.name}`,
          "--leader-elect=false",
          "--bind-address=127.0.0.1",
          `--secure-port=${controllerManagerPort}`,
          "--profiling=false",
        ],
      }),
    );
    const schedulerConfig = await kube.componentKubeconfig("kube-scheduler");
    processes.push(
      await startProcess({
        name: `kube-scheduler ${kube.name}`,
        command: binaries["kube-scheduler"],
        logFile: join(dir, "kube-scheduler.log"),
        detached,
        args: [
          `--kubeconfig=${schedulerConfig}`,
          "--leader-elect=false",
          "--bind-address=127.0.0.1",
          `--secure-port=${schedulerPort}`,
          "--profiling=false",
        ],
      }),
    );
    const kwokDir = join(dir, "kwok");
    await mkdir(kwokDir, { recursive: true });
    processes.push(
      await startProcess({
        name: `kwok ${kube.name}`,
        command: binaries.kwok,
        logFile: join(dir, "kwok.log"),
        detached,
        // kwok also reads ~/.kwok/kwok.yaml unless its work folder is elsewhere.
        env: { ...process.env, KWOK_WORKDIR: kwokDir },
        args: [
          `--kubeconfig=${await kube.componentKubeconfig("kwok")}`,
          `--config=${kwokStagesFile}`,
          "--manage-all-nodes=false",
          "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
          "--cidr=10.244.0.0/16",
          "--node-ip=10.0.0.1",
          "--node-lease-duration-seconds=40",
        ],
      }),
    );

    for (const name of nodes) await registerNode(kube, name);
    const what = `cluster ${kube.name} to run workloads (nodes ${nodes.join(", ")} Ready, kube-scheduler healthy, ServiceAccount default/default created)`;
    await waitFor(
      async () => {
        const ready = await Promise.all(nodes.map((n) => nodeReady(kube, n)));
        if (!ready.every(Boolean)) throw new Error(`not Ready yet: ${nodes.filter((_, i) => !ready[i]).join(", ")}`);
        if (!(await componentHealthy(schedulerPort))) throw new Error("kube-scheduler /healthz is not ok yet");
        const sa = await kubeRest(kube, "GET", "/api/v1/namespaces/default/serviceaccounts/default");
        if (sa.status !== 200) throw new Error(`ServiceAccount default/default: HTTP ${sa.status}`);
        return true;
      },
      { what, timeoutMs: options.readyTimeoutMs ?? 120_000, intervalMs: 250, process: processes },
    );
    return { nodes, processes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Creates a Node object kwok takes care of (it fills in the status and renews the Lease). */
async function registerNode(kube: KubeApiserver, name: string): Promise<void> {
  const node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node-role.kubernetes.io/agent": "",
        type: "kwok",
      },
    },
  };
  const reply = await kubeRest(kube, "POST", "/api/v1/nodes", node);
  if (reply.status !== 201 && reply.status !== 409) {
    throw new Error(`cluster ${kube.name}: creating node ${name} failed with HTTP ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
}

async function nodeReady(kube: KubeApiserver, name: string): Promise<boolean> {
  const reply = await kubeRest(kube, "GET", `/api/v1/nodes/${name}`);
  if (reply.status !== 200) return false;
  const conditions = (reply.body as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions;
  return conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
