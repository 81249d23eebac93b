import { rmSync } from "node:fs";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dnsLabelProblem } from "@gitfleet/proto/rules";
import { ensureBinaries, type LabTool, type ProgressFn } from "./binaries.js";
import { startGitServer, type GitServer } from "./git-server.js";
import { startKubeApiserver, type KubeApiserver } from "./kube.js";
import { startNats, type NatsLab } from "./nats.js";
import { repoExists } from "./git-server-repos.js";
import type { LabProcess } from "./process.js";
import { startWorkloads, type ClusterWorkloads } from "./workloads.js";

/** Options for {@link startLab}. */
export interface LabOptions {
  /** Number of clusters to start, named cluster-1..cluster-N unless `clusterNames` is given. */
  clusters?: number;
  clusterNames?: readonly string[];
  /** Git repositories to create: repo name -> folder whose files become the first commit. */
  seeds?: Record<string, string>;
  /** Folder for all runtime data; a fresh temporary folder by default. Removed by stop(). */
  dir?: string;
  /** Called after each push to the Git server, with the repository name (e.g. to call a webhook). */
  onPush?: (repo: string) => void | Promise<void>;
  /** Called before each push reaches the Git server's backend (see GitServerOptions.beforeReceive). */
  beforeReceive?: (repo: string, userAgent: string) => Promise<void>;
  /** Receives progress lines (builds, servers ready). */
  progress?: ProgressFn;
  /**
   * Run workloads: every cluster also runs kube-controller-manager, kube-scheduler and kwok with
   * fake nodes, so pods are scheduled and become Ready (or fail, see {@link failAnnotation}).
   * Default true; false starts bare apiservers, for tests that only store objects.
   */
  workloads?: boolean;
  /** Fake nodes per cluster when running workloads. Default 1. */
  nodes?: number;
}

/** What a client needs to reach one lab cluster. */
export interface LabClusterInfo {
  name: string;
  server: string;
  token: string;
  kubeconfig: string;
  caData: string;
  /** The cluster's fake (kwok) nodes; empty when the lab runs without workloads. */
  nodes: string[];
}

/** The lab's endpoints and credentials, as written to `.lab/lab.json`. */
export interface LabInfo {
  dir: string;
  nats: {
    url: string;
    creds: string;
    monitorUrl: string;
    accountPublicKey: string;
    accountSigningSeed: string;
    operatorPublicKey: string;
    /** The agents account and its scoped signing key (GITFLEET_NATS_AGENT_ACCOUNT/_SIGNING_SEED). */
    agentAccountPublicKey: string;
    agentSigningSeed: string;
    /** For revoking deleted clusters' users (GITFLEET_NATS_OPERATOR_SIGNING_SEED, GITFLEET_NATS_SYSTEM_CREDS). */
    operatorSigningSeed: string;
    systemCreds: string;
  };
  git: { url: string; baseUrl: string; user: string; token: string; repos: string[] };
  /** Whether the clusters run workloads (controller manager, scheduler, kwok nodes). */
  workloads: boolean;
  clusters: LabClusterInfo[];
}

/** One lab cluster: its apiserver and, when the lab runs workloads, the components that run pods. */
export interface LabCluster extends KubeApiserver {
  /** kube-controller-manager, kube-scheduler and kwok; undefined in a lab without workloads. */
  readonly workloads: ClusterWorkloads | undefined;
  /** Every process of this cluster, the apiserver first. */
  readonly processes: readonly LabProcess[];
}

