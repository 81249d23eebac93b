import { strict as assert } from "node:assert";
import { afterEach, beforeEach, describe, it } from "node:test";
import { GrpcStatus, StatusReportSchema, create } from "@gitfleet/proto";
import type { Credentials, Resync, StatusReport } from "@gitfleet/proto";
import { createBackoff } from "./backoff.js";
import type { AgentMessageInit } from "./hub-client.js";
import { createStatusStream } from "./status-stream.js";
import type { StatusStream } from "./status-stream.js";
import { createFakeHub } from "./test-support/fake-hub.js";
import type { FakeHub } from "./test-support/fake-hub.js";
import { createManualClock, until } from "./test-support/manual-clock.js";
import type { ManualClock } from "./test-support/manual-clock.js";

const status = (revision: string): StatusReport => create(StatusReportSchema, { observedRevision: revision, observedGeneration: 1n });
const kinds = (messages: readonly AgentMessageInit[]) => messages.map((m) => m.kind?.case);

describe("status stream", () => {
  let clock: ManualClock;
  let hub: FakeHub;
  let stream: StatusStream;
  let token: string;
  let expiresAt: number;
  let refreshed: Credentials[];
  let resyncs: Resync[];

  beforeEach(() => {
    clock = createManualClock();
    hub = createFakeHub();
    token = "gf_agt_first";
    expiresAt = clock.now() + 3_600_000;
    refreshed = [];
    resyncs = [];
    stream = createStatusStream({
      hub,
      grpcToken: () => token,
      credentialsLifetime: () => ({ receivedAt: clock.now() - 1_000, expiresAt }),
      observed: () => ({ revision: "c0ffee", generation: 9n }),
      onCredentials: (c) => {
        refreshed.push(c);
        return Promise.resolve();
      },
      onResync: (r) => resyncs.push(r),
      clock,
      backoff: createBackoff({ minMs: 500, maxMs: 30_000, random: () => 1 }),
      refusedBackoff: createBackoff({ minMs: 60_000, maxMs: 600_000, random: () => 1 }),
    });
  });

  afterEach(async () => {
    await stream.stop();
  });

  it("sends the latest status on connect and later only when it changes", async () => {
    stream.report(status("a"));
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const first = hub.streams[0]!;
    assert.equal(first.token, "gf_agt_first");
    await until(() => first.sent.length === 2, "the first heartbeat and status");
    stream.report(status("a"));
    stream.report(status("b"));
    assert.deepEqual(kinds(first.sent), ["heartbeat", "status", "status"]);
  });

  it("sends a heartbeat on connect, then at the interval the Welcome names", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    const s = hub.streams[0]!;
    s.push({ kind: { case: "welcome", value: { clusterId: "c1", heartbeatIntervalSeconds: 5 } } });
    await until(() => stream.connected, "the welcome");
    await clock.advance(15_000); // the sleep started before the Welcome still lasts 15 s
    await clock.advance(5_000);
    const beats = s.sent.filter((m) => m.kind?.case === "heartbeat");
    assert.equal(beats.length, 3, "one on connect, then one per interval");
    const beat = beats[0]?.kind?.value as { observedRevision: string; observedGeneration: bigint };
    assert.equal(beat.observedRevision, "c0ffee");
    assert.equal(beat.observedGeneration, 9n);
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

  it("keeps retrying slowly, without failing, while the hub refuses the credential", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    hub.streams[0]!.fail(GrpcStatus.UNAUTHENTICATED, "cluster c1 was deleted");
    await until(() => clock.sleepers() === 1, "the slow retry sleep");
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
    await until(() => s.sent.some((m) => m.kind?.case === "credentialsRequest"), "a credentials request");
    await clock.advance(15_000);
    assert.equal(s.sent.filter((m) => m.kind?.case === "credentialsRequest").length, 1, "asks at most once a minute");
  });

  it("closes the stream on stop", async () => {
    stream.start();
    await until(() => hub.streams.length === 1, "a connect");
    await stream.stop();
    assert.ok(hub.streams[0]?.closed);
  });
});
