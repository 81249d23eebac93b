import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { createNatsAccounts, type NatsAccounts } from "./nats-accounts.js";
import { mintUserCreds } from "./nats-users.js";
import { freePort } from "./ports.js";
import { startProcess, waitFor, type LabProcess } from "./process.js";

/** Options for {@link startNats}. */
export interface NatsLabOptions {
  /** Path of the nats-server binary. */
  binary: string;
  /** An existing folder owned by the lab: config, JetStream store, creds and log go here. */
  dir: string;
  /** Passed through to {@link startProcess}: let the server outlive this process. */
  detached?: boolean;
  /** How long to wait for the server to become ready; default 30 s. */
  readyTimeoutMs?: number;
  /**
   * Number of servers: 1 (default) runs one server; 3 or more run a JetStream cluster whose
   * servers route to each other on loopback, each with its own store and resolver folder.
   */
  nodes?: number;
}

/** One server of the lab's NATS (the only one, or a member of the cluster). */
export interface NatsNode {
  /** The server's `server_name`, e.g. `gitfleet-lab-2` (also its name in the JetStream meta group). */
  readonly name: string;
  /** Client URL, `nats://127.0.0.1:PORT`; the same across stop/start. */
  readonly url: string;
  /** Monitoring endpoint base URL, `http://127.0.0.1:PORT`. */
  readonly monitorUrl: string;
  /** The current process; replaced by {@link NatsNode.start}. */
  readonly process: LabProcess;
  /** True while the server process runs. */
  running(): boolean;
  /** Stops the server (SIGTERM); its folder and store stay. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, as a crash would; its folder and store stay. */
  kill(): Promise<void>;
  /**
   * Starts a stopped or killed server again on the same ports, config and store and resolves once
   * it is healthy: in a cluster that means it rejoined and JetStream on it caught up. No-op while it runs.
   */
  start(): Promise<void>;
}

/** A running lab NATS (one server or a cluster) with JetStream and operator/JWT auth. */
export interface NatsLab {
  /** Client URL of the first server, `nats://127.0.0.1:PORT`. */
  readonly url: string;
  /** Client URLs of every server, the first one first. */
  readonly urls: readonly string[];
  /** Monitoring endpoint base URL of the first server, `http://127.0.0.1:PORT`. */
  readonly monitorUrl: string;
  /** Every server, in order; one for a single-server lab. */
  readonly nodes: readonly NatsNode[];
  /** `.creds` file of an unrestricted user of the application account. */
  readonly adminCredsPath: string;
  /** Public key of the application account ("GITFLEET"). */
  readonly accountPublicKey: string;
  /** Seed of the application account's signing key, for minting the hub's users. */
  readonly accountSigningSeed: string;
  /** Public key of the agents account ("AGENTS"). */
  readonly agentAccountPublicKey: string;
  /** Seed of the agents account's scoped signing key, for minting agent users (the hub's job). */
  readonly agentSigningSeed: string;
  readonly operatorPublicKey: string;
  /** Seed of the operator's signing key: re-signs the agents account JWT to revoke users. */
  readonly operatorSigningSeed: string;
  /** `.creds` file of a system account user: pushes account JWT updates to the resolver. */
  readonly systemCredsPath: string;
  /** The first server's current process; replaced by {@link NatsLab.restart}. */
  readonly process: LabProcess;
  /** Every server's current process. */
  readonly processes: readonly LabProcess[];
  /** Stops every server; the folders and stores stay. */
  stop(): Promise<void>;
  /**
   * Stops every server and starts them again on the same ports, config and store,
   * so tests can simulate a NATS outage; JetStream data survives.
   */
  restart(): Promise<void>;
}

/** Name of the lab's NATS cluster (the `cluster.name` of each server). */
export const natsClusterName = "gitfleet-lab";

/**
 * Starts nats-server on loopback with JetStream (file storage), the full account resolver and
 * a fresh operator, system account, "GITFLEET" application account and "AGENTS" account, and resolves
 * once JetStream answers for the admin user. With `nodes` ≥ 2 it starts a JetStream cluster
 * sharing that trust chain and resolves once the cluster has a meta leader that every server knows.
 */
export async function startNats(options: NatsLabOptions): Promise<NatsLab> {
  // A port found free can be taken by another process before nats-server binds it: such a start
  // is tried again on new ports, as the kube lab does.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsOnce(options);
    } catch (err) {
      const logs = await Promise.all(natsLogPaths(options).map((path) => readFile(path, "utf8").catch(() => "")));
      if (attempt >= 3 || !logs.some((log) => /address already in use/.test(log))) throw err;
      await Promise.all(natsLogPaths(options).map((path) => rm(path, { force: true })));
    }
  }
}

function natsLogPaths(options: NatsLabOptions): string[] {
  const count = options.nodes ?? 1;
  if (count <= 1) return [join(options.dir, "nats-server.log")];
  return Array.from({ length: count }, (_, i) => join(options.dir, `node-${i + 1}`, "nats-server.log"));
}

