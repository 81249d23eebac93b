// The chaos stories' fleet: one lab, N hub replicas as separate OS processes (so kill -9 is
// real) sharing one admin token, webhook secret, TLS certificate, NATS and Git repository, and
// agents that reach any replica through one address (a balancer standing in for the Service,
// optionally behind a toxiproxy link so the link can be slowed, made lossy or cut).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { createWriteStream, openSync } from "node:fs";
import { cp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { pino } from "pino";
import { createAgent, type Agent } from "@gitfleet/agent";
import { createHubClient, type HubClient } from "@gitfleet/hub";
import { AgentService, createClient, type ServiceClient } from "@gitfleet/proto";
import { credentials } from "@grpc/grpc-js";
import { kubeConfigFor } from "../kube-client.js";
import type { FaultProxy } from "../lab/faults.js";
import { startLab, type Lab, type LabClusterInfo, type LabOptions } from "../lab/lab.js";
import { freePort } from "../lab/ports.js";
import { waitFor } from "../lab/process.js";
import { selfSignedCert } from "../fleet/tls.js";
import { startBalancer, type Balancer } from "./balancer.js";

const execFileAsync = promisify(execFile);
/** Runs a command (git) that may not hang the story: killed after 2 minutes. */
const run = (file: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> =>
  execFileAsync(file, args, { timeout: 120_000, killSignal: "SIGKILL" });
const root = fileURLToPath(new URL("../../..", import.meta.url));

/** A toxiproxy link of the lab's fault injection. */
export type Link = FaultProxy;

/** The lab as the chaos stories use it (a 3-node NATS cluster and fault injection). */
type HaLab = Lab;

/** Options of {@link startChaosFleet}. */
export interface ChaosFleetOptions {
  /** Lab clusters, each run by a real agent started with {@link ChaosFleet.startAgent}. */
  clusters: readonly string[];
  /** Folder whose files become the fleet repository's first commit. */
  seed: string;
  /** Hub replicas; default 3. */
  hubs?: number;
  /** NATS nodes; default 3. */
  natsNodes?: number;
  /** Whether lab clusters run pods (needed for health and promotion gates); default false. */
  workloads?: boolean;
  /** GITFLEET_HEARTBEAT_INTERVAL of the hubs; default the hub's. */
  heartbeat?: string;
  /** GITFLEET_DELIVERY_LEASE_TTL of the hubs; default 6s, so a successor takes over quickly. */
  leaseTtl?: string;
  /** GITFLEET_GIT_POLL_INTERVAL; default 10s (webhooks drive most fetches). */
  pollInterval?: string;
  /** Put toxiproxy links between agents and the hubs, agents and NATS, and hubs and Git. */
  links?: { agentHub?: boolean; agentNats?: boolean; hubGit?: boolean };
  /** More environment of every hub. */
  hubEnv?: NodeJS.ProcessEnv;
  progress?: (line: string) => void;
}

/** One hub replica: an OS process on fixed ports, restartable on the same ports. */
export interface HubReplica {
  readonly name: string;
  readonly url: string;
  readonly grpcAddress: string;
  readonly api: HubClient;
  /** The running process, if any. */
  readonly child: ChildProcess | undefined;
  running(): boolean;
  /** kill -9 the process, and wait for it to be gone. */
  kill(): Promise<void>;
  /** SIGTERM, and wait. */
  stop(): Promise<void>;
  /** Starts the process (again) and waits for it to answer /healthz (ready when `ready`). */
  start(options?: { ready?: boolean }): Promise<void>;
  /** GET /readyz: its status and body (undefined when it does not answer). */
  readyz(): Promise<{ status: number; body: Record<string, unknown> } | undefined>;
}

/** The chaos stories' fleet. */
export interface ChaosFleet {
  readonly lab: HaLab;
  readonly hubs: readonly HubReplica[];
  readonly adminToken: string;
  readonly caPem: string;
  /** The one gRPC address agents use ("localhost:PORT": through the agent link if any, else the balancer). */
  readonly agentAddress: string;
  /** The balancer in front of the hubs' gRPC ports. */
  readonly balancer: Balancer;
  /** An admin client that reaches a running replica (GETs retry on another one when a replica dies under them). */
  readonly api: HubClient;
  /** The toxiproxy links asked for in {@link ChaosFleetOptions.links}. */
  readonly links: { agentHub?: Link; agentNats?: Link; hubGit?: Link };
  /** A typed AgentService client through the agents' address. */
  agentClient(): ServiceClient<typeof AgentService>;
  /** Starts a real agent in this process for a lab cluster. */
  startAgent(cluster: string, options: { token?: string; labels?: Record<string, string>; reconcileIntervalMs?: number }): Promise<Agent>;
  /** Stops an agent started here. */
  stopAgent(agent: Agent): Promise<void>;
  cluster(name: string): LabClusterInfo;
  /** Commits files (null deletes) on top of the branch head and pushes; returns the sha. Calls every running replica's webhook. */
  commit(files: Record<string, string | null>, message: string): Promise<string>;
  head(): Promise<string>;
  /** Calls the push webhook of every running replica. */
  webhook(): Promise<void>;
  /** The running replicas. */
  running(): HubReplica[];
  stop(): Promise<void>;
}

const logFile = (dir: string, name: string): number => openSync(join(dir, `${name}.log`), "a");

// Hub processes still running when this process exits (a crash, a test run that ends a file
// early) are killed with it, so none is left behind holding ports.
const liveHubs = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of liveHubs) c.kill("SIGKILL");
});

