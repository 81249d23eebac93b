// Scenario: the gitfleet-hub command: configuration errors, the first-start
// admin token, TLS for agents, and a clean stop on SIGTERM.
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { AgentService, createClient, GrpcStatus, RpcError } from "@gitfleet/proto";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import { waitFor } from "../lab/process.js";
import { agentKeys, skipWithoutNats, startNatsFixture, type NatsFixture } from "./harness.js";
import { skipUnlessTool } from "../lab/skip.js";

const mainScript = fileURLToPath(new URL("../../../hub/src/main.ts", import.meta.url));
const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

/** A running gitfleet-hub process and its output so far. */
interface HubProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string;
  exit: Promise<number | null>;
}

function runHub(env: Record<string, string>): HubProcess {
  const child = spawn(process.execPath, ["--conditions=@gitfleet/source", "--import", "tsx", mainScript], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc: HubProcess = {
    child,
    stdout: [],
    stderr: "",
    exit: new Promise((resolve) => child.on("exit", (code) => resolve(code))),
  };
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    proc.stdout.push(...lines);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    proc.stderr += chunk.toString();
  });
  return proc;
}

/** The ports from the "hub started" log line. */
function startedLine(proc: HubProcess): { httpPort: number; grpcPort: number } | undefined {
  for (const line of proc.stdout) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; httpPort?: number; grpcPort?: number };
    if (entry.msg === "hub started" && entry.httpPort && entry.grpcPort) return { httpPort: entry.httpPort, grpcPort: entry.grpcPort };
  }
  return undefined;
}

