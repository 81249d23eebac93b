// The agent as a whole, in-process, against a real kube-apiserver with a stand-in hub and no
// NATS: the identity Secret is written on first start and reused after a restart, a refusal
// ends start() with the hub's message, and a restarted agent enforces its stored desired state.
import { strict as assert } from "node:assert";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { IDENTITY_SECRET, RegistrationError, STATE_SECRET, createAgent, createKubeClient, loadKubeConfig } from "@gitfleet/agent";
import type { AgentOptions, DesiredStateSnapshot, DesiredStateSource, HubClient, HubStream, KubeClient, RegisterRequestInit } from "@gitfleet/agent";
import { GrpcStatus, RegisterResponseSchema, RpcError, create } from "@gitfleet/proto";
import type { HubMessage, RegisterResponse } from "@gitfleet/proto";
import { startKubeApiserver } from "../lab/kube.js";
import type { KubeApiserver } from "../lab/kube.js";
import { waitFor } from "../lab/process.js";
import { skipUnlessTool } from "../lab/skip.js";

const binary = process.env["GITFLEET_KUBE_APISERVER_BIN"];
const skip = skipUnlessTool(binary ? false : "GITFLEET_KUBE_APISERVER_BIN is not set (path of the lab's kube-apiserver binary; `npm test` builds it)");
const token = `gf_reg_${"t".repeat(43)}`;
const clusterId = "cabcdefghijklmnopqrst";

/** A hub that answers Register as told and holds Connect streams open until closed. */
function standInHub(answer: () => Promise<RegisterResponse>) {
  const registrations: RegisterRequestInit[] = [];
  const client: HubClient = {
    async register(request) {
      registrations.push(request);
      return answer();
    },
    renew() {
      return Promise.reject(new RpcError(GrpcStatus.UNIMPLEMENTED, "not in this test"));
    },
    connect(): HubStream {
      // Sends nothing and ends when the agent closes it.
      let closed = false;
      let wake = (): void => {};
      const ended = new Promise<IteratorResult<HubMessage>>((resolve) => {
        wake = () => resolve({ done: true, value: undefined });
      });
      return {
        send: () => !closed,
        messages: () => ({ [Symbol.asyncIterator]: () => ({ next: () => ended }) }),
        close() {
          closed = true;
          wake();
        },
      };
    },
    close() {},
  };
  return { client, registrations };
}

const registered = (): Promise<RegisterResponse> =>
  Promise.resolve(
    create(RegisterResponseSchema, {
      clusterId,
      clusterName: "lab-1",
      labels: { region: "eu" },
      credentials: {
        natsUserJwt: "eyJ.not-used",
        grpcToken: "gf_agt_x.y",
        natsServers: ["nats://127.0.0.1:1"],
        natsInboxPrefix: `_INBOX_${clusterId}`,
        expiresAt: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600) },
      },
      desiredState: { kvBucket: "gitfleet_desired", keyPrefix: clusterId },
      heartbeatIntervalSeconds: 15,
    }),
  );

/** A desired-state source that hands over the given states once started, like NATS would. */
function givenSource(states: DesiredStateSnapshot[]): (o: { onState: (s: DesiredStateSnapshot) => Promise<void> }) => DesiredStateSource {
  return ({ onState }) => {
    let loop: Promise<void> | undefined;
    return {
      start() {
        loop = (async () => {
          for (const state of states) await onState(state);
        })();
      },
      stop: async () => {
        await loop;
      },
      updateCredentials() {},
      resync() {},
    };
  };
}

const state: DesiredStateSnapshot = {
  revision: "c0ffee",
  generation: 1n,
  kvRevision: 5,
  publishedAt: "",
  bundles: [
    {
      name: "web",
      digest: "a".repeat(64),
      revision: "c0ffee",
      stage: "",
      policy: { prune: true, namespace: "", drift: "correct", ignore: [] },
      objects: [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "web" } },
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "web" }, data: { a: "b" } },
      ],
    },
  ],
};
const settingsRef = { group: "", version: "v1", kind: "ConfigMap", namespace: "web", name: "settings" };