/** Starts the lab, the hubs and the balancer; resolves once every hub is ready. */
export async function startChaosFleet(options: ChaosFleetOptions): Promise<ChaosFleet> {
  const progress = options.progress ?? (() => {});
  const labOptions: LabOptions = {
    clusterNames: options.clusters,
    seeds: { fleet: options.seed },
    workloads: options.workloads ?? false,
    progress,
    natsNodes: options.natsNodes ?? 3,
    faults: Object.values(options.links ?? {}).some(Boolean),
  };
  const lab = (await startLab(labOptions));
  const agents = new Set<Agent>();
  const hubs: HubReplica[] = [];
  let balancer: Balancer | undefined;
  try {
    const logs = join(lab.dir, "chaos-logs");
    await mkdir(logs, { recursive: true });
    const tls = await selfSignedCert(lab.dir);
    const adminToken = `gf_admin_${randomBytes(24).toString("base64url")}`;
    const webhookSecret = randomBytes(16).toString("hex");
    const info = lab.info();
    const natsUrls = info.nats.urls;
    const links: ChaosFleet["links"] = {};
    const want = options.links ?? {};
    // Git through a link: the hubs' Git URL points at the proxy, credentials kept.
    let gitUrl = info.git.url;
    if (want.hubGit) {
      links.hubGit = await lab.faults.proxy("hub-git", `127.0.0.1:${lab.git.port}`);
      gitUrl = gitUrl.replace(`127.0.0.1:${lab.git.port}`, links.hubGit.listen);
    }
    if (want.agentNats) {
      const first = new URL(natsUrls[0] ?? "").host;
      links.agentNats = await lab.faults.proxy("agent-nats", first);
    }
    const replicas = options.hubs ?? 3;
    const ports = await Promise.all(Array.from({ length: replicas }, async () => ({ http: await freePort(), grpc: await freePort() })));
    balancer = await startBalancer(ports.map((p) => `127.0.0.1:${p.grpc}`));
    if (want.agentHub) links.agentHub = await lab.faults.proxy("agent-hub", balancer.address);
    const agentAddress = `localhost:${links.agentHub ? links.agentHub.listen.split(":")[1] : balancer.port}`;
    const env: NodeJS.ProcessEnv = {
      GITFLEET_NATS_URL: natsUrls.join(","),
      GITFLEET_NATS_CREDS: info.nats.creds,
      GITFLEET_NATS_AGENT_ACCOUNT: info.nats.agentAccountPublicKey,
      GITFLEET_NATS_AGENT_SIGNING_SEED: info.nats.agentSigningSeed,
      GITFLEET_NATS_OPERATOR_SIGNING_SEED: info.nats.operatorSigningSeed,
      GITFLEET_NATS_SYSTEM_CREDS: info.nats.systemCreds,
      ...(natsUrls.length >= 3 ? { GITFLEET_NATS_REPLICAS: "3" } : {}),
      ...(links.agentNats ? { GITFLEET_NATS_PUBLIC_URL: `nats://${links.agentNats.listen}` } : {}),
      GITFLEET_GRPC_TLS_CERT: tls.certPath,
      GITFLEET_GRPC_TLS_KEY: tls.keyPath,
      GITFLEET_ADMIN_TOKEN: adminToken,
      GITFLEET_WEBHOOK_SECRET: webhookSecret,
      GITFLEET_GIT_URL: gitUrl,
      GITFLEET_GIT_POLL_INTERVAL: options.pollInterval ?? "10s",
      GITFLEET_DELIVERY_LEASE_TTL: options.leaseTtl ?? "6s",
      ...(options.heartbeat ? { GITFLEET_HEARTBEAT_INTERVAL: options.heartbeat } : {}),
      GITFLEET_LOG_LEVEL: process.env["GITFLEET_CHAOS_LOG_LEVEL"] ?? "info",
      ...options.hubEnv,
    };
    for (const [i, p] of ports.entries()) hubs.push(hubReplica(`hub-${i + 1}`, p, env, adminToken, logs));
    progress(`starting ${replicas} hubs`);
    // The first one alone: it creates the buckets and streams; the others find them.
    await hubs[0]?.start();
    await Promise.all(hubs.slice(1).map((h) => h.start()));
    progress("hubs ready");

    const running = (): HubReplica[] => hubs.filter((h) => h.running());
    let turn = 0;
    const pick = (): HubReplica => {
      const live = running();
      const h = live[turn++ % Math.max(1, live.length)];
      if (!h) throw new Error("no hub replica is running");
      return h;
    };
    // GETs are safe to retry on another replica, also when one answers that it cannot serve them
    // now (503 while a NATS stream elects a leader); other methods go to one replica and report
    // what happened.
    const failoverFetch: typeof fetch = async (input, init) => {
      const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
      const method = (init?.method ?? "GET").toUpperCase();
      const attempts = method === "GET" ? 8 : 1;
      let lastError: unknown;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const target = new URL(url.pathname + url.search, pick().url);
        try {
          const res = await fetch(target, init);
          if (res.status !== 503 || attempt === attempts) return res;
          await res.body?.cancel();
          lastError = new Error(`${target.href} answered 503`);
        } catch (err) {
          lastError = err;
        }
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
      throw lastError;
    };
    const api = createHubClient({ url: "http://hubs.invalid", token: adminToken, fetch: failoverFetch });
    const repo = join(lab.dir, "chaos-work", "fleet");
    await mkdir(dirname(repo), { recursive: true });
    await run("git", ["clone", "--quiet", info.git.url, repo]);
    await run("git", ["-C", repo, "config", "user.name", "gitfleet chaos"]);
    await run("git", ["-C", repo, "config", "user.email", "chaos@gitfleet.invalid"]);
    const webhook = async (): Promise<void> => {
      const body = JSON.stringify({ ref: "refs/heads/main" });
      const signature = `sha256=${createHmac("sha256", webhookSecret).update(body).digest("hex")}`;
      await Promise.all(
        running().map((h) =>
          fetch(`${h.url}/api/v1/webhooks/git`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-hub-signature-256": signature, "x-github-event": "push" },
            body,
          }).catch(() => undefined),
        ),
      );
    };
    const bal = balancer;
    const fleet: ChaosFleet = {
      lab,
      hubs,
      adminToken,
      caPem: tls.certPem.toString(),
      agentAddress,
      balancer: bal,
      api,
      links,
      agentClient: () => createClient(AgentService, agentAddress, credentials.createSsl(Buffer.from(tls.certPem))),
      cluster(name) {
        const c = lab.info().clusters.find((x) => x.name === name);
        if (!c) throw new Error(`no lab cluster ${name}`);
        return c;
      },
      async startAgent(name, agentOptions) {
        const agent = createAgent({
          kubeConfig: kubeConfigFor(fleet.cluster(name)),
          hub: agentAddress,
          hubTls: { mode: "ca", caPem: tls.certPem },
          clusterName: name,
          ...(agentOptions.token ? { token: agentOptions.token } : {}),
          ...(agentOptions.labels ? { labels: agentOptions.labels } : {}),
          reconcileIntervalMs: agentOptions.reconcileIntervalMs ?? 5_000,
          logger: pino({ level: process.env["GITFLEET_CHAOS_LOG_LEVEL"] ?? "info", base: { component: `agent-${name}` } }, createWriteStream(join(logs, `agent-${name}.log`), { flags: "a" })),
        });
        await agent.start();
        agents.add(agent);
        return agent;
      },
      async stopAgent(agent) {
        agents.delete(agent);
        await agent.stop();
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
        const sha = (await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim();
        await webhook();
        return sha;
      },
      async head() {
        const { stdout } = await run("git", ["ls-remote", info.git.url, "refs/heads/main"]);
        return stdout.split(/\s/)[0] ?? "";
      },
      webhook,
      running,
      async stop() {
        await Promise.allSettled([...agents].map((a) => a.stop()));
        await Promise.allSettled(hubs.map((h) => h.stop()));
        await bal.stop();
        await keepLogs(lab.dir, logs);
        await lab.stop();
      },
    };
    return fleet;
  } catch (err) {
    await Promise.allSettled([...agents].map((a) => a.stop()));
    await Promise.allSettled(hubs.map((h) => h.kill()));
    await balancer?.stop();
    await lab.stop();
    throw err;
  }
}

