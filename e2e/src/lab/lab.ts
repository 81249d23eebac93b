import { rmSync } from "node:fs";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dnsLabelProblem } from "@gitfleet/proto/rules";
import { ensureBinaries, type ProgressFn } from "./binaries.js";
import { startGitServer, type GitServer } from "./git-server.js";
import { startKubeApiserver, type KubeApiserver } from "./kube.js";
import { startNats, type NatsLab } from "./nats.js";
import { repoExists } from "./git-server-repos.js";

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
  /** Receives progress lines (builds, servers ready). */
  progress?: ProgressFn;
}

/** What a client needs to reach one lab cluster. */
export interface LabClusterInfo {
  name: string;
  server: string;
  token: string;
  kubeconfig: string;
  caData: string;
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
  };
  git: { url: string; baseUrl: string; user: string; token: string; repos: string[] };
  clusters: LabClusterInfo[];
}

/** A running lab: real NATS, a real Git server and real kube-apiservers on loopback. */
export interface Lab {
  readonly dir: string;
  readonly nats: NatsLab;
  readonly git: GitServer;
  readonly clusters: readonly KubeApiserver[];
  /** Starts one more cluster in the running lab. */
  addCluster(name: string): Promise<KubeApiserver>;
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
 * nats-server, the Git server and N kube-apiservers in parallel. On any
 * failure everything already started is stopped before the error is thrown.
 */
export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const progress = options.progress ?? (() => {});
  const names = options.clusterNames ?? Array.from({ length: options.clusters ?? 1 }, (_, i) => `cluster-${i + 1}`);
  for (const n of names) checkClusterName(n);
  const bins = await ensureBinaries(["kube-apiserver", "nats-server"], progress);
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "gitfleet-lab-")));
  await mkdir(dir, { recursive: true });

  const started: { stop(): Promise<void> }[] = [];
  const clusters: KubeApiserver[] = [];
  let stopping: Promise<void> | undefined;
  let runningNats: NatsLab | undefined;
  // If the owner exits without stop() (a crash, an uncaught Ctrl-C), still
  // leave no server and no folder behind.
  const onExit = (): void => {
    for (const p of [...clusters.map((c) => c.process), ...(runningNats ? [runningNats.process] : [])]) {
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
      await Promise.allSettled([...clusters, ...started].map((s) => s.stop()));
      await rm(dir, { recursive: true, force: true });
    })());
  const order = (n: string): number => {
    const i = names.indexOf(n);
    return i < 0 ? names.length : i;
  };
  const startCluster = async (name: string): Promise<KubeApiserver> => {
    if (clusters.some((c) => c.name === name)) throw new Error(`cluster "${name}" already exists in the lab`);
    checkClusterName(name);
    const kube = await startKubeApiserver({ name, binary: bins["kube-apiserver"], dir: join(dir, "clusters", name) });
    clusters.push(kube);
    // Keep the order the clusters were asked for, whatever order they became ready in.
    clusters.sort((a, b) => order(a.name) - order(b.name));
    progress(`cluster ${name} ready at ${kube.server}`);
    return kube;
  };

  try {
    const natsDir = join(dir, "nats");
    await mkdir(natsDir, { recursive: true });
    const [natsLab, git] = await Promise.all([
      startNats({ binary: bins["nats-server"], dir: natsDir }).then((n) => {
        started.push(n);
        runningNats = n;
        progress(`nats-server ready at ${n.url}`);
        return n;
      }),
      startGitServer({ dir: join(dir, "git"), seeds: options.seeds ?? {}, onPush: options.onPush }).then(async (g) => {
        if (!options.seeds && !(await repoExists(join(dir, "git", "repos"), "fleet"))) await g.createRepo("fleet");
        started.push(g);
        progress(`git server ready at ${g.baseUrl}`);
        return g;
      }),
      ...names.map(startCluster),
    ]);
    const nats = natsLab;
    const repos = options.seeds ? Object.keys(options.seeds) : ["fleet"];
    return {
      dir,
      nats,
      git,
      clusters,
      addCluster: startCluster,
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
        },
        git: { url: git.url(repos[0] ?? "fleet"), baseUrl: git.baseUrl, user: git.user, token: git.token, repos },
        clusters: clusters.map((c) => ({
          name: c.name,
          server: c.server,
          token: c.token,
          kubeconfig: c.kubeconfig,
          caData: c.caData,
        })),
      }),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