describe("agent identity and restarts against a real kube-apiserver", { skip }, () => {
  let dir: string;
  let kas: KubeApiserver;
  let kube: KubeClient;
  let base: AgentOptions;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gitfleet-agent-identity-"));
    kas = await startKubeApiserver({ name: "agent-identity", binary: binary ?? "", dir });
    kube = createKubeClient({ kubeConfig: loadKubeConfig(kas.kubeconfig) });
    base = { kubeConfig: loadKubeConfig(kas.kubeconfig), namespace: "gitfleet-agent", reconcileIntervalMs: 3_600_000 };
  });

  after(async () => {
    await kas?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("refuses to start with the hub's message when the token is refused, keeping its keys", async () => {
    const hub = standInHub(() => Promise.reject(new RpcError(GrpcStatus.UNAUTHENTICATED, "registration token tok1 was revoked")));
    const agent = createAgent({ ...base, hub: "hub:1", token, clusterName: "lab-1", createHubClient: () => hub.client });
    await assert.rejects(agent.start(), (error: unknown) => {
      assert.ok(error instanceof RegistrationError);
      assert.equal(error.message, "registration refused by the hub at hub:1: registration token tok1 was revoked");
      return true;
    });
    await agent.stop();
    const secret = await kube.get({ group: "", version: "v1", kind: "Secret", namespace: "gitfleet-agent", name: IDENTITY_SECRET });
    const stored = JSON.parse(Buffer.from((secret?.["data"] as Record<string, string>)["identity.json"] ?? "", "base64").toString()) as { state: string };
    assert.equal(stored.state, "pending", "keys are kept for the next attempt, no identity yet");
  });

  it("registers on first start, writes the identity Secret and applies what the source delivers", async () => {
    const hub = standInHub(registered);
    const agent = createAgent({
      ...base,
      hub: "hub:1",
      token,
      clusterName: "lab-1",
      labels: { region: "eu" },
      createHubClient: () => hub.client,
      createDesiredStateSource: givenSource([state]),
    });
    await agent.start();
    try {
      assert.equal(hub.registrations.length, 1);
      assert.match(hub.registrations[0]?.keys?.natsUserPublicKey ?? "", /^U/);
      assert.equal(agent.identity?.clusterId, clusterId);
      const secret = await kube.get({ group: "", version: "v1", kind: "Secret", namespace: "gitfleet-agent", name: IDENTITY_SECRET });
      const data = secret?.["data"] as Record<string, string>;
      assert.equal(Buffer.from(data["cluster-id"] ?? "", "base64").toString(), clusterId);
      const identity = JSON.parse(Buffer.from(data["identity.json"] ?? "", "base64").toString()) as { identity: { natsUserSeed: string } };
      assert.match(identity.identity.natsUserSeed, /^SU/, "the private seed stays in the cluster's Secret");
      await waitFor(async () => (await kube.get(settingsRef)) !== undefined, { what: "the ConfigMap from the delivered state", timeoutMs: 20_000 });
      await waitFor(async () => (await kube.get({ ...settingsRef, kind: "Secret", namespace: "gitfleet-agent", name: STATE_SECRET })) !== undefined, {
        what: "the stored desired state",
        timeoutMs: 20_000,
      });
    } finally {
      await agent.stop();
    }
  });

  it("reuses the identity after a restart without registering, and enforces the stored state with no NATS", async () => {
    assert.ok(await kube.delete(settingsRef));
    const hub = standInHub(() => Promise.reject(new Error("Register must not be called again")));
    // No token, no cluster name, and a source that never delivers: the hub and NATS are away.
    const agent = createAgent({ ...base, createHubClient: () => hub.client, createDesiredStateSource: givenSource([]) });
    await agent.start();
    try {
      assert.equal(hub.registrations.length, 0);
      assert.equal(agent.identity?.clusterId, clusterId);
      assert.equal(agent.identity?.hubAddress, "hub:1");
      await waitFor(async () => (await kube.get(settingsRef)) !== undefined, { what: "the ConfigMap restored from the stored state", timeoutMs: 20_000 });
      assert.equal(agent.desired?.revision, "c0ffee");
    } finally {
      await agent.stop();
    }
  });
});