function hubReplica(name: string, ports: { http: number; grpc: number }, baseEnv: NodeJS.ProcessEnv, adminToken: string, logs: string): HubReplica {
  let child: ChildProcess | undefined;
  const url = `http://127.0.0.1:${ports.http}`;
  const gone = (c: ChildProcess | undefined): boolean => !c || c.exitCode !== null || c.signalCode !== null;
  const waitExit = async (c: ChildProcess | undefined): Promise<void> => {
    if (gone(c)) return;
    await new Promise((r) => c?.once("exit", r));
  };
  const replica: HubReplica = {
    name,
    url,
    grpcAddress: `localhost:${ports.grpc}`,
    api: createHubClient({ url, token: adminToken }),
    get child() {
      return child;
    },
    running: () => !gone(child),
    async kill() {
      const c = child;
      if (gone(c)) return;
      c?.kill("SIGKILL");
      await waitExit(c);
    },
    async stop() {
      const c = child;
      if (gone(c)) return;
      c?.kill("SIGTERM");
      const timer = setTimeout(() => c?.kill("SIGKILL"), 15_000);
      await waitExit(c);
      clearTimeout(timer);
    },
    async start(startOptions = {}) {
      if (!gone(child)) return;
      const out = logFile(logs, name);
      child = spawn(process.execPath, ["--conditions=@gitfleet/source", "--import", "tsx", join(root, "hub/src/main.ts")], {
        cwd: root,
        env: { ...process.env, ...baseEnv, GITFLEET_HTTP_ADDR: `127.0.0.1:${ports.http}`, GITFLEET_GRPC_ADDR: `127.0.0.1:${ports.grpc}` },
        stdio: ["ignore", out, out],
      });
      const c = child;
      liveHubs.add(c);
      c.once("exit", () => liveHubs.delete(c));
      await waitFor(
        async () => {
          if (gone(c)) throw new Error(`hub ${name} exited (${c.exitCode ?? c.signalCode}) while starting; see its log`);
          const res = await fetch(`${url}/${startOptions.ready === false ? "healthz" : "readyz"}`).catch(() => undefined);
          return res?.ok;
        },
        { what: `hub ${name} ready`, timeoutMs: 120_000, intervalMs: 200 },
      );
    },
    async readyz() {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      if (!res) return undefined;
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { text };
      }
      return { status: res.status, body };
    },
  };
  return replica;
}

/** Copies the hubs' and agents' logs to GITFLEET_E2E_LOGS (when set) before the lab folder goes. */
async function keepLogs(dir: string, logs: string): Promise<void> {
  const target = process.env["GITFLEET_E2E_LOGS"];
  if (!target) return;
  const files = await readdir(logs).catch(() => []);
  if (files.length === 0) return;
  const into = join(target, `chaos-${Date.now()}`);
  await mkdir(into, { recursive: true });
  for (const f of files) await cp(join(logs, f), join(into, f)).catch(() => undefined);
  void dir;
}
