// A hub and agents run as their own processes from the built packages (npm run build), the way
// they run in production, against a lab: for benchmarks that measure a process, not a test runner.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { openSync } from "node:fs";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createHubClient, type HubClient } from "@gitfleet/hub";
import { natsReplicas, type Lab } from "../src/lab/lab.js";
import { freePort } from "../src/lab/ports.js";
import { waitFor } from "../src/lab/process.js";
import { selfSignedCert } from "../src/fleet/tls.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

/** Builds the hub and the agent packages (turbo caches what did not change). */
export async function buildHubAndAgent(): Promise<void> {
  await run("npx", ["turbo", "run", "build", "--filter=@gitfleet/hub", "--filter=@gitfleet/agent"], { cwd: root });
}

/** Options of {@link startHubProcess}. */
export interface HubProcessOptions {
  /** Extra environment of the hub (GITFLEET_*), e.g. the heartbeat interval. */
  env?: NodeJS.ProcessEnv;
}

/** A hub process and what its clients need. */
export interface HubProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly api: HubClient;
  readonly adminToken: string;
  readonly webhookSecret: string;
  /** Stops the hub (SIGTERM) and starts it again on the same ports and state; resolves once it is ready. */
  restart(): Promise<void>;
  /** `127.0.0.1:port` of the hub's gRPC AgentService (TLS). */
  readonly grpcAddress: string;
  /** The CA (the hub's self-signed certificate, PEM) agents verify the gRPC server with. */
  readonly caPem: string;
  /** Calls the hub's Git push webhook, signed as a Git host signs it. */
  webhook(): Promise<void>;
  /** Starts an agent process for a lab cluster; it registers with a fresh token on its first start. */
  startAgent(cluster: string, labels: string, env?: NodeJS.ProcessEnv): Promise<ChildProcess>;
  /** Stops every process started here (SIGTERM) and waits for them. */
  stop(): Promise<void>;
}

/** Starts a hub process on the lab's NATS and Git server; resolves once it is ready. */
export async function startHubProcess(lab: Lab, options: HubProcessOptions = {}): Promise<HubProcess> {
  const info = lab.info();
  const tls = await selfSignedCert(lab.dir);
  const adminToken = randomBytes(24).toString("base64url");
  const webhookSecret = randomBytes(16).toString("hex");
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const logs = join(lab.dir, "bench-logs");
  await mkdir(logs, { recursive: true });
  const caFile = join(lab.dir, "hub-ca.crt");
  await writeFile(caFile, tls.certPem);
  const children: ChildProcess[] = [];
  const start = (name: string, script: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): ChildProcess => {
    const out = openSync(join(logs, `${name}.log`), "a");
    const child = spawn(process.execPath, [...nodeArgs, join(root, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", out, out] });
    children.push(child);
    return child;
  };
  const stop = async (): Promise<void> => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once("exit", r)))));
    // GITFLEET_E2E_LOGS keeps the processes' logs, as it does for the end-to-end tests.
    const keep = process.env["GITFLEET_E2E_LOGS"];
    if (keep) await cp(logs, join(keep, `bench-${Date.now()}`), { recursive: true });
  };
  const hubEnv: NodeJS.ProcessEnv = {
    // Every server of the lab's NATS; on a cluster the hub keeps 3 replicas of its buckets.
    GITFLEET_NATS_URL: info.nats.urls.join(","),
    GITFLEET_NATS_REPLICAS: String(natsReplicas(info.nats.urls.length)),
    GITFLEET_NATS_CREDS: info.nats.creds,
    GITFLEET_NATS_AGENT_ACCOUNT: info.nats.agentAccountPublicKey,
    GITFLEET_NATS_AGENT_SIGNING_SEED: info.nats.agentSigningSeed,
    GITFLEET_NATS_OPERATOR_SIGNING_SEED: info.nats.operatorSigningSeed,
    GITFLEET_NATS_SYSTEM_CREDS: info.nats.systemCreds,
    GITFLEET_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    GITFLEET_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
    GITFLEET_GRPC_TLS_CERT: tls.certPath,
    GITFLEET_GRPC_TLS_KEY: tls.keyPath,
    GITFLEET_ADMIN_TOKEN: adminToken,
    GITFLEET_WEBHOOK_SECRET: webhookSecret,
    GITFLEET_GIT_URL: info.git.url,
    GITFLEET_GIT_POLL_INTERVAL: "1h",
    GITFLEET_LOG_LEVEL: process.env["GITFLEET_BENCH_LOG_LEVEL"] ?? "warn",
    ...options.env,
  };
  // GITFLEET_BENCH_HUB_PROF=<dir> writes a CPU profile of the hub there when it stops.
  const profile = process.env["GITFLEET_BENCH_HUB_PROF"];
  const hubArgs = profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [];
  let child = start("hub", "hub/dist/main.js", [], hubEnv, hubArgs);
  const url = `http://127.0.0.1:${httpPort}`;
  const api = createHubClient({ url, token: adminToken });
  try {
    await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok, { what: "hub ready", timeoutMs: 60_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    get child() {
      return child;
    },
    async restart() {
      await stopChild(child);
      child = start("hub", "hub/dist/main.js", [], hubEnv, hubArgs);
      await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok, { what: "hub ready again", timeoutMs: 120_000 });
    },
    url,
    api,
    adminToken,
    webhookSecret,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    caPem: tls.certPem.toString("utf8"),
    async webhook() {
      const body = JSON.stringify({ ref: "refs/heads/main" });
      const signature = `sha256=${createHmac("sha256", webhookSecret).update(body).digest("hex")}`;
      const res = await fetch(`${url}/api/v1/webhooks/git`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signature },
        body,
      });
      if (!res.ok) throw new Error(`the hub's webhook answered ${res.status}`);
    },
    async startAgent(cluster, labels, env = {}) {
      // The token sets the cluster's labels: agents may only ask for what their token allows.
      const preset = Object.fromEntries(labels.split(",").filter(Boolean).map((pair) => pair.split("=", 2) as [string, string]));
      const token = await api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 1, labels: preset });
      const kubeconfig = info.clusters.find((x) => x.name === cluster)?.kubeconfig ?? "";
      // The agent's name in its log file: a restarted agent appends to the same file.
      return start(`agent-${cluster}`, "agent/dist/main.js", [
        "--hub", `localhost:${grpcPort}`, "--hub-ca", caFile, "--token", token.secret, "--cluster-name", cluster,
        "--labels", labels, "--kubeconfig", kubeconfig, "--health-addr", "off",
      ], { GITFLEET_LOG_LEVEL: process.env["GITFLEET_BENCH_LOG_LEVEL"] ?? "warn", ...env });
    },
    stop,
  };
}

/** Stops one child process with SIGTERM and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}
