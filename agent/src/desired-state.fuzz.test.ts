// Fuzzes what the agent reads from NATS (anyone who can write the cluster's key space, or corrupt
// it on the way, controls it): the pointer and the chunks of each bundle, as arbitrary bytes, as
// mutations of a valid publication, and as arbitrary well-formed DesiredState and BundlePayload
// messages. Properties: loading refuses with AgentError (a message that says what is wrong) or
// gives a state in which every bundle is either whole (exactly the objects the hub published,
// verified) or marked failed with a reason and no object at all: nothing is applied in part.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { BundlePayloadSchema, DesiredStateSchema, DriftMode, create, encodeBundlePayload, toBinary } from "@gitfleet/proto";
import fc from "fast-check";
import { bundleChunkKey, loadDesiredState, type ChunkReader, type DesiredStateSnapshot } from "./desired-state.js";
import { AgentError } from "./errors.js";
import { arbitraryMessage, fuzzAsync, refusesTypedAsync } from "@gitfleet/proto/test-support";

const prefix = "cq3v7tbd2kx5mfw6hz4ay";
const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const configMap = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "web" }, data: { a: "b" } });

/** A valid publication: two bundles in small chunks, the pointer and every chunk by key. */
async function publication() {
  const values = new Map<string, Uint8Array>();
  const published = new Map<string, unknown[]>();
  const refs = [];
  for (const [name, count] of [["web", 3], ["db", 1]] as const) {
    const objects = Array.from({ length: count }, (_, i) => configMap(`${name}-${i}`));
    const encoded = await encodeBundlePayload(
      { name, objects: objects.map(json), policy: { prune: true, namespace: "web", drift: DriftMode.CORRECT, ignore: ["/spec/replicas"] } },
      { maxChunkBytes: 48 },
    );
    encoded.chunks.forEach((c, i) => values.set(bundleChunkKey(prefix, name, encoded.digest, i), c));
    published.set(name, objects);
    refs.push({ name, digest: encoded.digest, chunks: encoded.chunks.length, size: BigInt(encoded.size), revision: "abc123" });
  }
  const pointer = toBinary(DesiredStateSchema, create(DesiredStateSchema, { revision: "abc123", generation: 7n, bundles: refs }));
  return { values, published, pointer };
}
const valid = await publication();

const reader = (values: ReadonlyMap<string, Uint8Array>): ChunkReader => ({ get: (key) => Promise.resolve(values.get(key)) });

/** Byte mutations: flips, cuts, insertions and overwrites. */
function mutatedBytes(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = Math.max(1, bytes.length);
  const edit = fc.oneof(
    fc.record({ op: fc.constant("flip" as const), at: fc.nat(n - 1), bit: fc.nat(7) }),
    fc.record({ op: fc.constant("cut" as const), at: fc.nat(n) }),
    fc.record({ op: fc.constant("insert" as const), at: fc.nat(n), what: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
    fc.record({ op: fc.constant("set" as const), at: fc.nat(n - 1), value: fc.constantFrom(0, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    let out = Array.from(bytes);
    for (const e of edits) {
      const at = Math.min(e.at, out.length);
      if (e.op === "flip" && at < out.length) out[at] = (out[at] ?? 0) ^ (1 << e.bit);
      else if (e.op === "cut") out = out.slice(0, at);
      else if (e.op === "insert") out.splice(at, 0, ...e.what);
      else if (e.op === "set" && at < out.length) out[at] = e.value;
    }
    return Uint8Array.from(out);
  });
}

/** Every bundle is whole or failed with a reason and nothing to apply. */
function checkWholeOrFailed(state: DesiredStateSnapshot | undefined, published?: ReadonlyMap<string, unknown[]>): void {
  for (const bundle of state?.bundles ?? []) {
    if (bundle.error !== undefined) {
      assert.ok(bundle.error.length > 0, "a failed bundle without a reason");
      assert.deepEqual(bundle.objects, [], `bundle ${bundle.name} failed (${bundle.error}) but still carries objects to apply`);
      continue;
    }
    for (const object of bundle.objects) assert.ok(typeof object.apiVersion === "string" && typeof object.kind === "string" && typeof object.metadata.name === "string");
    const expected = published?.get(bundle.name);
    if (expected !== undefined) assert.deepEqual(bundle.objects, expected, `bundle ${bundle.name} was accepted with other objects than the hub published`);
  }
}

void test("desired state: arbitrary bytes as the pointer", () =>
  fuzzAsync(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
      const state = await refusesTypedAsync(() => loadDesiredState({ pointer: bytes, kvRevision: 1, keyPrefix: prefix, reader: reader(valid.values) }), [AgentError]);
      checkWholeOrFailed(state, valid.published);
    }),
  ));

void test("desired state: mutations of a valid pointer and of its chunks", () =>
  fuzzAsync(
    fc.asyncProperty(
      fc.option(mutatedBytes(valid.pointer), { nil: undefined }),
      fc.array(fc.tuple(fc.constantFrom(...valid.values.keys()), fc.option(mutatedBytes(new Uint8Array(48)), { nil: undefined })), { maxLength: 3 }),
      fc.array(fc.constantFrom(...valid.values.keys()), { maxLength: 2 }),
      async (pointer, changed, dropped) => {
        const values = new Map(valid.values);
        for (const [key, bytes] of changed) {
          const original = values.get(key) ?? new Uint8Array();
          // A mutated chunk: the original with some bytes replaced from the mutation, or cut.
          values.set(key, bytes === undefined ? original.slice(0, original.length >> 1) : Uint8Array.from(original.map((b, i) => (i < bytes.length ? b ^ (bytes[i] ?? 0) : b))));
        }
        for (const key of dropped) values.delete(key);
        const state = await refusesTypedAsync(
          () => loadDesiredState({ pointer: pointer ?? valid.pointer, kvRevision: 2, keyPrefix: prefix, reader: reader(values) }),
          [AgentError],
        );
        checkWholeOrFailed(state, valid.published);
      },
    ),
  ));

void test("desired state: arbitrary DesiredState pointers over arbitrary BundlePayload chunks", () =>
  fuzzAsync(
    fc.asyncProperty(
      arbitraryMessage(DesiredStateSchema, 3),
      fc.array(fc.oneof(arbitraryMessage(BundlePayloadSchema, 3).map((m) => toBinary(BundlePayloadSchema, m)), fc.uint8Array({ maxLength: 100 })), { minLength: 1, maxLength: 3 }),
      async (pointer, chunks) => {
        // Whatever key the pointer names is answered with one of the chunks.
        let i = 0;
        const any: ChunkReader = { get: () => Promise.resolve(chunks[i++ % chunks.length]) };
        for (const ref of pointer.bundles) ref.chunks = Math.min(ref.chunks, 4);
        const state = await refusesTypedAsync(
          () => loadDesiredState({ pointer: toBinary(DesiredStateSchema, pointer), kvRevision: 3, keyPrefix: prefix, reader: any, maxBundleBytes: 1 << 20 }),
          [AgentError],
        );
        checkWholeOrFailed(state);
      },
    ),
  ));
