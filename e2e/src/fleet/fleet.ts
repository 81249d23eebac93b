import { createHmac, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { pino, type Logger } from "pino";
import { createAgent, type Agent, type AgentMetrics, type LoopGuardLimits } from "@gitfleet/agent";
import { createHub, createHubClient, gitDelivery, parseApiToken, type Hub, type HubClient, type HubOptions } from "@gitfleet/hub";
import { kubeConfigFor } from "../kube-client.js";
import { natsReplicas, startLab, type Lab, type LabClusterInfo } from "../lab/lab.js";
import { waitFor } from "../lab/process.js";
import { selfSignedCert, type SelfSignedCert } from "./tls.js";

const run = promisify(execFile);

/** Options for {@link startFleet}. */
export interface FleetOptions {
  /** Lab clusters to start (each a kube-apiserver). */
  clusters: readonly string[];
  /** Folder whose files become the fleet repository's first commit. */
  seed: string;
  /** Git poll interval of the hub; default 1 h, so tests drive fetches by webhook. */
  pollIntervalMs?: number;
  /** Agent credential lifetime; default the hub's. */
  credentialTtlMs?: number;
  /** Log level of the hub and agents (written to files in the lab folder); default "debug". */
  logLevel?: string;
  /** Call the hub's webhook after every push to the Git server, as a Git host would. */
  webhookOnPush?: boolean;
  /** Called before each push reaches the Git server (a test's chance to land a commit first). */
  beforeReceive?: (repo: string, userAgent: string) => Promise<void>;
  /** More options of the hub (heartbeat interval, notification sinks, ...). */
  hub?: Partial<Pick<HubOptions, "heartbeatIntervalSeconds" | "notificationSinks" | "eventLimits" | "metricsAddress">>;
  progress?: (line: string) => void;
  /** NATS servers of the lab (1 or 3, see LabOptions.natsNodes); with 3 the hub keeps its buckets with 3 replicas. */
  natsNodes?: number;
}

/** Options of {@link Fleet.startAgent}. */
export interface StartAgentOptions {
  token?: string;
  labels?: Record<string, string>;
  reconcileIntervalMs?: number;
  /** Limits of the agent's drift loop guard; default the agent's. */
  loopGuard?: Partial<LoopGuardLimits>;
  /** The agent's metrics (createAgentMetrics); none by default. */
  metrics?: AgentMetrics;
}

/** A lab with a hub wired to it, and the means to run agents and push commits. */
export interface Fleet {
  readonly lab: Lab;
  hub: Hub;
  readonly adminToken: string;
  /** A token of the viewer role. */
  readonly viewerToken: string;
  readonly webhookSecret: string;
  readonly hubUrl: string;
  readonly grpcAddress: string;
  readonly tls: SelfSignedCert;
  /** An admin client of the hub API. */
  readonly api: HubClient;
  /** Starts an agent in-process for a lab cluster (registering when it has no identity yet). */
  startAgent(cluster: string, options?: StartAgentOptions): Promise<Agent>;
  /** Access to a lab cluster by name. */
  cluster(name: string): LabClusterInfo;
  /**
   * Writes files (path -> content, null deletes) in the fleet repo on top of the branch's head
   * (commits others pushed, such as the hub's promotions, included), commits and pushes; returns the sha.
   */
  commit(files: Record<string, string | null>, message: string): Promise<string>;
  /** Runs git in an up-to-date clone of the fleet repository (e.g. `show`, `log`); returns stdout. */
  git(...args: string[]): Promise<string>;
  /** The commit at the head of the fleet repository's main branch. */
  head(): Promise<string>;
  /** Calls the hub's push webhook, signed as a Git host would. */
  webhook(): Promise<Response>;
  /** Starts another hub replica on the same NATS and Git repository, on ports of its own; stopped with the fleet. */
  startReplica(options?: Partial<Pick<HubOptions, "metricsAddress">>): Promise<{ hub: Hub; url: string; api: HubClient }>;
  /** Stops the hub and starts a new one on the same ports and NATS (a hub restart). */
  restartHub(): Promise<void>;
  /** Stops the hub (an outage); {@link Fleet.startHub} brings a new one up on the same ports. */
  stopHub(): Promise<void>;
  /** Starts a new hub on the same ports and NATS after {@link Fleet.stopHub}. */
  startHub(): Promise<void>;
  /** Stops agents, hub and lab. */
  stop(): Promise<void>;
}

/** Starts the lab, the fleet repository and a hub (gRPC over TLS with a self-signed certificate). */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  let onPush: (() => Promise<unknown>) | undefined;
  const lab = await startLab({
    clusterNames: options.clusters,
    seeds: { fleet: options.seed },
    ...(options.webhookOnPush ? { onPush: async () => void (await onPush?.()) } : {}),
    ...(options.beforeReceive ? { beforeReceive: options.beforeReceive } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.natsNodes !== undefined ? { natsNodes: options.natsNodes } : {}),
  });
  const agents: Agent[] = [];
  const replicas: Hub[] = [];
  try {
    // Inside the lab folder, so whatever happens the lab takes it along when it stops.
    const work = join(lab.dir, "fleet-work");
    await mkdir(work);
    const tls = await selfSignedCert(lab.dir);
    const adminToken = `gf_admin_${randomBytes(24).toString("base64url")}`;
    const viewerToken = `gf_viewer_${randomBytes(24).toString("base64url")}`;
    const webhookSecret = randomBytes(16).toString("hex");
    const info = lab.info();
    const logLevel = options.logLevel ?? "debug";
    const adminCreds = await readFile(lab.nats.adminCredsPath, "utf8");
    const systemCreds = await readFile(lab.nats.systemCredsPath, "utf8");
    const logger = (name: string): Logger =>
      pino({ level: logLevel, base: { component: name } }, createWriteStream(join(lab.dir, `${name}.log`), { flags: "a" }));

    let httpPort = 0;
    let grpcPort = 0;
    const makeHub = (ports: { http: number; grpc: number } = { http: httpPort, grpc: grpcPort }, name = "hub", extra: Partial<HubOptions> = {}): Hub =>
      createHub({
        logger: logger(name),
        nats: { servers: [...info.nats.urls], creds: adminCreds, replicas: natsReplicas(info.nats.urls.length) },
        account: { publicKey: info.nats.accountPublicKey },
        agentAccount: { publicKey: info.nats.agentAccountPublicKey, signingSeed: info.nats.agentSigningSeed },
        natsRevocation: { operatorSigningSeed: info.nats.operatorSigningSeed, systemCreds: systemCreds },
        httpAddress: `127.0.0.1:${ports.http}`,
        grpcAddress: `127.0.0.1:${ports.grpc}`,
        grpcTls: { certPath: tls.certPath, keyPath: tls.keyPath },
        apiTokens: [parseApiToken(adminToken, "admin", "fleet"), parseApiToken(viewerToken, "viewer", "fleet")],
        webhookSecret,
        ...(options.credentialTtlMs ? { credentialTtlMs: options.credentialTtlMs } : {}),
        ...options.hub,
        ...extra,
        // The test runner hands the lab's kustomize build over in GITFLEET_KUSTOMIZE, the hub's own setting.
        delivery: gitDelivery({ url: info.git.url, branch: "main", pollIntervalMs: options.pollIntervalMs ?? 3_600_000 }, { kustomize: process.env["GITFLEET_KUSTOMIZE"] }),
        announceAdminToken: () => {},
      });
    let hub = makeHub();
    await hub.start();
    httpPort = hub.httpPort;
    grpcPort = hub.grpcPort;
    const hubUrl = `http://127.0.0.1:${httpPort}`;
    // A host name, not an IP: TLS clients may not send an IP address as the server name (SNI).
    const grpcAddress = `localhost:${grpcPort}`;
    const api = createHubClient({ url: hubUrl, token: adminToken });

    const repo = join(work, "fleet");
    await run("git", ["clone", "--quiet", info.git.url, repo]);
    await run("git", ["-C", repo, "config", "user.name", "gitfleet e2e"]);
    await run("git", ["-C", repo, "config", "user.email", "e2e@gitfleet.invalid"]);

    const fleet: Fleet = {
      lab,
      get hub() {
        return hub;
      },
      set hub(h: Hub) {
        hub = h;
      },
      adminToken,
      viewerToken,
      webhookSecret,
      hubUrl,
      grpcAddress,
      tls,
      api,
      cluster(name) {
        const c = lab.info().clusters.find((x) => x.name === name);
        if (!c) throw new Error(`no lab cluster ${name}`);
        return c;
      },
      async startAgent(name, agentOptions = {}) {
        const agent = createAgent({
          kubeConfig: kubeConfigFor(fleet.cluster(name)),
          hub: grpcAddress,
          hubTls: { mode: "ca", caPem: tls.certPem },
          clusterName: name,
          ...(agentOptions.token ? { token: agentOptions.token } : {}),
          ...(agentOptions.labels ? { labels: agentOptions.labels } : {}),
          reconcileIntervalMs: agentOptions.reconcileIntervalMs ?? 5_000,
          ...(agentOptions.loopGuard ? { loopGuard: agentOptions.loopGuard } : {}),
          ...(agentOptions.metrics ? { metrics: agentOptions.metrics } : {}),
          logger: logger(`agent-${name}`),
        });
        await agent.start();
        agents.push(agent);
        return agent;
      },
      async commit(files, message) {
        await run("git", ["-C", repo, "fetch", "--quiet", "origin", "main"]);
        await run("git", ["-C", repo, "reset", "--quiet", "--hard", "origin/main"]);
        for (const [path, content] of Object.entries(files)) {
          const file = join(repo, path);
          if (content === null) await rm(file, { force: true });
          else {
            await mkdir(dirname(file), { recursive: true });
            await writeFile(file, content);
          }
        }
        await run("git", ["-C", repo, "add", "-A"]);
        await run("git", ["-C", repo, "commit", "--quiet", "-m", message]);
        await run("git", ["-C", repo, "push", "--quiet", "origin", "HEAD:main"]);
        return (await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim();
      },
      async git(...args) {
        await run("git", ["-C", repo, "fetch", "--quiet", "origin", "main"]);
        await run("git", ["-C", repo, "reset", "--quiet", "--hard", "origin/main"]);
        return (await run("git", ["-C", repo, ...args], { maxBuffer: 16 * 2 ** 20 })).stdout;
      },
      async head() {
        const { stdout } = await run("git", ["ls-remote", info.git.url, "refs/heads/main"]);
        return stdout.split(/\s/)[0] ?? "";
      },
      async webhook() {
        const body = JSON.stringify({ ref: "refs/heads/main" });
        const signature = `sha256=${createHmac("sha256", webhookSecret).update(body).digest("hex")}`;
        return await fetch(`${hubUrl}/api/v1/webhooks/git`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-hub-signature-256": signature, "x-github-event": "push" },
          body,
        });
      },
      async startReplica(replicaOptions = {}) {
        const replica = makeHub({ http: 0, grpc: 0 }, `hub-${replicas.length + 2}`, replicaOptions);
        replicas.push(replica);
        await replica.start();
        const url = `http://127.0.0.1:${replica.httpPort}`;
        return { hub: replica, url, api: createHubClient({ url, token: adminToken }) };
      },
      async restartHub() {
        await fleet.stopHub();
        await fleet.startHub();
      },
      async stopHub() {
        await hub.stop();
      },
      async startHub() {
        hub = makeHub();
        await hub.start();
      },
      async stop() {
        await Promise.allSettled(agents.map((a) => a.stop()));
        await Promise.allSettled(replicas.map((r) => r.stop()));
        await hub.stop().catch(() => undefined);
        await keepLogs(lab.dir);
        await lab.stop();
        await rm(work, { recursive: true, force: true });
      },
    };
    onPush = () => fleet.webhook();
    return fleet;
  } catch (err) {
    await Promise.allSettled(agents.map((a) => a.stop()));
    await lab.stop();
    throw err;
  }
}

