import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { KubeApiError } from "./errors.js";
import { checkTiming, createLeaderElector } from "./leader-election.js";
import type { LeaderElector } from "./leader-election.js";
import { microTime } from "./lease.js";
import type { LeaseClient, LeaseRecord, StoredLease } from "./lease.js";
import { createManualClock, until } from "./test-support/manual-clock.js";

/** An in-memory Lease with the API server's optimistic concurrency; `down` makes every call fail. */
function memoryLease() {
  let stored: StoredLease | undefined;
  let version = 0;
  const state = { down: false, writes: 0 };
  const unreachable = (): never => {
    throw new KubeApiError(0, "Unreachable", "Lease test/gitfleet-agent", "connect ECONNREFUSED");
  };
  const put = (record: LeaseRecord): StoredLease => {
    state.writes++;
    stored = { record: { ...record }, resourceVersion: String(++version) };
    return stored;
  };
  const client: LeaseClient = {
    where: "test/gitfleet-agent",
    async get() {
      await Promise.resolve();
      if (state.down) unreachable();
      return stored && { record: { ...stored.record }, resourceVersion: stored.resourceVersion };
    },
    async create(record) {
      await Promise.resolve();
      if (state.down) unreachable();
      if (stored) throw new KubeApiError(409, "AlreadyExists", "Lease test/gitfleet-agent", "already exists");
      return put(record);
    },
    async replace(record, resourceVersion) {
      await Promise.resolve();
      if (state.down) unreachable();
      if (stored?.resourceVersion !== resourceVersion) throw new KubeApiError(409, "Conflict", "Lease test/gitfleet-agent", "the object has been modified");
      return put(record);
    },
  };
  return { client, state, holder: () => stored?.record.holderIdentity, record: () => stored?.record };
}

const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

describe("leader election on a Lease", () => {
  it("lets one candidate lead while the other stands by, and hands over on release", async () => {
    const clock = createManualClock();
    const lease = memoryLease();
    const a = createLeaderElector({ lease: lease.client, identity: "a", clock, ...timing });
    const b = createLeaderElector({ lease: lease.client, identity: "b", clock, ...timing });
    const stopA = new AbortController();
    const stopB = new AbortController();

    assert.equal(await a.acquire(stopA.signal), true);
    assert.equal(lease.holder(), "a");
    const renewingA = a.renew(stopA.signal);
    let bLeads = false;
    const acquiringB = b.acquire(stopB.signal).then((won) => (bLeads = won));

    // A minute of renewals: a keeps the lease, b keeps waiting.
    for (let i = 0; i < 30; i++) await clock.advance(2_000);
    assert.equal(lease.holder(), "a");
    assert.equal(bLeads, false);
    assert.equal(b.leading, false);
    assert.ok(lease.state.writes > 20, "a renewed the lease every retry period");

    stopA.abort();
    assert.equal(await renewingA, "stopped");
    await a.release();
    assert.equal(lease.holder(), "", "a released the lease");
    await clock.advance(2_500);
    await acquiringB;
    assert.equal(bLeads, true, "b took over at its next attempt, without waiting for the lease to expire");
    assert.equal(lease.holder(), "b");
    assert.equal(lease.record()?.leaseTransitions, 1);
    stopB.abort();
  });

  it("takes over a lease whose holder stopped renewing, only after the lease duration", async () => {
    const clock = createManualClock();
    const lease = memoryLease();
    const crashed = createLeaderElector({ lease: lease.client, identity: "crashed", clock, ...timing });
    assert.equal(await crashed.acquire(new AbortController().signal), true);
    const b = createLeaderElector({ lease: lease.client, identity: "b", clock, ...timing });
    const stopB = new AbortController();
    let bLeads = false;
    const acquiring = b.acquire(stopB.signal).then((won) => (bLeads = won));
    await clock.advance(12_000);
    assert.equal(bLeads, false, "the lease has not expired yet");
    await clock.advance(6_000);
    await until(() => bLeads, "b to lead");
    await acquiring;
    assert.equal(lease.holder(), "b");
    stopB.abort();
  });

  it("gives up leading when it cannot renew within the renew deadline", async () => {
    const clock = createManualClock();
    const lease = memoryLease();
    const leader: LeaderElector = createLeaderElector({ lease: lease.client, identity: "a", clock, ...timing });
    const stop = new AbortController();
    assert.equal(await leader.acquire(stop.signal), true);
    let outcome: string | undefined;
    const renewing = leader.renew(stop.signal).then((o) => (outcome = o));
    await clock.advance(6_000);
    lease.state.down = true;
    await clock.advance(8_000);
    assert.equal(outcome, undefined, "still within the renew deadline");
    await clock.advance(4_000);
    await renewing;
    assert.equal(outcome, "lost");
    assert.equal(leader.leading, false);
  });

  it("refuses timings that would let two replicas lead at once", () => {
    assert.throws(() => checkTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), /lease duration > renew deadline/);
    assert.throws(() => checkTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }), /1.2 × retry period/);
    assert.doesNotThrow(() => checkTiming(timing));
  });

  it("writes MicroTime with six fractional digits", () => {
    assert.equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02T03:04:05.678000Z");
  });
});