async function startNatsOnce(options: NatsLabOptions): Promise<NatsLab> {
  const count = options.nodes ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error(`nodes must be a whole number of at least 1, got ${count}`);
  const clustered = count > 1;
  const ports = await Promise.all(
    Array.from({ length: count }, async () => {
      const [client, monitor, cluster] = await Promise.all([freePort(), freePort(), clustered ? freePort() : Promise.resolve(0)]);
      return { client, monitor, cluster };
    }),
  );
  const accounts = await createNatsAccounts();

  const operatorPath = join(options.dir, "operator.jwt");
  await writeFile(operatorPath, accounts.operatorJwt);
  const admin = await mintUserCreds({
    accountPublicKey: accounts.accountPublicKey,
    accountSigningSeed: accounts.accountSigningSeed,
    name: "admin",
  });
  const adminCredsPath = join(options.dir, "admin.creds");
  await writeFile(adminCredsPath, admin.creds, { mode: 0o600 });
  const systemCredsPath = join(options.dir, "system.creds");
  await writeFile(systemCredsPath, accounts.systemCreds, { mode: 0o600 });
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const routes = clustered ? ports.map((p) => `nats://127.0.0.1:${p.cluster}`) : [];

  const nodes = await Promise.all(
    ports.map(async (p, i) => {
      // A single server keeps the layout it always had; cluster members get a folder each.
      const nodeDir = clustered ? join(options.dir, `node-${i + 1}`) : options.dir;
      const name = clustered ? `${natsClusterName}-${i + 1}` : natsClusterName;
      const storeDir = join(nodeDir, "jetstream");
      const resolverDir = join(nodeDir, "accounts");
      await mkdir(storeDir, { recursive: true });
      await mkdir(resolverDir, { recursive: true });
      const configPath = join(nodeDir, "nats-server.conf");
      const cluster = clustered ? { port: p.cluster, routes } : undefined;
      await writeFile(
        configPath,
        serverConfig({ name, port: p.client, monitorPort: p.monitor, storeDir, resolverDir, operatorPath, accounts, cluster }),
      );
      return createNode({
        name,
        url: `nats://127.0.0.1:${p.client}`,
        monitorUrl: `http://127.0.0.1:${p.monitor}`,
        configPath,
        logFile: join(nodeDir, "nats-server.log"),
        binary: options.binary,
        detached: options.detached,
        adminCredsPath,
        readyTimeoutMs,
      });
    }),
  );

  const startAll = async (): Promise<void> => {
    const results = await Promise.allSettled(nodes.map((n) => n.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      await Promise.allSettled(nodes.map((n) => n.stop()));
      throw failed.reason;
    }
    if (clustered) await waitForMetaLeader(nodes, readyTimeoutMs);
  };
  await startAll();

  const first = nodes[0]!;
  return {
    url: first.url,
    urls: nodes.map((n) => n.url),
    monitorUrl: first.monitorUrl,
    nodes,
    adminCredsPath,
    accountPublicKey: accounts.accountPublicKey,
    accountSigningSeed: accounts.accountSigningSeed,
    agentAccountPublicKey: accounts.agentAccountPublicKey,
    agentSigningSeed: accounts.agentSigningSeed,
    operatorPublicKey: accounts.operatorPublicKey,
    operatorSigningSeed: accounts.operatorSigningSeed,
    systemCredsPath,
    get process() {
      return first.process;
    },
    get processes() {
      return nodes.map((n) => n.process);
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
    async restart() {
      await Promise.all(nodes.map((n) => n.stop()));
      await startAll();
    },
  };
}

interface NodeInput {
  name: string;
  url: string;
  monitorUrl: string;
  configPath: string;
  logFile: string;
  binary: string;
  detached: boolean | undefined;
  adminCredsPath: string;
  readyTimeoutMs: number;
}

/** A server that is not started yet; {@link NatsNode.start} launches it and waits until it is ready. */
function createNode(n: NodeInput): NatsNode {
  let current: LabProcess | undefined;
  // One start at a time: a second caller waits for the first.
  let starting: Promise<void> | undefined;
  const launch = async (): Promise<void> => {
    const proc = await startProcess({
      name: n.name === natsClusterName ? "nats-server" : `nats-server ${n.name}`,
      command: n.binary,
      args: ["--config", n.configPath],
      logFile: n.logFile,
      ...(n.detached !== undefined ? { detached: n.detached } : {}),
    });
    current = proc;
    try {
      await waitForReady({ url: n.url, monitorUrl: n.monitorUrl, adminCredsPath: n.adminCredsPath, proc, timeoutMs: n.readyTimeoutMs });
    } catch (err) {
      await proc.stop();
      throw err;
    }
  };
  const running = (): boolean => current !== undefined && !current.hasExited();
  return {
    name: n.name,
    url: n.url,
    monitorUrl: n.monitorUrl,
    get process() {
      if (!current) throw new Error(`${n.name} was never started`);
      return current;
    },
    running,
    async start() {
      if (starting) return starting;
      if (running()) return;
      starting = launch().finally(() => (starting = undefined));
      return starting;
    },
    async stop() {
      await starting?.catch(() => undefined);
      await current?.stop();
    },
    async kill() {
      const proc = current;
      if (!proc || proc.hasExited()) return;
      try {
        process.kill(proc.pid, "SIGKILL");
      } catch {
        // already gone
      }
      await proc.exited;
    },
  };
}

interface ConfigInput {
  name: string;
  port: number;
  monitorPort: number;
  storeDir: string;
  resolverDir: string;
  operatorPath: string;
  accounts: NatsAccounts;
  /** Set for a cluster member: its route port and every member's route URL. */
  cluster: { port: number; routes: readonly string[] } | undefined;
}

/** Renders nats-server.conf; JSON strings are valid quoted strings in its syntax. */
function serverConfig(c: ConfigInput): string {
  const q = (s: string): string => JSON.stringify(s);
  const cluster = c.cluster
    ? [
        "cluster {",
        `  name: ${q(natsClusterName)}`,
        `  listen: ${q(`127.0.0.1:${c.cluster.port}`)}`,
        `  routes: [${c.cluster.routes.map(q).join(", ")}]`,
        // Clients use the URLs they are given and learn no others: a client that reaches the
        // cluster through a fault proxy must not bypass it on its next reconnect.
        "  no_advertise: true",
        "}",
      ]
    : [];
  return [
    "# Written by the gitfleet lab (e2e/src/lab/nats.ts); keys are fresh for every lab.",
    `server_name: ${q(c.name)}`,
    ...(process.env["GITFLEET_LAB_NATS_DEBUG"] ? ["debug: true"] : []),
    `listen: ${q(`127.0.0.1:${c.port}`)}`,
    `http: ${q(`127.0.0.1:${c.monitorPort}`)}`,
    "jetstream {",
    `  store_dir: ${q(c.storeDir)}`,
    "}",
    ...cluster,
    `operator: ${q(c.operatorPath)}`,
    `system_account: ${q(c.accounts.systemAccountPublicKey)}`,
    // The full (directory) resolver, so that the hub can push the agents account's
    // revocations; the preloads seed it and never replace a newer JWT it holds. In a cluster
    // every server runs one: a push reaches all of them over the routes. A server that was
    // down during a push learns it only at its next sync with the others, `interval` after it
    // started (nats-server sends no sync at start), and until then accepts a revoked user:
    // the cluster syncs every 10 s to keep that window short.
    "resolver {",
    "  type: full",
    `  dir: ${q(c.resolverDir)}`,
    "  allow_delete: false",
    `  interval: ${q(c.cluster ? "10s" : "2m")}`,
    "}",
    "resolver_preload: {",
    `  ${c.accounts.systemAccountPublicKey}: ${q(c.accounts.systemAccountJwt)}`,
    `  ${c.accounts.accountPublicKey}: ${q(c.accounts.accountJwt)}`,
    `  ${c.accounts.agentAccountPublicKey}: ${q(c.accounts.agentAccountJwt)}`,
    "}",
    "",
  ].join("\n");
}

/** Waits until every running server names the same JetStream meta leader. */
async function waitForMetaLeader(nodes: readonly NatsNode[], timeoutMs: number): Promise<string> {
  return await waitFor(
    async () => {
      const leaders = await Promise.all(
        nodes.map(async (n) => {
          const res = await fetch(`${n.monitorUrl}/jsz`);
          if (!res.ok) throw new Error(`${n.name} /jsz answered ${res.status}`);
          const body = (await res.json()) as { meta_cluster?: { leader?: string } };
          return body.meta_cluster?.leader ?? "";
        }),
      );
      const leader = leaders[0];
      if (!leader) throw new Error("no JetStream meta leader yet");
      if (leaders.some((l) => l !== leader)) throw new Error(`servers name different meta leaders: ${leaders.join(", ")}`);
      return leader;
    },
    { what: "a JetStream meta leader that every NATS server knows", timeoutMs, process: nodes.map((n) => n.process) },
  );
}

interface ReadyInput {
  url: string;
  monitorUrl: string;
  adminCredsPath: string;
  proc: LabProcess;
  timeoutMs: number;
}

/**
 * Ready means: the health endpoint reports JetStream healthy (after a restart
 * that includes recovering the store), and the admin user can reach the
 * JetStream API of its account, which proves the whole JWT chain.
 */
async function waitForReady(r: ReadyInput): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`${r.monitorUrl}/healthz`);
      if (!res.ok) throw new Error(`healthz answered ${res.status}: ${await res.text()}`);
      return true;
    },
    { what: `nats-server health at ${r.monitorUrl}/healthz`, timeoutMs: r.timeoutMs, process: r.proc },
  );
  const creds = await readFile(r.adminCredsPath);
  await waitFor(
    async () => {
      const nc = await connect({
        servers: r.url,
        authenticator: credsAuthenticator(creds),
        reconnect: false,
        timeout: 2_000,
      });
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    },
    { what: `JetStream for the admin user at ${r.url}`, timeoutMs: r.timeoutMs, process: r.proc },
  );
}