/** Waits until the hub reports a cluster synced at `revision` for every bundle it has. */
export async function waitForSynced(
  api: HubClient,
  name: string,
  revision: string,
  options: { timeoutMs?: number; bundles?: readonly string[] } = {},
): Promise<ClusterStatusView> {
  return await waitFor(
    async () => {
      const c = await api.get<ClusterStatusView>(`/clusters/${name}`);
      const bundles = c.bundles ?? [];
      const wanted = options.bundles ?? bundles.map((b) => b.name);
      const ok =
        c.observedRevision === revision &&
        wanted.length > 0 &&
        wanted.every((w) => bundles.some((b) => b.name === w && b.sync === "synced"));
      return ok ? c : undefined;
    },
    { what: `cluster ${name} synced at ${revision.slice(0, 12)}`, timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 200 },
  );
}

/** The parts of `GET /api/v1/clusters/{name}` the scenarios read. */
export interface ClusterStatusView {
  id: string;
  name: string;
  labels: Record<string, string>;
  connected: boolean;
  observedRevision?: string;
  bundles?: { name: string; sync?: string; health?: string; revision?: string; message?: string }[];
  errors?: { bundle: string; target?: string; path?: string; commit?: string; message: string }[];
}

/** Copies the hub's and agents' logs to GITFLEET_E2E_LOGS (when set) before the lab folder goes. */
async function keepLogs(dir: string): Promise<void> {
  const target = process.env["GITFLEET_E2E_LOGS"];
  if (!target) return;
  // The lab may be gone already: its own signal handler stops it too (the demo on Ctrl-C).
  const logs = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith(".log"));
  if (logs.length === 0) return;
  const into = join(target, `fleet-${Date.now()}`);
  await mkdir(into, { recursive: true });
  for (const f of logs) await cp(join(dir, f), join(into, f)).catch(() => undefined);
}
