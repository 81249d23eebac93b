import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { DesiredStateSource } from "./desired-state-source.js";
import type { HubClient } from "./hub-client.js";
import type { AgentIdentity, StoredIdentity } from "./identity.js";
import type { InventoryStore } from "./inventory.js";
import type { LeaderElector, RenewOutcome } from "./leader-election.js";
import { DEFAULT_LEADER_ELECTION_TIMING } from "./leader-election.js";
import { createLeadershipTerm } from "./leadership-term.js";
import type { LeadershipTerm } from "./leadership-term.js";
import { createFakeHub } from "./test-support/fake-hub.js";
import { createFakeKube } from "./test-support/fake-kube.js";
import { createManualClock, until } from "./test-support/manual-clock.js";

const identity: AgentIdentity = {
  clusterId: "cabcdefghijklmnopqrst",
  clusterName: "term-1",
  labels: {},
  hubAddress: "hub:1",
  kvBucket: "gitfleet_desired",
  keyPrefix: "cabcdefghijklmnopqrst",
  heartbeatIntervalSeconds: 15,
  natsUserSeed: "SUunused",
  signingSeed: "SUunused",
  credentials: { natsUserJwt: "eyJ.unused", grpcToken: "gf_agt_term", expiresAt: 2_000_000_000_000, receivedAt: 1_700_000_000_000, natsServers: [], natsInboxPrefix: "_INBOX_term" },
  registeredAt: "2026-01-01T00:00:00Z",
};

const emptyInventory: InventoryStore = {
  get: () => Promise.resolve(undefined),
  put: () => Promise.resolve(),
  remove: () => Promise.resolve(),
  list: () => Promise.resolve([]),
};

/** A term over fakes that writes what starts and stops into `events`, in order. */
function fixture(options: { elector?: boolean; sourceStopHangs?: boolean; stopPartTimeoutMs?: number } = {}) {
  const events: string[] = [];
  const clock = createManualClock();
  const hub = createFakeHub();
  let endRenewals: (outcome: RenewOutcome) => void = () => {};
  let leading = true;
  const elector: LeaderElector = {
    identity: "replica-a",
    timing: DEFAULT_LEADER_ELECTION_TIMING,
    get leading() {
      return leading;
    },
    lastAttemptAt: 0,
    acquire: () => Promise.resolve(true),
    renew(signal) {
      events.push("renewals started");
      return new Promise<RenewOutcome>((resolve) => {
        endRenewals = (outcome) => {
          endRenewals = () => {};
          if (outcome === "lost") leading = false;
          events.push(`renewals ${outcome}`);
          resolve(outcome);
        };
        signal.addEventListener("abort", () => endRenewals("stopped"), { once: true });
      });
    },
    release() {
      events.push(leading ? "lease released" : "nothing to release");
      leading = false;
      return Promise.resolve();
    },
  };
  const source: DesiredStateSource = {
    start: () => void events.push("source started"),
    stop: () => (options.sourceStopHangs ? new Promise<void>(() => void events.push("source stop hangs")) : Promise.resolve(void events.push("source stopped"))),
    updateCredentials: () => {},
    resync: () => {},
  };
  let lostCalls = 0;
  const term: LeadershipTerm = createLeadershipTerm({
    kube: createFakeKube(),
    namespace: "gitfleet-system",
    identityStore: { load: () => Promise.resolve<StoredIdentity>({ state: "registered", identity }), save: () => Promise.resolve() },
    stateStore: { load: () => Promise.resolve(undefined), save: () => Promise.resolve(true) },
    inventory: emptyInventory,
    registration: { hub: undefined, token: undefined, clusterName: undefined, labels: {} },
    makeHubClient: (): HubClient => ({
      ...hub,
      register: () => Promise.reject(new Error("Register must not be called")),
      close: () => void events.push("hub client closed"),
    }),
    makeSource: () => source,
    reconcileIntervalMs: 30_000,
    elector: options.elector === false ? undefined : elector,
    signal: new AbortController().signal,
    onLost: () => {
      lostCalls++;
      events.push("told the agent");
    },
    clock,
    logger: pino({ level: "silent" }),
    ...(options.stopPartTimeoutMs === undefined ? {} : { stopPartTimeoutMs: options.stopPartTimeoutMs }),
  });
  return { term, events, hub, lose: () => endRenewals("lost"), lostCalls: () => lostCalls };
}

describe("a leadership term", () => {
  it("starts the lease renewals first and the loops last, and stop() undoes it in reverse", async () => {
    const { term, events, hub } = fixture();
    await term.start();
    assert.deepEqual(events, ["renewals started", "source started"]);
    assert.equal(term.identity?.clusterId, identity.clusterId);
    await until(() => hub.streams.length === 1, "the status stream to open");
    assert.notEqual(term.reconciler.lastTickAt, undefined, "the reconcile loop turns");

    await term.stop();
    await term.stop();
    assert.deepEqual(events.slice(2), ["source stopped", "hub client closed", "renewals stopped", "lease released"]);
    assert.equal(hub.streams[0]?.closed, true, "the status stream is closed");
    assert.equal(term.lost, false);
  });

  it("stops exactly what it started when the lease is lost, then tells the agent once", async () => {
    const { term, events, hub, lose, lostCalls } = fixture();
    await term.start();
    await until(() => hub.streams.length === 1, "the status stream to open");
    lose();
    await until(() => lostCalls() === 1, "the term to report the lost lease");
    assert.equal(term.lost, true);
    assert.deepEqual(events, ["renewals started", "source started", "renewals lost", "source stopped", "hub client closed", "nothing to release", "told the agent"]);
    assert.equal(hub.streams[0]?.closed, true);
    await term.stop();
    assert.equal(lostCalls(), 1);
  });

  it("stops the other parts when one does not stop in time, and leaves the lease to run out", async () => {
    const { term, events, hub } = fixture({ sourceStopHangs: true, stopPartTimeoutMs: 50 });
    await term.start();
    await until(() => hub.streams.length === 1, "the status stream to open");
    const started = Date.now();
    await term.stop();
    assert.ok(Date.now() - started < 5_000, "stop() returned near the part's limit");
    assert.deepEqual(events.slice(2), ["source stop hangs", "hub client closed", "renewals stopped"]);
    assert.equal(hub.streams[0]?.closed, true, "the status stream is closed all the same");
  });

  it("without leader election holds no lease", async () => {
    const { term, events } = fixture({ elector: false });
    await term.start();
    await term.stop();
    assert.deepEqual(events, ["source started", "source stopped", "hub client closed"]);
  });

  it("is started once", async () => {
    const { term } = fixture({ elector: false });
    await term.start();
    await assert.rejects(term.start(), /started only once/);
    await term.stop();
  });
});
