import { strict as assert } from "node:assert";
import { afterEach, beforeEach, describe, it } from "node:test";
import { createUser, fromPublic } from "@nats-io/nkeys";
import {
  GrpcStatus,
  RpcError,
  StatusReportSchema,
  connectProofPayload,
  create,
  renewSignaturePayload,
  timestampDate,
  timestampFromDate,
} from "@gitfleet/proto";
import type { Credentials, Resync, StatusReport, Timestamp } from "@gitfleet/proto";
import { createBackoff } from "./backoff.js";
import type { AgentMessageInit } from "./hub-client.js";
import { signConnectProof, signRenewRequest } from "./renewal.js";
import { createStatusStream } from "./status-stream.js";
import type { StatusStream } from "./status-stream.js";
import { createFakeHub } from "./test-support/fake-hub.js";
import type { FakeHub, FakeStream } from "./test-support/fake-hub.js";
import { createManualClock, until } from "./test-support/manual-clock.js";
import type { ManualClock } from "./test-support/manual-clock.js";

const status = (revision: string): StatusReport => create(StatusReportSchema, { observedRevision: revision, observedGeneration: 1n });
const kinds = (messages: readonly AgentMessageInit[]) => messages.map((m) => m.kind?.case);
const clusterId = "cq3v7tbd2kx5mfw6hz4ay";
const signing = createUser();
const signingSeed = new TextDecoder().decode(signing.getSeed());
const nonce = new Uint8Array(32).fill(7);

