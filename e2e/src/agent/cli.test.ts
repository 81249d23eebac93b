// gitfleet-agent as a process: a registration refusal ends it with the hub's message in one
// line; the former variable names still work, with a warning; a registered agent opens its
// status stream with its bearer token and stops cleanly on SIGTERM. The hub here is a stub gRPC
// server speaking the real AgentService.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { AgentService, GrpcStatus, RpcError, addService } from "@gitfleet/proto";
import type { AgentMessage, ServiceImplementation } from "@gitfleet/proto";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { startKubeApiserver } from "../lab/kube.js";
import type { KubeApiserver } from "../lab/kube.js";
import { waitFor } from "../lab/process.js";
import { skipUnlessTool } from "../lab/skip.js";

const binary = process.env["GITFLEET_KUBE_APISERVER_BIN"];
const skip = skipUnlessTool(binary ? false : "GITFLEET_KUBE_APISERVER_BIN is not set (path of the lab's kube-apiserver binary; `npm test` builds it)");
const agentMain = fileURLToPath(new URL("../../../agent/src/main.ts", import.meta.url));
const token = `gf_reg_${"k".repeat(43)}`;
const clusterId = "czyxwvutsrqponmlkjihg";

/** A stub hub on loopback; `implementation` decides its answers. */
async function stubHub(implementation: ServiceImplementation<typeof AgentService>): Promise<{ address: string; stop(): Promise<void> }> {
  const server = new Server();
  addService(server, AgentService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

// The agent's own variables and the CLI's are cleared, so only what a test gives counts.
const agentEnv = (env: Record<string, string>): NodeJS.ProcessEnv => {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^GITFLEET_(HUB|TOKEN|HUB_ADDRESS|REGISTRATION_TOKEN)$/.test(name)));
  return { ...base, ...env };
};

function runAgent(kubeconfig: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    ["--conditions=@gitfleet/source", "--import", "tsx", agentMain, "--kubeconfig", kubeconfig, "--plaintext", "--namespace", "gitfleet-cli", "--health-addr", "127.0.0.1:0", ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: agentEnv(env) },
  );
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, stderr: () => stderr, stdout: () => stdout };
}

describe("gitfleet-agent as a process", { skip }, () => {
  let dir: string;
  let kas: KubeApiserver;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-agent-cli-"));
    kas = await startKubeApiserver({ name: "agent-cli", binary: binary ?? "", dir });
  });

  after(async () => {
    await kas?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("ends with the hub's refusal in one clear line", async () => {
    const hub = await stubHub({
      register: () => {
        throw new RpcError(GrpcStatus.UNAUTHENTICATED, "registration token tok9 expired at 2026-01-01T00:00:00Z");
      },
      connect: () => {
        throw new RpcError(GrpcStatus.UNIMPLEMENTED, "not in this test");
      },
      renew: () => {
        throw new RpcError(GrpcStatus.UNIMPLEMENTED, "not in this test");
      },
    });
    try {
      const agent = runAgent(kas.kubeconfig, ["--hub", hub.address, "--token", token, "--cluster-name", "lab-cli", "--log-level", "silent"]);
      assert.equal(await agent.exited, 1);
      assert.equal(agent.stderr(), `gitfleet-agent: registration refused by the hub at ${hub.address}: registration token tok9 expired at 2026-01-01T00:00:00Z\n`);
    } finally {
      await hub.stop();
    }
  });

  it("still takes the hub and token from GITFLEET_HUB and GITFLEET_TOKEN, and warns once to rename each", async () => {
    const hub = await stubHub({
      register: (request) => {
        throw new RpcError(GrpcStatus.ALREADY_EXISTS, `cluster name ${request.clusterName} is taken`);
      },
      connect: () => {
        throw new RpcError(GrpcStatus.UNIMPLEMENTED, "not in this test");
      },
      renew: () => {
        throw new RpcError(GrpcStatus.UNIMPLEMENTED, "not in this test");
      },
    });
    try {
      const agent = runAgent(kas.kubeconfig, ["--cluster-name", "lab-old-env", "--log-level", "warn"], { GITFLEET_HUB: hub.address, GITFLEET_TOKEN: token });
      assert.equal(await agent.exited, 1);
      assert.equal(agent.stderr(), `gitfleet-agent: registration refused by the hub at ${hub.address}: cluster name lab-old-env is taken\n`);
      const warnings = agent
        .stdout()
        .split("\n")
        .filter((line) => line.includes("is deprecated"))
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      assert.equal(warnings.length, 2, agent.stdout());
      assert.match(warnings[0] ?? "", /^GITFLEET_HUB is deprecated for gitfleet-agent: set GITFLEET_HUB_ADDRESS instead/);
      assert.match(warnings[1] ?? "", /^GITFLEET_TOKEN is deprecated for gitfleet-agent: set GITFLEET_REGISTRATION_TOKEN instead/);
    } finally {
      await hub.stop();
    }
  });

  it("registers, streams heartbeats with its bearer token, and stops cleanly on SIGTERM", async () => {
    const seen: { authorization: string[]; messages: AgentMessage[] } = { authorization: [], messages: [] };
    const hub = await stubHub({
      register: (request) => ({
        clusterId,
        clusterName: request.clusterName,
        labels: request.labels,
        credentials: {
          natsUserJwt: "eyJ.unused",
          grpcToken: "gf_agt_cli.token",
          // Nothing listens here: the agent must keep running without NATS.
          natsServers: ["nats://127.0.0.1:1"],
          natsInboxPrefix: `_INBOX_${clusterId}`,
          expiresAt: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600) },
        },
        desiredState: { kvBucket: "gitfleet_desired", keyPrefix: clusterId },
        heartbeatIntervalSeconds: 15,
      }),
      connect: (call) =>
        new Promise<void>((resolve) => {
          seen.authorization.push(...call.metadata.get("authorization").map(String));
          call.write({ kind: { case: "welcome", value: { clusterId, heartbeatIntervalSeconds: 15 } } });
          call.on("data", (m: AgentMessage) => seen.messages.push(m));
          call.on("end", () => {
            call.end();
            resolve();
          });
          call.on("cancelled", () => resolve());
        }),
      renew: () => {
        throw new RpcError(GrpcStatus.UNIMPLEMENTED, "not in this test");
      },
    });
    try {
      const agent = runAgent(kas.kubeconfig, ["--cluster-name", "lab-cli", "--labels", "region=eu"], { GITFLEET_HUB_ADDRESS: hub.address, GITFLEET_REGISTRATION_TOKEN: token });
      await waitFor(
        () => {
          if (agent.child.exitCode !== null) throw new Error(`the agent exited: ${agent.stderr()}`);
          return seen.messages.some((m) => m.kind.case === "heartbeat");
        },
        { what: "a heartbeat on the status stream", timeoutMs: 30_000 },
      );
      assert.deepEqual(seen.authorization, ["Bearer gf_agt_cli.token"]);
      agent.child.kill("SIGTERM");
      assert.equal(await agent.exited, 0, agent.stderr());
      assert.match(agent.stdout(), /"msg":"agent stopped"/);
    } finally {
      await hub.stop();
    }
  });
});