void describe("the gitfleet-hub command", { skip: skipWithoutNats }, () => {
  let nats: NatsFixture;
  let dir: string;
  let env: Record<string, string>;

  void before(async () => {
    nats = await startNatsFixture();
    dir = await mkdtemp(join(tmpdir(), "gitfleet-hub-main-"));
    await writeFile(join(dir, "hub.creds"), nats.adminCreds, { mode: 0o600 });
    await writeFile(join(dir, "signing.seed"), nats.lab.accountSigningSeed, { mode: 0o600 });
    env = {
      GITFLEET_NATS_URL: nats.lab.url,
      GITFLEET_NATS_CREDS: join(dir, "hub.creds"),
      GITFLEET_NATS_ACCOUNT_SIGNING_SEED_FILE: join(dir, "signing.seed"),
      GITFLEET_HTTP_ADDR: "127.0.0.1:0",
      GITFLEET_GRPC_ADDR: "127.0.0.1:0",
    };
  });

  void after(async () => {
    await nats?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  void it("stops with one line naming a bad setting", async () => {
    const proc = runHub({ ...env, GITFLEET_CREDENTIAL_TTL: "forever" });
    assert.equal(await proc.exit, 2);
    assert.equal(proc.stderr, 'gitfleet-hub: GITFLEET_CREDENTIAL_TTL: "forever" is not a duration; use seconds ("3600") or units like "1h", "30m", "1h30m", "90s"\n');
  });

  void it("refuses to serve plaintext gRPC on 0.0.0.0 unless GITFLEET_GRPC_ALLOW_PLAINTEXT=true, naming the flag", async () => {
    const refused = runHub({ ...env, GITFLEET_GRPC_ADDR: "0.0.0.0:0" });
    assert.equal(await refused.exit, 2);
    assert.match(refused.stderr, /^gitfleet-hub: refusing to serve plaintext gRPC on 0\.0\.0\.0:0 \(not a loopback address\)/);
    assert.match(refused.stderr, /GITFLEET_GRPC_TLS_CERT and GITFLEET_GRPC_TLS_KEY/);
    assert.match(refused.stderr, /GITFLEET_GRPC_ALLOW_PLAINTEXT=true \(--grpc-allow-plaintext\)\n$/);
    assert.equal(startedLine(refused), undefined);

    const allowed = runHub({
      ...env,
      GITFLEET_GRPC_ADDR: "0.0.0.0:0",
      GITFLEET_GRPC_ALLOW_PLAINTEXT: "true",
      // A configured admin token: the first-start token is left for the test below.
      GITFLEET_ADMIN_TOKEN: "plaintext-test-admin-token-0123456789abcdef",
    });
    try {
      const ports = await waitFor(() => startedLine(allowed), { what: `the "hub started" line (stderr: ${allowed.stderr})`, timeoutMs: 20_000 });
      assert.ok(ports.grpcPort > 0);
      assert.ok(allowed.stdout.some((l) => l.includes("serving plaintext gRPC as allowed by GITFLEET_GRPC_ALLOW_PLAINTEXT")), "the hub warns");
    } finally {
      allowed.child.kill("SIGTERM");
      await allowed.exit;
    }
  });

  void it("writes the generated admin token to its file once, never to the log, serves TLS to agents, and stops on SIGTERM", { skip: skipUnlessTool(hasOpenssl ? false : "openssl is not installed") }, async () => {
    const cert = join(dir, "tls.crt");
    const key = join(dir, "tls.key");
    const made = spawnSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert,
    ]);
    assert.equal(made.status, 0, made.stderr.toString());
    const tokenFile = join(dir, "admin-token");
    const tlsEnv = { ...env, GITFLEET_GRPC_TLS_CERT: cert, GITFLEET_GRPC_TLS_KEY: key, GITFLEET_ADMIN_TOKEN_FILE: tokenFile };

    const first = runHub(tlsEnv);
    const ports = await waitFor(() => startedLine(first), { what: `the "hub started" line (stderr: ${first.stderr})`, timeoutMs: 20_000 });
    const adminToken = /^(gf_adm_[A-Za-z0-9_-]{43})\n$/.exec(await readFile(tokenFile, "utf8"))?.[1];
    assert.ok(adminToken, "the file holds the token");
    assert.equal((await stat(tokenFile)).mode & 0o777, 0o600, "only the hub's user can read the file");
    assert.ok(!`${first.stdout.join("\n")}${first.stderr}`.includes(adminToken), "the token is nowhere in the hub's output");
    assert.ok(first.stdout.some((l) => l.includes("generated the admin API token") && l.includes(tokenFile)), "the log says where it is");
    await rm(tokenFile);

    const created = await fetch(`http://127.0.0.1:${ports.httpPort}/api/v1/registration-tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(created.status, 201);
    const { secret } = (await created.json()) as { secret: string };

    // The certificate names localhost; an IP address is not a valid TLS server name.
    const client = createClient(AgentService, `127.0.0.1:${ports.grpcPort}`, grpcCredentials.createSsl(await readFile(cert)), {
      "grpc.ssl_target_name_override": "localhost",
    });
    const keys = agentKeys();
    try {
      const registered = await client.register({
        token: secret,
        clusterName: "over-tls",
        agentVersion: PRODUCT_VERSION,
        keys: { natsUserPublicKey: keys.nats.getPublicKey(), signingPublicKey: keys.signing.getPublicKey() },
      });
      assert.equal(registered.clusterName, "over-tls");
    } finally {
      client.close();
    }
    const plain = createClient(AgentService, `127.0.0.1:${ports.grpcPort}`, grpcCredentials.createInsecure());
    try {
      await assert.rejects(plain.register({ token: secret, clusterName: "plaintext" }), (err) => err instanceof RpcError && err.code === GrpcStatus.UNAVAILABLE);
    } finally {
      plain.close();
    }

    first.child.kill("SIGTERM");
    assert.equal(await first.exit, 0);
    assert.ok(first.stdout.some((l) => l.includes('"msg":"hub stopped"')), "it logs a clean stop");

    const second = runHub(tlsEnv);
    await waitFor(() => startedLine(second), { what: "the second start", timeoutMs: 20_000 });
    assert.ok(!second.stdout.some((l) => l.includes("generated the admin API token")), "a restart generates no token");
    await assert.rejects(stat(tokenFile), "a restart writes no token file");
    second.child.kill("SIGINT");
    assert.equal(await second.exit, 0);
  });
});