describe("status stream", () => {
  let clock: ManualClock;
  let hub: FakeHub;
  let stream: StatusStream;
  let token: string;
  let receivedAt: number;
  let expiresAt: number;
  let refreshed: Credentials[];
  let resyncs: Resync[];
  // The stream's jitter: 1 puts every wait at its longest (heartbeats exactly at the interval).
  let random: () => number;

  beforeEach(() => {
    clock = createManualClock();
    hub = createFakeHub();
    token = "gf_agt_first";
    receivedAt = clock.now() - 1_000;
    expiresAt = clock.now() + 3_600_000;
    refreshed = [];
    resyncs = [];
    random = () => 1;
    stream = createStatusStream({
      hub,
      grpcToken: () => token,
      credentialsLifetime: () => ({ receivedAt, expiresAt }),
      observed: () => ({ revision: "c0ffee", generation: 9n }),
      onCredentials: (c) => {
        // As the agent does: the new token and lifetime are used from now on.
        refreshed.push(c);
        token = c.grpcToken;
        receivedAt = clock.now();
        if (c.expiresAt) expiresAt = timestampDate(c.expiresAt).getTime();
        return Promise.resolve();
      },
      renewRequest: () => signRenewRequest({ clusterId, signingSeed }, clock.now()),
      connectProof: (n) => signConnectProof({ clusterId, signingSeed }, n),
      onResync: (r) => resyncs.push(r),
      clock,
      backoff: createBackoff({ minMs: 500, maxMs: 30_000, random: () => 1 }),
      refusedBackoff: createBackoff({ minMs: 60_000, maxMs: 600_000, random: () => 1 }),
      random: () => random(),
    });
  });

  afterEach(async () => {
    await stream.stop();
  });

  // The hub's Welcome, as a hub with ConnectProof sends it.
  const welcome = async (s: FakeStream, heartbeatIntervalSeconds = 15): Promise<void> => {
    s.push({ kind: { case: "welcome", value: { clusterId, heartbeatIntervalSeconds, nonce } } });
    await until(() => stream.connected, "the welcome");
  };

  it("sends nothing before Welcome, then the ConnectProof first, signed over the nonce", async () => {
    stream.report(status("a"));
    stream.events([{ id: "e1" } as never]);
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const s = hub.streams[0]!;
    await clock.advance(30_000);
    stream.report(status("b"));
    assert.equal(s.sent.length, 0, "nothing is sent before the hub's Welcome");
    await welcome(s);
    assert.deepEqual(kinds(s.sent), ["proof", "heartbeat", "status", "events"]);
    const proof = s.sent[0]?.kind?.value as { signature: Uint8Array };
    assert.ok(fromPublic(signing.getPublicKey()).verify(connectProofPayload(clusterId, nonce), proof.signature));
    assert.ok(!fromPublic(signing.getPublicKey()).verify(connectProofPayload(clusterId, new Uint8Array(32)), proof.signature));
  });

  it("sends no ConnectProof to a hub whose Welcome carries no nonce", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const s = hub.streams[0]!;
    s.push({ kind: { case: "welcome", value: { clusterId, heartbeatIntervalSeconds: 15 } } });
    await until(() => stream.connected, "the welcome");
    assert.deepEqual(kinds(s.sent), ["heartbeat"]);
  });

  it("sends the latest status on connect and later only when it changes", async () => {
    stream.report(status("a"));
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const first = hub.streams[0]!;
    assert.equal(first.token, "gf_agt_first");
    await welcome(first);
    await until(() => first.sent.length === 3, "the proof, the first heartbeat and status");
    stream.report(status("a"));
    stream.report(status("b"));
    assert.deepEqual(kinds(first.sent), ["proof", "heartbeat", "status", "status"]);
  });

  it("sends a heartbeat on connect, then at the interval the Welcome names", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const s = hub.streams[0]!;
    await welcome(s, 5);
    await clock.advance(5_000);
    await clock.advance(5_000);
    const beats = s.sent.filter((m) => m.kind?.case === "heartbeat");
    assert.equal(beats.length, 3, "one on the Welcome, then one per interval");
    const beat = beats[0]?.kind?.value as { observedRevision: string; observedGeneration: bigint };
    assert.equal(beat.observedRevision, "c0ffee");
    assert.equal(beat.observedGeneration, 9n);
  });

  it("spreads heartbeats: the first after half to all of the interval, the next after 90-100% of it, never later", async () => {
    random = () => 0;
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const s = hub.streams[0]!;
    await welcome(s, 10);
    const beats = (): number => s.sent.filter((m) => m.kind?.case === "heartbeat").length;
    assert.equal(beats(), 1, "one on the Welcome");
    await clock.advance(4_999);
    assert.equal(beats(), 1);
    await clock.advance(1);
    await until(() => beats() === 2, "the first spread heartbeat at half the interval");
    await clock.advance(8_999);
    assert.equal(beats(), 2);
    await clock.advance(1);
    await until(() => beats() === 3, "the next at 90% of the interval");
  });

  it("hands RefreshCredentials and Resync to the agent", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const s = hub.streams[0]!;
    s.push({ kind: { case: "refreshCredentials", value: { credentials: { grpcToken: "gf_agt_second", natsUserJwt: "jwt" } } } });
    s.push({ kind: { case: "resync", value: { reason: "operator asked", bundles: ["web"] } } });
    await until(() => resyncs.length === 1, "the resync");
    assert.equal(refreshed[0]?.grpcToken, "gf_agt_second");
    assert.equal(resyncs[0]?.reason, "operator asked");
  });

  it("reconnects with backoff after an error, using the current token", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    hub.streams[0]!.fail(GrpcStatus.UNAVAILABLE, "hub restarting");
    await until(() => clock.sleepers() === 1, "the backoff sleep");
    token = "gf_agt_refreshed";
    await clock.advance(249);
    assert.equal(hub.streams.length, 1, "no reconnect before the backoff");
    await clock.advance(251);
    await until(() => hub.streams.length === 2, "the reconnect");
    assert.equal(hub.streams[1]?.token, "gf_agt_refreshed");
    hub.streams[1].fail(GrpcStatus.UNAVAILABLE, "still down");
    await until(() => clock.sleepers() === 1, "the second backoff sleep");
    await clock.advance(999);
    assert.equal(hub.streams.length, 2, "the second delay is longer");
    await clock.advance(1);
    await until(() => hub.streams.length === 3, "the second reconnect");
  });

  it("tries an unreachable hub again at least once per heartbeat interval, however long it is away", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    await welcome(hub.streams[0]!, 2);
    hub.streams[0]!.fail(GrpcStatus.UNAVAILABLE, "link cut");
    // The backoff alone would grow to 30 s; every wait stays within the 2 s heartbeat.
    for (let attempt = 2; attempt <= 10; attempt++) {
      await until(() => clock.sleepers() === 1, `backoff sleep ${attempt - 1}`);
      await clock.advance(2_000);
      await until(() => hub.streams.length === attempt, `reconnect ${attempt - 1} within one heartbeat`);
      hub.streams[attempt - 1]!.fail(GrpcStatus.UNAVAILABLE, "still cut");
    }
  });

  it("keeps retrying slowly, without failing, while the hub refuses the credential and its renewal", async () => {
    hub.renewAnswer = () => {
      throw new RpcError(GrpcStatus.UNAUTHENTICATED, `cluster ${clusterId} is not registered (it was deleted, or never was)`);
    };
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    hub.streams[0]!.fail(GrpcStatus.UNAUTHENTICATED, "cluster c1 was deleted");
    await until(() => hub.renewals.length === 1 && clock.sleepers() === 1, "a renewal, then the slow retry sleep");
    await clock.advance(59_999);
    assert.equal(hub.streams.length, 1);
    await clock.advance(1);
    await until(() => hub.streams.length === 2, "the slow retry");
  });

  it("asks for fresh credentials when they are about to expire", async () => {
    expiresAt = clock.now() + 20_000;
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const s = hub.streams[0]!;
    await welcome(s);
    await until(() => s.sent.some((m) => m.kind?.case === "credentialsRequest"), "a credentials request");
    await clock.advance(15_000);
    assert.equal(s.sent.filter((m) => m.kind?.case === "credentialsRequest").length, 1, "asks at most once a minute");
  });

  it("renews credentials that expired while the hub was away, then reconnects with them", async () => {
    expiresAt = clock.now() + 600_000;
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    hub.streams[0]!.push({ kind: { case: "welcome", value: { clusterId, heartbeatIntervalSeconds: 15 } } });
    await until(() => stream.connected, "the welcome");

    // The hub goes away for longer than the credentials live.
    hub.connectError = new RpcError(GrpcStatus.UNAVAILABLE, "connect ECONNREFUSED");
    hub.renewAnswer = () => {
      throw new RpcError(GrpcStatus.UNAVAILABLE, "connect ECONNREFUSED");
    };
    hub.streams[0]!.fail(GrpcStatus.UNAVAILABLE, "the hub is shutting down; reconnect");
    await clock.advance(480_000);
    assert.equal(hub.renewals.length, 0, "no renewal before the last sixth of the lifetime");
    await clock.advance(180_000);
    assert.ok(hub.renewals.length > 0, "renewals are tried once the credentials are due");
    const expiredStreams = hub.streams.length;
    const renewalsBefore = hub.renewals.length;
    await clock.advance(120_000);
    assert.equal(hub.streams.length, expiredStreams, "no Connect with expired credentials");
    assert.ok(hub.renewals.length > renewalsBefore, "renewals go on with the normal backoff");

    // The hub is back: the next renewal succeeds and the stream opens with the new token.
    hub.connectError = undefined;
    const renewedExpiry = clock.now() + 3_600_000;
    hub.renewAnswer = () => ({
      credentials: {
        grpcToken: "gf_agt_renewed",
        natsUserJwt: "jwt-renewed",
        natsServers: ["nats://127.0.0.1:4222"],
        natsInboxPrefix: `_INBOX_${clusterId}`,
        expiresAt: timestampFromDate(new Date(renewedExpiry)),
      },
    });
    await clock.advance(30_000);
    await until(() => hub.streams.at(-1)?.token === "gf_agt_renewed", "a connect with the renewed token");
    assert.equal(refreshed.at(-1)?.natsUserJwt, "jwt-renewed", "the renewed credentials were handed over to store and apply");
    assert.equal(expiresAt, renewedExpiry);
    hub.streams.at(-1)!.push({ kind: { case: "welcome", value: { clusterId, heartbeatIntervalSeconds: 15 } } });
    await until(() => stream.connected, "the welcome on the renewed stream");

    // Every renewal was signed by the agent's signing key at the agent's time.
    const last = hub.renewals.at(-1)!;
    assert.equal(last.clusterId, clusterId);
    assert.equal(last.natsUserPublicKey, "");
    const payload = renewSignaturePayload({ clusterId, signedAt: last.signedAt as Timestamp, natsUserPublicKey: "" });
    assert.ok(fromPublic(signing.getPublicKey()).verify(payload, last.signature as Uint8Array));
  });

  it("renews at once when Connect is refused because the credential expired", async () => {
    hub.renewAnswer = () => ({
      credentials: { grpcToken: "gf_agt_renewed", natsUserJwt: "jwt", natsServers: ["nats://n:4222"], natsInboxPrefix: "_INBOX_c" },
    });
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    hub.streams[0]!.fail(GrpcStatus.UNAUTHENTICATED, `gRPC credential of cluster ${clusterId} expired at 2026-01-01T00:00:00.000Z`);
    await until(() => hub.streams.length === 2, "a connect after the renewal");
    assert.equal(hub.renewals.length, 1);
    assert.equal(hub.streams[1]?.token, "gf_agt_renewed");
    assert.equal(clock.sleepers(), 0, "no retry delay before the new connect (heartbeats start with the Welcome)");
  });

  it("retries a refused renewal slowly and never connects with expired credentials", async () => {
    expiresAt = clock.now() - 1;
    hub.renewAnswer = () => {
      throw new RpcError(GrpcStatus.UNAUTHENTICATED, `cluster ${clusterId} is not registered (it was deleted, or never was)`);
    };
    stream.start();
    await until(() => hub.renewals.length === 1 && clock.sleepers() === 1, "the first renewal and the slow retry sleep");
    await clock.advance(59_999);
    assert.equal(hub.renewals.length, 1);
    await clock.advance(1);
    await until(() => hub.renewals.length === 2 && clock.sleepers() === 1, "the second renewal");
    await clock.advance(119_999);
    assert.equal(hub.renewals.length, 2, "the slow retry grows");
    await clock.advance(1);
    await until(() => hub.renewals.length === 3, "the third renewal");
    assert.equal(hub.streams.length, 0, "no Connect while the hub refuses to renew expired credentials");
  });

  it("closes the stream on stop", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    await stream.stop();
    assert.ok(hub.streams[0]?.closed);
  });
});
