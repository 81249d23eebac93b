import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { DesiredStateSchema, DriftMode, create, encodeBundlePayload, toBinary } from "@gitfleet/proto";
import { bundleChunkKey, loadDesiredState } from "./desired-state.js";
import type { ChunkReader } from "./desired-state.js";
import { AgentError } from "./errors.js";

const prefix = "cq3v7tbd2kx5mfw6hz4ay";
const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const configMap = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { a: "b" } });

/** A KV of the cluster's keys, counting reads. */
function memoryKv() {
  const values = new Map<string, Uint8Array>();
  let reads = 0;
  const reader: ChunkReader = {
    get: (key) => {
      reads++;
      return Promise.resolve(values.get(key));
    },
  };
  return { values, reader, reads: () => reads };
}

async function publish(kv: ReturnType<typeof memoryKv>, name: string, objects: Uint8Array[], options: { prune?: boolean; chunkBytes?: number } = {}) {
  const encoded = await encodeBundlePayload(
    { name, objects, policy: { prune: options.prune ?? false, namespace: "web", drift: DriftMode.REPORT, ignore: ["/spec/replicas"] } },
    { maxChunkBytes: options.chunkBytes ?? 64 },
  );
  encoded.chunks.forEach((c, i) => kv.values.set(bundleChunkKey(prefix, name, encoded.digest, i), c));
  return { name, digest: encoded.digest, chunks: encoded.chunks.length, size: BigInt(encoded.size), revision: "abc123" };
}

const pointer = (bundles: object[], generation = 7n) =>
  toBinary(DesiredStateSchema, create(DesiredStateSchema, { revision: "abc123", generation, bundles }));

