import { mkdir, readFile, writeFile } from "node:fs/promises";
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
}

/** A running lab NATS server with JetStream and operator/JWT auth. */
export interface NatsLab {
  /** Client URL, `nats://127.0.0.1:PORT`. */
  readonly url: string;
  /** Monitoring endpoint base URL, `http://127.0.0.1:PORT`. */
  readonly monitorUrl: string;
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
  /** The current server process; replaced by {@link NatsLab.restart}. */
  readonly process: LabProcess;
  /** Stops the server; the folder and its store stay. */
  stop(): Promise<void>;
  /**
   * Stops the server and starts it again on the same ports, config and store,
   * so tests can simulate a NATS outage; JetStream data survives.
   */
  restart(): Promise<void>;
}

/**
 * Starts nats-server on loopback with JetStream (file storage), the full account resolver and
 * a fresh operator, system account, "GITFLEET" application account and "AGENTS" account, and resolves
 * once JetStream answers for the admin user.
 */
export async function startNats(options: NatsLabOptions): Promise<NatsLab> {
  const [port, monitorPort] = await Promise.all([freePort(), freePort()]);
  const accounts = await createNatsAccounts();
  const storeDir = join(options.dir, "jetstream");
  await mkdir(storeDir, { recursive: true });

  const resolverDir = join(options.dir, "accounts");
  await mkdir(resolverDir, { recursive: true });
  const operatorPath = join(options.dir, "operator.jwt");
  await writeFile(operatorPath, accounts.operatorJwt);
  const configPath = join(options.dir, "nats-server.conf");
  await writeFile(configPath, serverConfig({ port, monitorPort, storeDir, resolverDir, operatorPath, accounts }));

  const admin = await mintUserCreds({
    accountPublicKey: accounts.accountPublicKey,
    accountSigningSeed: accounts.accountSigningSeed,
    name: "admin",
  });
  const adminCredsPath = join(options.dir, "admin.creds");
  await writeFile(adminCredsPath, admin.creds, { mode: 0o600 });
  const systemCredsPath = join(options.dir, "system.creds");
  await writeFile(systemCredsPath, accounts.systemCreds, { mode: 0o600 });

  const url = `nats://127.0.0.1:${port}`;
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;

  const launch = async (): Promise<LabProcess> => {
    const proc = await startProcess({
      name: "nats-server",
      command: options.binary,
      args: ["--config", configPath],
      logFile: join(options.dir, "nats-server.log"),
      ...(options.detached !== undefined ? { detached: options.detached } : {}),
    });
    try {
      await waitForReady({ url, monitorUrl, adminCredsPath, proc, timeoutMs: readyTimeoutMs });
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  };

  let current = await launch();
  return {
    url,
    monitorUrl,
    adminCredsPath,
    accountPublicKey: accounts.accountPublicKey,
    accountSigningSeed: accounts.accountSigningSeed,
    agentAccountPublicKey: accounts.agentAccountPublicKey,
    agentSigningSeed: accounts.agentSigningSeed,
    operatorPublicKey: accounts.operatorPublicKey,
    operatorSigningSeed: accounts.operatorSigningSeed,
    systemCredsPath,
    get process() {
      return current;
    },
    async stop() {
      await current.stop();
    },
    async restart() {
      await current.stop();
      current = await launch();
    },
  };
}

interface ConfigInput {
  port: number;
  monitorPort: number;
  storeDir: string;
  resolverDir: string;
  operatorPath: string;
  accounts: NatsAccounts;
}

/** Renders nats-server.conf; JSON strings are valid quoted strings in its syntax. */
function serverConfig(c: ConfigInput): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    "# Written by the gitfleet lab (e2e/src/lab/nats.ts); keys are fresh for every lab.",
    `server_name: "gitfleet-lab"`,
    `listen: ${q(`127.0.0.1:${c.port}`)}`,
    `http: ${q(`127.0.0.1:${c.monitorPort}`)}`,
    "jetstream {",
    `  store_dir: ${q(c.storeDir)}`,
    "}",
    `operator: ${q(c.operatorPath)}`,
    `system_account: ${q(c.accounts.systemAccountPublicKey)}`,
    // The full (directory) resolver, so that the hub can push the agents account's
    // revocations; the preloads seed it and never replace a newer JWT it holds.
    "resolver {",
    "  type: full",
    `  dir: ${q(c.resolverDir)}`,
    "  allow_delete: false",
    `  interval: "2m"`,
    "}",
    "resolver_preload: {",
    `  ${c.accounts.systemAccountPublicKey}: ${q(c.accounts.systemAccountJwt)}`,
    `  ${c.accounts.accountPublicKey}: ${q(c.accounts.accountJwt)}`,
    `  ${c.accounts.agentAccountPublicKey}: ${q(c.accounts.agentAccountJwt)}`,
    "}",
    "",
  ].join("\n");
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
