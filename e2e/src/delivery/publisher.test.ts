// Publishing many clusters at once on a real nats-server: every pointer is written, the chunks a
// pointer no longer names are gone when publishAll resolves, and one cluster's failure is its own.
import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import { BundlePayloadSchema, DesiredStateSchema, create, encodeBundlePayload, fromBinary, generateDesiredSigningKey } from "@gitfleet/proto";
import { PublishError, activeKeySigner, chunkKey, createPublisher, openDesiredBucket, pointerKey, type ClusterResolution, type PublishOutcome } from "@gitfleet/hub/delivery";
import { pino } from "pino";
import { skipWithoutNats, startNatsFixture, type NatsFixture } from "../promotion/nats-fixture.js";

const logger = pino({ level: process.env["GITFLEET_TEST_LOG_LEVEL"] ?? "silent" });
const signingKey = generateDesiredSigningKey();
const signer = activeKeySigner(() => signingKey);

/** A one-ConfigMap bundle whose data says `color`. */
async function bundle(name: string, color: string) {
  const object = { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "default" }, data: { color } };
  const payload = create(BundlePayloadSchema, { name, objects: [new TextEncoder().encode(JSON.stringify(object))] });
  const encoded = await encodeBundlePayload(payload);
  return { name, target: "default", overlay: `apps/${name}`, payload, digest: encoded.digest, size: encoded.size };
}

void describe("publishing a fleet's desired state", { skip: skipWithoutNats, timeout: 120_000 }, () => {
  let nats: NatsFixture;

  before(async () => {
    nats = await startNatsFixture("gitfleet-publisher-");
  });
  after(async () => {
    await nats?.stop();
  });

  test("publishAll writes every cluster's pointer, removes superseded chunks before it resolves, and keeps a failure to its cluster", async () => {
    const bucket = await openDesiredBucket(await nats.connect(), {});
    const publisher = createPublisher({ bucket, source: { repository: "fleet", branch: "main" }, logger, signer });
    const ids = Array.from({ length: 60 }, (_, i) => `c${String(i).padStart(3, "0")}`);
    const fleetAt = async (color: string): Promise<ClusterResolution[]> => {
      const bundles = [await bundle("web", color), await bundle("base", "fixed")];
      return ids.map((clusterId) => ({ clusterId, bundles, errors: [], assignments: bundles.map((b) => ({ bundle: b.name, target: b.target, overlay: b.overlay })) }));
    };

    const results = new Map<string, PublishOutcome | PublishError>();
    await publisher.publishAll("a".repeat(40), await fleetAt("blue"), { concurrency: 7, onResult: (id, result) => results.set(id, result) });
    assert.equal(results.size, ids.length, "one result per cluster");
    for (const [id, result] of results) assert.ok(!(result instanceof Error) && result.published, `${id}: ${result instanceof Error ? result.message : "not published"}`);
    const blue = (await fleetAt("blue"))[0]?.bundles[0];
    assert.ok(blue);

    // The next commit changes web for every cluster but one, whose resolution is broken.
    results.clear();
    const next = await fleetAt("green");
    const broken = next[17] as ClusterResolution;
    next[17] = { ...broken, bundles: [{ ...(broken.bundles[0] as (typeof broken.bundles)[0]), digest: "0".repeat(64) }, ...broken.bundles.slice(1)] };
    await publisher.publishAll("b".repeat(40), next, { onResult: (id, result) => results.set(id, result) });
    assert.equal(results.size, ids.length);
    const failed = [...results].filter(([, r]) => r instanceof Error);
    assert.deepEqual(failed.map(([id]) => id), [broken.clusterId]);
    assert.ok(failed[0]?.[1] instanceof PublishError);
    assert.match(String(failed[0]?.[1]), /digest/);

    for (const id of ids) {
      const pointer = fromBinary(DesiredStateSchema, (await bucket.kv.get(pointerKey(id)))?.value ?? new Uint8Array());
      const web = pointer.bundles.find((b) => b.name === "web");
      const oldChunk = await bucket.kv.get(chunkKey(id, "web", blue.digest, 0));
      if (id === broken.clusterId) {
        assert.equal(pointer.revision, "a".repeat(40), "the failed cluster keeps its last pointer");
        assert.equal(web?.digest, blue.digest);
        assert.ok(oldChunk?.value.length, "and the chunks it names");
      } else {
        assert.equal(pointer.revision, "b".repeat(40));
        assert.equal(pointer.generation, 2n);
        assert.notEqual(web?.digest, blue.digest);
        assert.equal(oldChunk, null, `${id}: the superseded web chunk is gone when publishAll resolves`);
        assert.ok(((await bucket.kv.get(chunkKey(id, "web", web?.digest ?? "", 0)))?.value.length ?? 0) > 0, `${id}: the new web chunk is there`);
      }
    }
  });

  test("a replica that is not the leader publishes nothing and says so for each cluster", async () => {
    const bucket = await openDesiredBucket(await nats.connect(), { bucket: "desired_follower" });
    const follower = createPublisher({ bucket, source: { repository: "fleet", branch: "main" }, logger, signer, fence: { term: () => undefined, deposed: () => undefined } });
    const web = await bundle("web", "blue");
    const results: Array<PublishOutcome | PublishError> = [];
    await follower.publishAll("a".repeat(40), [
      { clusterId: "c1", bundles: [web], errors: [], assignments: [] },
      { clusterId: "c2", bundles: [web], errors: [], assignments: [] },
    ], { onResult: (_id, result) => results.push(result) });
    assert.equal(results.length, 2);
    for (const result of results) assert.match(result instanceof Error ? result.message : "published", /not the delivery leader/);
    assert.equal(await bucket.kv.get(pointerKey("c1")), null);
  });
});
