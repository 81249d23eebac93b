// Time from a push (announced by webhook) until every demo cluster is synced,
// and resident memory of the hub and the agents, each run as its own process
// from the built packages (npm run build), the way they run in production.
// Usage: npm run bench:delivery -- [--runs 7]
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { createHubClient } from "@gitfleet/hub";
import { startLab } from "../src/lab/lab.js";
import { waitFor } from "../src/lab/process.js";
import { selfSignedCert } from "../src/fleet/tls.js";
import { freePort } from "../src/lab/ports.js";
import { machineNote, median, table, writeSection } from "./report.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const { values } = parseArgs({ options: { runs: { type: "string", default: "7" } } });
const runs = Number(values.runs);
const clusters = [
  { name: "staging-us", labels: "env=staging,region=us" },
  { name: "prod-us", labels: "env=prod,region=us" },
  { name: "prod-eu", labels: "env=prod,region=eu" },
];

console.log("building hub and agent (npm run build)...");
await run("npx", ["turbo", "run", "build", "--filter=@gitfleet/hub", "--filter=@gitfleet/agent"], { cwd: root });

const rssMiB = async (pid: number): Promise<number> =>
  Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

const seed = await mkdtemp(join(tmpdir(), "gitfleet-bench-seed-"));
await cp(fileURLToPath(new URL("../fixtures/plain-fleet", import.meta.url)), seed, { recursive: true });
const lab = await startLab({ clusterNames: clusters.map((c) => c.name), seeds: { fleet: seed } });
const children: ChildProcess[] = [];
try {
  const info = lab.info();
  const tls = await selfSignedCert(lab.dir);
  const adminToken = randomBytes(24).toString("base64url");
  const webhookSecret = randomBytes(16).toString("hex");
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const logs = join(lab.dir, "bench-logs");
  await mkdir(logs);
  const start = async (name: string, script: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> => {
    const out = await import("node:fs").then((fs) => fs.openSync(join(logs, `${name}.log`), "a"));
    const child = spawn(process.execPath, [join(root, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", out, out] });
    children.push(child);
    return child;
  };
  const hub = await start("hub", "hub/dist/main.js", [], {
    GITFLEET_NATS_URL: info.nats.url,
    GITFLEET_NATS_CREDS: info.nats.creds,
    GITFLEET_NATS_ACCOUNT_SIGNING_SEED: info.nats.accountSigningSeed,
    GITFLEET_HTTP_ADDR: `127.0.0.1:${httpPort}`,
    GITFLEET_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
    GITFLEET_GRPC_TLS_CERT: tls.certPath,
    GITFLEET_GRPC_TLS_KEY: tls.keyPath,
    GITFLEET_ADMIN_TOKEN: adminToken,
    GITFLEET_WEBHOOK_SECRET: webhookSecret,
    GITFLEET_GIT_URL: info.git.url,
    GITFLEET_GIT_POLL_INTERVAL: "1h",
    GITFLEET_LOG_LEVEL: "warn",
  });
  const hubUrl = `http://127.0.0.1:${httpPort}`;
  const api = createHubClient({ url: hubUrl, token: adminToken });
  await waitFor(async () => (await fetch(`${hubUrl}/readyz`)).ok, { what: "hub ready", timeoutMs: 60_000 });
  const token = await api.post<{ secret: string }>("/registration-tokens", { ttl: "1h", maxUses: 3 });
  const caFile = join(lab.dir, "hub-ca.crt");
  await writeFile(caFile, tls.certPem);
  const agents: ChildProcess[] = [];
  for (const c of clusters) {
    const kubeconfig = info.clusters.find((x) => x.name === c.name)?.kubeconfig ?? "";
    agents.push(
      await start(`agent-${c.name}`, "agent/dist/main.js", [
        "--hub", `localhost:${grpcPort}`, "--hub-ca", caFile, "--token", token.secret, "--cluster-name", c.name,
        "--labels", c.labels, "--kubeconfig", kubeconfig, "--health-addr", "127.0.0.1:0",
      ], { GITFLEET_LOG_LEVEL: "warn" }),
    );
  }
  const synced = async (sha: string): Promise<boolean> => {
    for (const c of clusters) {
      const s = await api.get<{ observedRevision?: string; bundles?: { sync: string }[] }>(`/clusters/${c.name}`);
      if (s.observedRevision !== sha || !(s.bundles ?? []).length || s.bundles?.some((b) => b.sync !== "synced")) return false;
    }
    return true;
  };
  const repo = join(lab.dir, "bench-repo");
  await run("git", ["clone", "--quiet", info.git.url, repo]);
  const head = (await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim();
  await waitFor(() => synced(head), { what: "all clusters synced", timeoutMs: 120_000, intervalMs: 100 });

  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await writeFile(join(repo, "platform", "bench.yaml"), `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench\n  namespace: observability\ndata:\n  run: "${i}"\n`);
    await run("git", ["-C", repo, "add", "-A"]);
    await run("git", ["-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@gitfleet.invalid", "commit", "-q", "-m", `bench ${i}`]);
    await run("git", ["-C", repo, "push", "--quiet", "origin", "HEAD:main"]);
    const sha = (await run("git", ["-C", repo, "rev-parse", "HEAD"])).stdout.trim();
    const body = JSON.stringify({ ref: "refs/heads/main", after: sha });
    const t0 = performance.now();
    await fetch(`${hubUrl}/api/v1/webhooks/git`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": `sha256=${createHmac("sha256", webhookSecret).update(body).digest("hex")}` },
      body,
    });
    await waitFor(() => synced(sha), { what: `run ${i} synced`, timeoutMs: 60_000, intervalMs: 20 });
    times.push(performance.now() - t0);
    console.log(`run ${i + 1}/${runs}: ${(times.at(-1) ?? 0).toFixed(0)} ms`);
  }
  console.log("letting the fleet rest for 20 s before reading memory...");
  await new Promise((r) => setTimeout(r, 20_000));
  const agentRss = await Promise.all(agents.map((a) => rssMiB(a.pid ?? 0)));
  const hubRss = await rssMiB(hub.pid ?? 0);

  const out = [
    table(
      ["measure", "runs", "median", "min", "max"],
      [
        ["webhook → all 3 clusters synced (ms)", String(runs), median(times).toFixed(0), Math.min(...times).toFixed(0), Math.max(...times).toFixed(0)],
        ["agent RSS at rest (MiB)", String(agentRss.length), median(agentRss).toFixed(0), Math.min(...agentRss).toFixed(0), Math.max(...agentRss).toFixed(0)],
        ["hub RSS with 3 clusters (MiB)", "1", hubRss.toFixed(0), "", ""],
      ],
    ),
    "",
    `Machine: ${machineNote()}. Hub and agents run as separate processes from the built packages; each run pushes a commit that changes the platform bundle (all 3 clusters) and calls the webhook; "synced" is read from the hub API (observed revision and every bundle synced), polled every 20 ms.`,
  ].join("\n");
  console.log(`\n${out}`);
  await writeSection("delivery", "Push to synced, and memory (`npm run bench:delivery`)", out);
} finally {
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
  await lab.stop();
  await rm(seed, { recursive: true, force: true });
}
