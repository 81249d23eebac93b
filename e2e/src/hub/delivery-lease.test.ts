// The delivery leader lease and the pointer fence on a real nats-server: replicas are separate
// connections, a dead leader is a connection closed without releasing.
import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import { BundlePayloadSchema, DesiredStateSchema, create, encodeBundlePayload, fromBinary, generateDesiredSigningKey } from "@gitfleet/proto";
import {
  DELIVERY_LEADER_KEY,
  activeKeySigner,
  createDeliveryLease,
  createPublisher,
  openDesiredBucket,
  openSharedView,
  pointerKey,
  ViewFencedError,
  type ClusterResolution,
  type DeliveryLease,
  type DeliveryLeaseValue,
  type DeliveryRoleChange,
} from "@gitfleet/hub/delivery";
import { openLocksBucket } from "@gitfleet/hub";
import { Kvm } from "@nats-io/kv";
import { pino } from "pino";
import { waitFor } from "../lab/process.js";
import { skipWithoutNats, startNatsFixture, type NatsFixture } from "../promotion/nats-fixture.js";

const logger = pino({ level: process.env["GITFLEET_TEST_LOG_LEVEL"] ?? "silent" });
const TTL_MS = 3_000;

void describe("delivery leader lease across hub replicas", { skip: skipWithoutNats, timeout: 120_000 }, () => {
  let nats: NatsFixture;

  before(async () => {
    nats = await startNatsFixture("gitfleet-lease-");
  });

  after(async () => {
    await nats?.stop();
  });

  /** A replica: its own connection, its own lease, the role changes it saw. */
  async function replica(owner: string) {
    const nc = await nats.connect();
    const lease = createDeliveryLease({ kv: await openLocksBucket(new Kvm(nc), 1), ttlMs: TTL_MS, owner, logger });
    const changes: DeliveryRoleChange[] = [];
    lease.onChange((change) => changes.push(change));
    return { nc, lease, changes, owner };
  }

  const leaders = (leases: readonly DeliveryLease[]) => leases.filter((l) => l.role === "leader");

  test("of three replicas exactly one leads; a clean stop hands over at once with the next term; a dead leader is replaced within the TTL", async () => {
    const replicas = await Promise.all(["hub-a", "hub-b", "hub-c"].map(replica));
    await Promise.all(replicas.map((r) => r.lease.start()));
    const first = leaders(replicas.map((r) => r.lease));
    assert.equal(first.length, 1, "exactly one leader");
    const leader = replicas.find((r) => r.lease.role === "leader");
    assert.ok(leader);
    const term = leader.lease.fence();
    assert.ok(term !== undefined && term >= 1);
    for (const r of replicas) if (r !== leader) assert.equal(r.lease.fence(), undefined, "followers may not publish");

    // Renewals keep it: after two TTLs the same replica leads, alone.
    await new Promise((resolve) => setTimeout(resolve, TTL_MS * 2));
    assert.deepEqual(
      replicas.filter((r) => r.lease.role === "leader").map((r) => r.owner),
      [leader.owner],
    );
    assert.equal(leader.lease.fence(), term, "the term does not change while the holder renews");

    // A clean stop releases: a successor takes over long before the TTL.
    const stoppedAt = Date.now();
    await leader.lease.stop();
    const rest = replicas.filter((r) => r !== leader);
    const successor = await waitFor(() => rest.find((r) => r.lease.role === "leader"), { what: "a successor after a clean stop", timeoutMs: TTL_MS });
    assert.ok(Date.now() - stoppedAt < TTL_MS / 2, `took over ${Date.now() - stoppedAt} ms after a release`);
    assert.equal(successor.lease.fence(), (term ?? 0) + 1, "the term rises by one at a change of holder");
    assert.equal(leaders(rest.map((r) => r.lease)).length, 1);
    assert.deepEqual(leader.changes.map((c) => c.role), ["leader", "follower"]);

    // Killed (its connection gone, nothing released): the last one takes over within the TTL.
    const diedAt = Date.now();
    await successor.nc.close();
    const last = rest.find((r) => r !== successor);
    assert.ok(last);
    await waitFor(() => last.lease.role === "leader" || undefined, { what: "the last replica to take over a dead leader's lease", timeoutMs: TTL_MS * 2 });
    const tookMs = Date.now() - diedAt;
    assert.ok(tookMs <= TTL_MS + 500, `took over ${tookMs} ms after the leader died (TTL ${TTL_MS} ms)`);
    assert.equal(last.lease.fence(), (term ?? 0) + 2);
    // The dead leader fenced itself before its lease could be taken over.
    assert.equal(successor.lease.role, "follower");
    assert.equal(successor.lease.fence(), undefined);
    assert.equal(successor.changes.at(-1)?.reason, "could not renew the lease before it expired");

    const value = (await (await openLocksBucket(await nats.kvm(), 1)).get(DELIVERY_LEADER_KEY))?.json<DeliveryLeaseValue>();
    assert.equal(value?.owner, last.owner);
    assert.equal(value?.term, (term ?? 0) + 2);
    await Promise.all(replicas.map((r) => r.lease.stop()));
  });

  test("a holder whose deadline timer fires before its clock reaches the deadline still steps down once it passes", async () => {
    // A clock at 95% of the timers' pace: every deadline timer fires a little early, as one does
    // when the event loop's cached time lags after a long turn.
    const start = performance.now();
    const nc = await nats.connect();
    const lease = createDeliveryLease({ kv: await openLocksBucket(new Kvm(nc), 1), ttlMs: TTL_MS, owner: "hub-early-timer", logger, monotonic: () => start + (performance.now() - start) * 0.95 });
    const changes: DeliveryRoleChange[] = [];
    lease.onChange((change) => changes.push(change));
    await lease.start();
    await waitFor(() => lease.role === "leader" || undefined, { what: "the replica to lead", timeoutMs: TTL_MS * 2 });
    // Killed: renewals fail from now on; only the deadline can end its leadership.
    await nc.close();
    await waitFor(() => lease.role === "follower" || undefined, { what: "the cut holder to step down by its deadline", timeoutMs: TTL_MS * 2 });
    assert.equal(lease.fence(), undefined);
    assert.equal(changes.at(-1)?.reason, "could not renew the lease before it expired");
    await lease.stop();
    const kv = await openLocksBucket(await nats.kvm(), 1);
    await kv.delete(DELIVERY_LEADER_KEY);
  });

  test("a renewal whose answer was lost keeps the lease: the holder adopts the revision it wrote instead of stepping down", async () => {
    const solo = await replica("hub-renew");
    await solo.lease.start();
    assert.equal(solo.lease.role, "leader");
    const term = solo.lease.fence();
    // What a renewal that reached the server but whose answer was lost leaves behind: the same
    // value (holder, term, acquisition) at a revision the holder does not know.
    const kv = await openLocksBucket(await nats.kvm(), 1);
    const entry = await kv.get(DELIVERY_LEADER_KEY);
    assert.ok(entry);
    const value = entry.json<DeliveryLeaseValue>();
    await kv.update(DELIVERY_LEADER_KEY, JSON.stringify({ ...value, expiresAt: new Date(Date.now() + TTL_MS).toISOString() }), entry.revision);
    // Two renewals later it still leads, under the same term.
    await new Promise((resolve) => setTimeout(resolve, TTL_MS));
    assert.equal(solo.lease.role, "leader", `stepped down: ${solo.changes.at(-1)?.reason}`);
    assert.equal(solo.lease.fence(), term);
    assert.deepEqual(solo.changes.map((c) => c.role), ["leader"]);
    // A value of another holder is still a takeover.
    const moved = await kv.get(DELIVERY_LEADER_KEY);
    assert.ok(moved);
    await kv.update(DELIVERY_LEADER_KEY, JSON.stringify({ ...moved.json<DeliveryLeaseValue>(), owner: "hub-other", term: (term ?? 0) + 1 }), moved.revision);
    await waitFor(() => solo.lease.role === "follower" || undefined, { what: "a step-down after another holder took the lease", timeoutMs: TTL_MS * 2 });
    await solo.lease.stop();
    await solo.nc.close();
    await kv.delete(DELIVERY_LEADER_KEY);
  });

  test("a publisher of an older term never overwrites a pointer of a newer one, and its replica steps down", async () => {
    const nc = await nats.connect();
    const bucket = await openDesiredBucket(nc, {});
    const signer = activeKeySigner(() => generateDesiredSigningKeyOnce());
    const objects = [new TextEncoder().encode(JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web", namespace: "default" } }))];
    const resolution = async (color: string): Promise<ClusterResolution> => {
      const payload = create(BundlePayloadSchema, {
        name: "web",
        objects: [...objects, new TextEncoder().encode(JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: color, namespace: "default" } }))],
      });
      const encoded = await encodeBundlePayload(payload);
      return {
        clusterId: "cfenced",
        bundles: [{ name: "web", target: "default", overlay: "apps/web", payload, digest: encoded.digest, size: encoded.size }],
        errors: [],
        assignments: [{ bundle: "web", target: "default", overlay: "apps/web" }],
      };
    };
    const deposed: number[] = [];
    const publisherOf = (term: number) =>
      createPublisher({
        bucket,
        source: { repository: "fleet", branch: "main" },
        logger,
        signer,
        fence: { term: () => term, deposed: (t) => deposed.push(t) },
      });
    const stale = publisherOf(1);
    const newer = publisherOf(2);
    const first = await stale.publish("a".repeat(40), await resolution("blue"));
    assert.equal(first.published, true);
    const second = await newer.publish("b".repeat(40), await resolution("green"));
    assert.equal(second.published, true);
    // The deposed leader wakes up with a commit of its own: refused, and told to step down.
    await assert.rejects(stale.publish("c".repeat(40), await resolution("red")), /written under leader term 2, newer than this replica's 1/);
    assert.deepEqual(deposed, [2]);
    const pointer = fromBinary(DesiredStateSchema, (await bucket.kv.get(pointerKey("cfenced")))?.value ?? new Uint8Array());
    assert.equal(pointer.revision, "b".repeat(40), "the newer leader's pointer stays");
    assert.equal(pointer.leaderTerm, 2n);
    assert.equal(pointer.generation, 2n);
    // A replica without the lease publishes nothing at all.
    const follower = createPublisher({ bucket, source: { repository: "fleet", branch: "main" }, logger, signer, fence: { term: () => undefined, deposed: () => undefined } });
    await assert.rejects(follower.publish("d".repeat(40), await resolution("pink")), /not the delivery leader/);
  });

  test("the followers' view is fenced too: a deposed leader's late write is refused and never shown", async () => {
    const nc = await nats.connect();
    try {
      const view = await openSharedView<{ head: string }>(nc, { replicas: 1, logger, bucket: "view_fenced" });
      const seen: Array<[string, number]> = [];
      const stopFollowing = await view.follow((value, term) => seen.push([value.head, term]));
      await view.write({ head: "old" }, 1);
      await view.write({ head: "new" }, 2);
      const late = await view.write({ head: "late" }, 1).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(late instanceof ViewFencedError, `refused: ${String(late)}`);
      assert.equal(late.newerTerm, 2);
      await view.write({ head: "newer" }, 2);
      await waitFor(() => seen.some(([head]) => head === "newer") || undefined, { what: "the follower to see the newest view", timeoutMs: 10_000 });
      await stopFollowing();
      assert.deepEqual(seen, [["old", 1], ["new", 2], ["newer", 2]]);
      // A follower that starts now reads the newest view.
      const fresh: string[] = [];
      const stopFresh = await view.follow((value) => fresh.push(value.head));
      await waitFor(() => fresh.length > 0 || undefined, { what: "a new follower's first view", timeoutMs: 10_000 });
      await stopFresh();
      assert.deepEqual(fresh, ["newer"]);
    } finally {
      await nc.close();
    }
  });
});

let signingKey: ReturnType<typeof generateDesiredSigningKey> | undefined;
function generateDesiredSigningKeyOnce(): ReturnType<typeof generateDesiredSigningKey> {
  signingKey ??= generateDesiredSigningKey();
  return signingKey;
}