describe("desired state assembly", () => {
  it("fetches every chunk, joins, inflates and verifies each bundle", async () => {
    const kv = memoryKv();
    const web = await publish(kv, "web", [json(configMap("one")), json(configMap("two"))], { prune: true });
    assert.ok(web.chunks > 1, "the payload spans several chunks");
    const state = await loadDesiredState({ pointer: pointer([web]), kvRevision: 12, keyPrefix: prefix, reader: kv.reader });
    assert.equal(state.revision, "abc123");
    assert.equal(state.generation, 7n);
    assert.equal(state.kvRevision, 12);
    const [bundle] = state.bundles;
    assert.equal(bundle?.error, undefined);
    assert.equal(bundle?.digest, web.digest);
    assert.deepEqual(bundle?.objects.map((o) => o.metadata.name), ["one", "two"]);
    // This payload, as an older hub writes it, has no ignore_rules: its pointers apply to every object.
    assert.deepEqual(bundle?.policy, { prune: true, namespace: "web", drift: "report", ignore: [{ path: "/spec/replicas", group: "", kind: "", namespace: "", name: "" }] });
  });

  it("reads every ignore rule from ignore_rules when the hub sends them, scoped ones included", async () => {
    const kv = memoryKv();
    const encoded = await encodeBundlePayload({
      name: "web",
      objects: [json(configMap("one"))],
      policy: {
        drift: DriftMode.CORRECT,
        namespace: "web",
        ignore: ["/spec/replicas"],
        ignoreRules: [{ path: "/spec/replicas" }, { path: "/data/cache", kind: "ConfigMap", name: "one" }],
      },
    });
    encoded.chunks.forEach((c, i) => kv.values.set(bundleChunkKey(prefix, "web", encoded.digest, i), c));
    const ref = { name: "web", digest: encoded.digest, chunks: encoded.chunks.length, size: BigInt(encoded.size), revision: "abc123" };
    const state = await loadDesiredState({ pointer: pointer([ref]), kvRevision: 1, keyPrefix: prefix, reader: kv.reader });
    assert.deepEqual(state.bundles[0]?.policy.ignore, [
      { path: "/spec/replicas", group: "", kind: "", namespace: "", name: "" },
      { path: "/data/cache", group: "", kind: "ConfigMap", namespace: "", name: "one" },
    ]);
  });

  it("reuses bundles whose digest did not change instead of fetching them again", async () => {
    const kv = memoryKv();
    const web = await publish(kv, "web", [json(configMap("one"))]);
    const first = await loadDesiredState({ pointer: pointer([web]), kvRevision: 1, keyPrefix: prefix, reader: kv.reader });
    const reads = kv.reads();
    const second = await loadDesiredState({ pointer: pointer([web], 8n), kvRevision: 2, keyPrefix: prefix, reader: kv.reader, previous: first });
    assert.equal(kv.reads(), reads);
    assert.equal(second.bundles[0]?.objects, first.bundles[0]?.objects);
  });

  it("marks a bundle whose payload fails its digest, and keeps the others", async () => {
    const kv = memoryKv();
    const good = await publish(kv, "good", [json(configMap("one"))]);
    const bad = await publish(kv, "bad", [json(configMap("two"))]);
    const state = await loadDesiredState({
      pointer: pointer([good, { ...bad, digest: good.digest.replace(/^./, (c) => (c === "0" ? "1" : "0")) }]),
      kvRevision: 3,
      keyPrefix: prefix,
      reader: { get: (key) => kv.reader.get(key.replace(/bundles\.bad\.[0-9a-f]+/, `bundles.bad.${bad.digest}`)) },
    });
    assert.equal(state.bundles[0]?.error, undefined);
    assert.match(state.bundles[1]?.error ?? "", /bundle bad payload .* is unusable \(digest_mismatch/);
  });

  it("marks a bundle with an object that is not a Kubernetes object", async () => {
    const kv = memoryKv();
    const web = await publish(kv, "web", [json(configMap("one")), json({ kind: "ConfigMap", metadata: { name: "x" } })]);
    const state = await loadDesiredState({ pointer: pointer([web]), kvRevision: 1, keyPrefix: prefix, reader: kv.reader });
    assert.equal(state.bundles[0]?.error, "bundle web: object 1 has no apiVersion");
    const broken = await publish(kv, "raw", [new TextEncoder().encode("{not json")]);
    const again = await loadDesiredState({ pointer: pointer([broken]), kvRevision: 2, keyPrefix: prefix, reader: kv.reader });
    assert.match(again.bundles[0]?.error ?? "", /object 0 is not valid JSON/);
  });

  it("refuses bundle names that are not DNS labels and names listed twice", async () => {
    const kv = memoryKv();
    const web = await publish(kv, "web", [json(configMap("one"))]);
    const state = await loadDesiredState({
      pointer: pointer([{ ...web, name: "a.b" }, web, web]),
      kvRevision: 1,
      keyPrefix: prefix,
      reader: kv.reader,
    });
    assert.match(state.bundles[0]?.error ?? "", /"a.b" is not a DNS label/);
    assert.equal(state.bundles[1]?.error, undefined);
    assert.match(state.bundles[2]?.error ?? "", /listed twice/);
  });

  it("fails as unavailable when a chunk is missing, so the caller retries", async () => {
    const kv = memoryKv();
    const web = await publish(kv, "web", [json(configMap("one")), json(configMap("two"))]);
    kv.values.delete(bundleChunkKey(prefix, "web", web.digest, 1));
    await assert.rejects(
      loadDesiredState({ pointer: pointer([web]), kvRevision: 1, keyPrefix: prefix, reader: kv.reader }),
      (error: unknown) => error instanceof AgentError && error.code === "desired-state-unavailable" && /chunk 1 of/.test(error.message),
    );
  });

  it("fails as invalid when the pointer is not a DesiredState", async () => {
    await assert.rejects(
      loadDesiredState({ pointer: new Uint8Array([0xff, 0xff, 0xff]), kvRevision: 1, keyPrefix: prefix, reader: memoryKv().reader }),
      (error: unknown) => error instanceof AgentError && error.code === "desired-state-invalid",
    );
  });

  it("fails as invalid, not with a RangeError, when published_at is outside the range of a date (found by fuzzing)", async () => {
    const bytes = toBinary(DesiredStateSchema, create(DesiredStateSchema, { revision: "abc123", generation: 1n, bundles: [], publishedAt: { seconds: -8640000000001n, nanos: 0 } }));
    await assert.rejects(
      loadDesiredState({ pointer: bytes, kvRevision: 1, keyPrefix: prefix, reader: memoryKv().reader }),
      (error: unknown) => error instanceof AgentError && error.code === "desired-state-invalid" && /published_at -8640000000001 s, outside the range of a date/.test(error.message),
    );
  });
});
