import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { GrpcStatus, RegisterResponseSchema, RpcError, create } from "@gitfleet/proto";
import type { RegisterResponse } from "@gitfleet/proto";
import { pino } from "pino";
import { AgentError, RegistrationError } from "./errors.js";
import type { RegisterRequestInit } from "./hub-client.js";
import type { IdentityStore, StoredIdentity } from "./identity.js";
import { parseStoredIdentity } from "./identity.js";
import { ensureIdentity } from "./registration.js";
import type { EnsureIdentityOptions } from "./registration.js";
import { createManualClock, until } from "./test-support/manual-clock.js";

const token = `gf_reg_${"x".repeat(43)}`;

function memoryStore(): IdentityStore & { saved: StoredIdentity[] } {
  const saved: StoredIdentity[] = [];
  return {
    saved,
    load: () => Promise.resolve(saved.at(-1) && parseStoredIdentity(JSON.parse(JSON.stringify(saved.at(-1))))),
    save: (identity) => {
      saved.push(identity);
      return Promise.resolve();
    },
  };
}

const answer = (): RegisterResponse =>
  create(RegisterResponseSchema, {
    clusterId: "cq3v7tbd2kx5mfw6hz4ay",
    clusterName: "prod-eu-1",
    labels: { region: "eu" },
    credentials: {
      natsUserJwt: "eyJ.jwt",
      grpcToken: "gf_agt_x.y",
      natsServers: ["nats://127.0.0.1:4222"],
      natsInboxPrefix: "_INBOX_cq3v7tbd2kx5mfw6hz4ay",
      expiresAt: { seconds: 1_700_003_600n },
    },
    desiredState: { kvBucket: "gitfleet_desired", keyPrefix: "cq3v7tbd2kx5mfw6hz4ay" },
    heartbeatIntervalSeconds: 15,
  });

function setup(register: (address: string, request: RegisterRequestInit) => Promise<RegisterResponse>) {
  const store = memoryStore();
  const clock = createManualClock();
  const options: EnsureIdentityOptions = {
    store,
    hubAddress: "hub:7443",
    token,
    clusterName: "prod-eu-1",
    labels: { region: "eu" },
    agentVersion: "0.1.0",
    kubernetesVersion: () => Promise.resolve("v1.36.3"),
    register,
    clock,
    logger: pino({ level: "silent" }),
  };
  return { store, clock, options };
}

describe("registration", () => {
  it("registers once with fresh public keys and stores the identity; a restart reuses it", async () => {
    const requests: RegisterRequestInit[] = [];
    const { store, options } = setup((_, request) => {
      requests.push(request);
      return Promise.resolve(answer());
    });
    const first = await ensureIdentity(options);
    assert.equal(first.registered, true);
    assert.equal(first.identity.clusterId, "cq3v7tbd2kx5mfw6hz4ay");
    assert.equal(first.identity.credentials.expiresAt, 1_700_003_600_000);
    assert.match(requests[0]?.keys?.natsUserPublicKey ?? "", /^U[A-Z2-7]{55}$/);
    assert.notEqual(requests[0]?.keys?.natsUserPublicKey, requests[0]?.keys?.signingPublicKey);
    assert.ok(first.identity.natsUserSeed.startsWith("SU"));
    assert.equal(requests[0]?.kubernetesVersion, "v1.36.3");
    assert.deepEqual(store.saved.map((s) => s.state), ["pending", "registered"]);

    const second = await ensureIdentity({ ...options, token: undefined, hubAddress: undefined });
    assert.equal(second.registered, false);
    assert.equal(requests.length, 1, "Register is never called again");
    assert.deepEqual(second.identity, first.identity);
  });

  it("ends with the hub's refusal message in one line and registers nothing", async () => {
    const { store, options } = setup(() =>
      Promise.reject(new RpcError(GrpcStatus.UNAUTHENTICATED, "registration token t1 expired at 2026-01-01T00:00:00Z")),
    );
    await assert.rejects(ensureIdentity(options), (error: unknown) => {
      assert.ok(error instanceof RegistrationError);
      assert.equal(error.code, "registration-refused");
      assert.equal(error.status, "UNAUTHENTICATED");
      assert.equal(error.message, "registration refused by the hub at hub:7443: registration token t1 expired at 2026-01-01T00:00:00Z");
      return true;
    });
    assert.deepEqual(store.saved.map((s) => s.state), ["pending"]);
  });

  it("retries with the same keys after a refusal", async () => {
    const keys: string[] = [];
    let refuse = true;
    const { options } = setup((_, request) => {
      keys.push(request.keys?.natsUserPublicKey ?? "");
      return refuse ? Promise.reject(new RpcError(GrpcStatus.ALREADY_EXISTS, "cluster name prod-eu-1 is already registered")) : Promise.resolve(answer());
    });
    await assert.rejects(ensureIdentity(options), /already registered/);
    refuse = false;
    await ensureIdentity(options);
    assert.equal(keys[0], keys[1]);
  });

  it("waits for an unreachable hub with backoff", async () => {
    let calls = 0;
    const { clock, options } = setup(() => {
      calls++;
      return calls < 3 ? Promise.reject(new RpcError(GrpcStatus.UNAVAILABLE, "connect ECONNREFUSED")) : Promise.resolve(answer());
    });
    const done = ensureIdentity(options);
    await until(() => calls === 1 && clock.sleepers() === 1, "the first retry wait");
    await clock.advance(499);
    assert.equal(calls, 1, "no retry before the backoff");
    await clock.advance(1);
    await until(() => calls === 2 && clock.sleepers() === 1, "the second retry wait");
    await clock.advance(1_000);
    assert.equal((await done).registered, true);
    assert.equal(calls, 3);
  });

  it("needs hub, token and cluster name to register", async () => {
    const { options } = setup(() => Promise.resolve(answer()));
    await assert.rejects(ensureIdentity({ ...options, token: undefined, clusterName: undefined }), (error: unknown) => {
      assert.ok(error instanceof AgentError);
      assert.equal(error.message, "the agent is not registered yet and needs --token, --cluster-name to register");
      return true;
    });
  });

  it("refuses an unusable Register answer", async () => {
    const { options } = setup(() => Promise.resolve(create(RegisterResponseSchema, { ...answer(), clusterId: "nope" })));
    await assert.rejects(ensureIdentity(options), /cluster id "nope" is not c \+ 20 base32 characters/);
  });
});
