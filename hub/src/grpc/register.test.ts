import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { create, RegisterRequestSchema } from "@gitfleet/proto";
import { createUser } from "@nats-io/nkeys";
import { pino } from "pino";
import { HubError } from "../errors.js";
import type { ClusterStore } from "../store/clusters.js";
import type { RegistrationTokenStore } from "../store/registration-tokens.js";
import type { CredentialIssuer } from "../credentials/issuer.js";
import { register, type RegisterDeps } from "./register.js";

const tokenChecked = new Error("the token was checked");

/** Deps whose token store stops at its first call: whatever reaches it passed the version check. */
function deps(hubVersion: string): RegisterDeps {
  const untouched = new Proxy({}, { get: () => () => assert.fail("a refused registration touched a store") });
  return {
    tokens: { check: () => Promise.reject(tokenChecked) } as unknown as RegistrationTokenStore,
    clusters: untouched as ClusterStore,
    issuer: untouched as CredentialIssuer,
    logger: pino({ level: "silent" }),
    heartbeatIntervalSeconds: 15,
    trustedKeys: () => [],
    hubVersion,
    onRegistered: () => assert.fail("nothing was registered"),
    now: () => new Date(),
  };
}

function request(agentVersion: string) {
  return create(RegisterRequestSchema, {
    token: "gf_reg_x",
    clusterName: "prod-eu-1",
    agentVersion,
    keys: { natsUserPublicKey: createUser().getPublicKey(), signingPublicKey: createUser().getPublicKey() },
  });
}

function refused(message: string) {
  return (err: unknown) => err instanceof HubError && err.code === "failed-precondition" && err.message === message;
}

void describe("Register and the agent's version", () => {
  void it("goes on to the token with an agent of the hub's minor version or the one before", async () => {
    for (const agent of ["0.4.0", "0.4.7", "0.3.2"]) await assert.rejects(register(deps("0.4.1"), request(agent)), tokenChecked, agent);
  });

  void it("refuses older, newer and unversioned agents before the token is even looked at, saying why and what to do", async () => {
    await assert.rejects(
      register(deps("0.4.1"), request("0.2.9")),
      refused("cannot register cluster prod-eu-1: agent 0.2.9 is too old: this hub (0.4.1) accepts agents 0.3.x or 0.4.x; upgrade the agent to 0.4.x"),
    );
    await assert.rejects(
      register(deps("0.4.1"), request("0.5.0")),
      refused("cannot register cluster prod-eu-1: agent 0.5.0 is newer than the hub: this hub (0.4.1) accepts agents 0.3.x or 0.4.x; upgrade the hub first, then the agents"),
    );
    await assert.rejects(register(deps("0.4.1"), request("")), refused("cannot register cluster prod-eu-1: the agent sent no version"));
  });
});

void describe("Register and the labels the token grants", () => {
  const token = { id: "tabc", labels: { env: "prod" }, allowedLabels: { region: ["us", "eu"] } };
  const labelDeps = (): RegisterDeps => ({
    ...deps("0.4.1"),
    tokens: { check: () => Promise.resolve(token) } as unknown as RegistrationTokenStore,
  });
  const withLabels = (labels: Record<string, string>) => {
    const r = request("0.4.1");
    r.labels = labels;
    return r;
  };
  const deniedNaming = (label: RegExp) => (err: unknown) =>
    err instanceof HubError && err.code === "permission-denied" && label.test(err.message);

  void it("refuses a label the token does not allow, naming it, before anything is taken", async () => {
    await assert.rejects(register(labelDeps(), withLabels({ region: "eu", tier: "gold" })), deniedNaming(/label "tier=gold".*does not allow the key "tier"/));
    await assert.rejects(register(labelDeps(), withLabels({ region: "ap" })), deniedNaming(/label "region=ap"/));
  });

  void it("refuses an agent label that contradicts a preset label", async () => {
    await assert.rejects(register(labelDeps(), withLabels({ env: "dev" })), deniedNaming(/label "env=dev": "env" is set to "prod"/));
  });
});