/** A running lab: real NATS, a real Git server and real kube-apiservers on loopback. */
export interface Lab {
  readonly dir: string;
  readonly nats: NatsLab;
  readonly git: GitServer;
  readonly clusters: readonly LabCluster[];
  /** Starts one more cluster in the running lab (with workloads if the lab has them). */
  addCluster(name: string): Promise<LabCluster>;
  /** Endpoints and credentials; `git.url` is the clone URL of the first seeded repo. */
  info(): LabInfo;
  /** Stops every process and removes the lab's folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Cluster names are DNS labels, as the hub and the agent require. */
function checkClusterName(name: string): void {
  const problem = dnsLabelProblem(name);
  if (problem !== undefined) throw new Error(`invalid cluster name "${name}": it ${problem} (a DNS label)`);
}

/**
 * Starts the lab: builds (or takes from cache) the servers, then starts
 * nats-server, the Git server and N clusters in parallel. On any failure
 * everything already started (or still starting) is stopped before the error
 * is thrown.
 */
export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const progress = options.progress ?? (() => {});
  const workloads = options.workloads ?? true;
  const nodes = options.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`nodes must be a whole number of at least 1, got ${nodes}`);
  const names = options.clusterNames ?? Array.from({ length: options.clusters ?? 1 }, (_, i) => `cluster-${i + 1}`);
  for (const n of names) checkClusterName(n);
  // A lab without clusters (NATS and Git only, e.g. for simulated fleets) builds no Kubernetes servers.
  const tools: LabTool[] = names.length > 0 ? ["kube-apiserver", "nats-server"] : ["nats-server"];
  if (workloads && names.length > 0) tools.push("kube-controller-manager", "kube-scheduler", "kwok");
  const bins = await ensureBinaries(tools, progress);
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "gitfleet-lab-")));
  await mkdir(dir, { recursive: true });

  const started: { stop(): Promise<void> }[] = [];
  const clusters: LabCluster[] = [];
  // Servers still starting: a teardown waits for them, so none comes up after it and stays.
  const starting = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    starting.add(promise);
    const forget = (): void => void starting.delete(promise);
    promise.then(forget, forget);
    return promise;
  };
  let stopping: Promise<void> | undefined;
  let runningNats: NatsLab | undefined;
  // If the owner exits without stop() (a crash, an uncaught Ctrl-C), still
  // leave no server and no folder behind.
  const onExit = (): void => {
    for (const p of [...clusters.flatMap((c) => c.processes), ...(runningNats ? [runningNats.process] : [])]) {
      if (!p.hasExited()) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    void stopAll().finally(() => process.kill(process.pid, signal));
  };
  process.once("exit", onExit);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  // Every caller of stop() waits for the same teardown, however many there are.
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      process.off("exit", onExit);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await Promise.allSettled([...starting]);
      await Promise.allSettled([...clusters, ...started].map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
    })());
  const order = (n: string): number => {
    const i = names.indexOf(n);
    return i < 0 ? names.length : i;
  };
  const startCluster = async (name: string): Promise<LabCluster> => {
    if (stopping) throw new Error(`the lab is stopping; cluster "${name}" not started`);
    if (clusters.some((c) => c.name === name)) throw new Error(`cluster "${name}" already exists in the lab`);
    checkClusterName(name);
    const clusterDir = join(dir, "clusters", name);
    const kube = await startKubeApiserver({ name, binary: bins["kube-apiserver"], dir: clusterDir });
    let running: ClusterWorkloads | undefined;
    try {
      if (workloads) running = await startWorkloads({ kube, binaries: bins, dir: clusterDir, nodes });
    } catch (err) {
      await kube.stop();
      throw err;
    }
    const cluster: LabCluster = {
      ...kube,
      workloads: running,
      processes: [kube.process, ...(running?.processes ?? [])],
      // The components first: stopped after their apiserver, they would retry it until killed.
      stop: async () => {
        await running?.stop();
        await kube.stop();
      },
    };
    clusters.push(cluster);
    // Keep the order the clusters were asked for, whatever order they became ready in.
    clusters.sort((a, b) => order(a.name) - order(b.name));
    const parts = running ? ` with kube-controller-manager, kube-scheduler and kwok (${running.nodes.join(", ")})` : "";
    progress(`cluster ${name} ready at ${kube.server}${parts}`);
    return cluster;
  };

  try {
    const natsDir = join(dir, "nats");
    await mkdir(natsDir, { recursive: true });
    const [natsLab, git] = await Promise.all([
      track(
        startNats({ binary: bins["nats-server"], dir: natsDir }).then((n) => {
          started.push(n);
          runningNats = n;
          progress(`nats-server ready at ${n.url}`);
          return n;
        }),
      ),
      track(
        startGitServer({ dir: join(dir, "git"), seeds: options.seeds ?? {}, onPush: options.onPush, beforeReceive: options.beforeReceive }).then(async (g) => {
          started.push(g);
          if (!options.seeds && !(await repoExists(join(dir, "git", "repos"), "fleet"))) await g.createRepo("fleet");
          progress(`git server ready at ${g.baseUrl}`);
          return g;
        }),
      ),
      ...names.map((n) => track(startCluster(n))),
    ]);
    const nats = natsLab;
    const repos = options.seeds ? Object.keys(options.seeds) : ["fleet"];
    return {
      dir,
      nats,
      git,
      clusters,
      addCluster: (name) => track(startCluster(name)),
      stop: stopAll,
      info: () => ({
        dir,
        nats: {
          url: nats.url,
          creds: nats.adminCredsPath,
          monitorUrl: nats.monitorUrl,
          accountPublicKey: nats.accountPublicKey,
          accountSigningSeed: nats.accountSigningSeed,
          operatorPublicKey: nats.operatorPublicKey,
          agentAccountPublicKey: nats.agentAccountPublicKey,
          agentSigningSeed: nats.agentSigningSeed,
          operatorSigningSeed: nats.operatorSigningSeed,
          systemCreds: nats.systemCredsPath,
        },
        git: { url: git.url(repos[0] ?? "fleet"), baseUrl: git.baseUrl, user: git.user, token: git.token, repos },
        workloads,
        clusters: clusters.map((c) => ({
          name: c.name,
          server: c.server,
          token: c.token,
          kubeconfig: c.kubeconfig,
          caData: c.caData,
          nodes: [...(c.workloads?.nodes ?? [])],
        })),
      }),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
