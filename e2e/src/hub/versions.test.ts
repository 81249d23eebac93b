// Scenario: versions between the hub and its agents. The hub tells its version to anyone at
// /api/v1/version; it registers agents of its minor version and the one before, and refuses the
// others, older or newer, with a message that says what to upgrade. A real agent process shows
// that message and stops, and the refused registration used nothing.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { GrpcStatus } from "@gitfleet/proto";
import { PRODUCT_VERSION } from "@gitfleet/proto/rules";
import { startLab, type Lab } from "../lab/lab.js";
import { skipUnlessTool } from "../lab/skip.js";
import { agentClient, api, createToken, refused, register, startHub, type HubFixture } from "./harness.js";

const agentMain = fileURLToPath(new URL("../../../agent/src/main.ts", import.meta.url));
const skip = skipUnlessTool(
  process.env["GITFLEET_KUBE_APISERVER_BIN"] && process.env["GITFLEET_NATS_SERVER_BIN"]
    ? false
    : "GITFLEET_KUBE_APISERVER_BIN and GITFLEET_NATS_SERVER_BIN are not set (`npm test` builds them)",
);

/** A hub two minor versions ahead of this build's agents: 0.1.0 -> 0.3.0. */
const [major, minor] = PRODUCT_VERSION.split(".").map(Number) as [number, number];
const newerHub = `${major}.${minor + 2}.0`;

void describe("hub and agent versions", { skip, timeout: 180_000 }, () => {
  let lab: Lab;
  let hub: HubFixture;

  before(async () => {
    lab = await startLab({ clusterNames: ["versions"], workloads: false });
    const nats = { lab: lab.nats, adminCreds: await readFile(lab.nats.adminCredsPath, "utf8"), close: () => Promise.resolve() };
    hub = await startHub(nats, { version: newerHub });
  });

  after(async () => {
    await hub?.stop();
    await lab?.stop();
  });

  void it("GET /api/v1/version answers without a token with the hub's version and the agents it accepts", async () => {
    const res = await api(hub.baseUrl, "GET", "/api/v1/version");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { product: "gitfleet", version: newerHub, acceptedAgentVersions: `${major}.${minor + 1}.x or ${newerHub.replace(/\.0$/, ".x")}` });
  });

  void it("registers agents of its minor version and the one before; refuses older and newer ones, saying what to upgrade", async () => {
    const client = agentClient(hub);
    try {
      const token = await createToken(hub, { maxUses: 10 });
      await register(client, token.secret, "same-minor", { agentVersion: `${major}.${minor + 2}.7` });
      await register(client, token.secret, "one-behind", { agentVersion: `${major}.${minor + 1}.0` });
      const accepted = `this hub (${newerHub}) accepts agents ${major}.${minor + 1}.x or ${major}.${minor + 2}.x`;
      await assert.rejects(
        register(client, token.secret, "too-old", { agentVersion: PRODUCT_VERSION }),
        refused(GrpcStatus.FAILED_PRECONDITION, `cannot register cluster too-old: agent ${PRODUCT_VERSION} is too old: ${accepted}; upgrade the agent to ${major}.${minor + 2}.x`),
      );
      await assert.rejects(
        register(client, token.secret, "too-new", { agentVersion: `${major}.${minor + 3}.0` }),
        refused(GrpcStatus.FAILED_PRECONDITION, `cannot register cluster too-new: agent ${major}.${minor + 3}.0 is newer than the hub: ${accepted}; upgrade the hub first, then the agents`),
      );
      await assert.rejects(register(client, token.secret, "no-version", { agentVersion: "" }), refused(GrpcStatus.FAILED_PRECONDITION, "cannot register cluster no-version: the agent sent no version"));
      const tokens = await api<{ items: { id: string; uses: number }[] }>(hub.baseUrl, "GET", "/api/v1/registration-tokens", { token: hub.adminToken });
      assert.equal(tokens.body.items.find((t) => t.id === token.id)?.uses, 2, "only the two accepted registrations used the token");
    } finally {
      client.close();
    }
  });

  void it("an agent of this build, too old for the hub, stops with the hub's message on one line", async () => {
    const token = await createToken(hub);
    const kubeconfig = lab.clusters[0]?.kubeconfig ?? assert.fail("no lab cluster");
    const args = ["--conditions=@gitfleet/source", "--import", "tsx", agentMain, "--hub", hub.grpcAddress, "--plaintext", "--token", token.secret, "--cluster-name", "old-agent", "--kubeconfig", kubeconfig, "--health-addr", "off"];
    const exit = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, args, { timeout: 60_000 }, (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }));
    });
    assert.equal(exit.code, 1);
    assert.equal(
      exit.stderr,
      `gitfleet-agent: registration refused by the hub at ${hub.grpcAddress}: cannot register cluster old-agent: agent ${PRODUCT_VERSION} is too old: this hub (${newerHub}) accepts agents ${major}.${minor + 1}.x or ${major}.${minor + 2}.x; upgrade the agent to ${major}.${minor + 2}.x\n`,
    );
    const clusters = await api<{ items: { name: string }[] }>(hub.baseUrl, "GET", "/api/v1/clusters", { token: hub.adminToken });
    assert.ok(!clusters.body.items.some((c) => c.name === "old-agent"), "a refused agent leaves no cluster record");
  });
});
