import { strict as assert } from "node:assert";
import { createHash, randomBytes } from "node:crypto";
import { before, describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { BundlePayloadSchema, DriftMode } from "./gen/gitfleet/v1/agent_pb.js";
import {
  DEFAULT_CHUNK_BYTES,
  NATS_MAX_PAYLOAD_BYTES,
  PayloadError,
  chunk,
  compress,
  decodeBundlePayload,
  decompress,
  digest,
  encodeBundlePayload,
  joinChunks,
} from "./wire.js";
import type { EncodedPayload } from "./wire.js";

/** A bundle of `count` ConfigMaps with incompressible data, so its gzip stays large. */
function bigBundle(count: number) {
  const objects = Array.from({ length: count }, (_, index) =>
    new TextEncoder().encode(
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: `cm-${String(index)}`, namespace: "web" },
        data: { blob: randomBytes(48 * 1024).toString("base64") },
      }),
    ),
  );
  return create(BundlePayloadSchema, {
    name: "web",
    objects,
    policy: { drift: DriftMode.CORRECT, ignore: ["/spec/replicas"], prune: true, namespace: "web" },
  });
}

const isPayloadError = (code: PayloadError["code"]) => (error: unknown) =>
  error instanceof PayloadError && error.code === code;

describe("wire helpers", () => {
  it("digests bytes as sha256 hex", () => {
    const bytes = new TextEncoder().encode("gitfleet");
    assert.equal(digest(bytes), createHash("sha256").update("gitfleet").digest("hex"));
    assert.equal(digest(new Uint8Array()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("round-trips gzip and refuses to inflate past a limit", async () => {
    const bytes = new TextEncoder().encode("apiVersion: v1\n".repeat(1000));
    const compressed = await compress(bytes);
    assert.ok(compressed.byteLength < bytes.byteLength / 10, "repetitive YAML should compress well");
    assert.deepEqual(await decompress(compressed), bytes);
    await assert.rejects(decompress(compressed, { maxBytes: 100 }), RangeError);
  });

  it("compresses and inflates small payloads on the calling thread and large ones in the pool, alike", async () => {
    const tooLarge = (error: unknown) => error instanceof RangeError && "code" in error && error.code === "ERR_BUFFER_TOO_LARGE";
    // Below, at and above the inline limits (64 KiB in, 1 MiB out), random and repetitive.
    for (const bytes of [randomBytes(300), new Uint8Array(64 * 1024).fill(7), randomBytes(64 * 1024 + 1), new Uint8Array(3 << 20).fill(1)]) {
      const compressed = await compress(bytes);
      assert.deepEqual(new Uint8Array(gunzipSync(compressed)), new Uint8Array(bytes), "plain gzip, whichever thread made it");
      assert.deepEqual(await decompress(compressed, { maxBytes: bytes.byteLength }), new Uint8Array(bytes));
      assert.deepEqual(await decompress(compressed), new Uint8Array(bytes));
      await assert.rejects(decompress(compressed, { maxBytes: bytes.byteLength - 1 }), tooLarge);
    }
    // A small input that inflates far past its limit is refused on the calling thread too.
    const bomb = await compress(new Uint8Array(8 << 20));
    assert.ok(bomb.byteLength < 64 * 1024);
    await assert.rejects(decompress(bomb, { maxBytes: 1000 }), tooLarge);
    await assert.rejects(decompress(new Uint8Array([1, 2, 3]), { maxBytes: 1000 }), (error: unknown) => error instanceof Error && !tooLarge(error));
  });

  it("chunks bytes into views no larger than the limit and joins them back", () => {
    const bytes = randomBytes(10_001);
    const chunks = chunk(bytes, 1000);
    assert.equal(chunks.length, 11);
    assert.ok(chunks.every((part) => part.byteLength <= 1000));
    assert.equal(chunks.at(-1)?.byteLength, 1);
    assert.deepEqual(Buffer.from(joinChunks(chunks)), bytes);
    assert.deepEqual(chunk(new Uint8Array(), 1000), []);
    assert.throws(() => chunk(bytes, 0), RangeError);
  });

  it("encodes a payload above the NATS max payload into chunks that each fit, and decodes it", async () => {
    const payload = bigBundle(40);
    const bytes = toBinary(BundlePayloadSchema, payload);
    assert.ok(bytes.byteLength > NATS_MAX_PAYLOAD_BYTES, "the test bundle must exceed 1 MiB");

    const encoded = await encodeBundlePayload(payload);
    assert.equal(encoded.digest, digest(bytes));
    assert.equal(encoded.size, bytes.byteLength);
    assert.ok(encoded.chunks.length >= 3, `expected several chunks, got ${String(encoded.chunks.length)}`);
    assert.ok(encoded.chunks.every((part) => part.byteLength <= DEFAULT_CHUNK_BYTES));

    const decoded = await decodeBundlePayload({ ...encoded, size: BigInt(encoded.size), chunkCount: encoded.chunks.length });
    assert.deepStrictEqual(decoded, payload);
  });

  it("honours a smaller chunk size", async () => {
    const encoded = await encodeBundlePayload(bigBundle(2), { maxChunkBytes: 16 * 1024 });
    assert.ok(encoded.chunks.length > 1 && encoded.chunks.every((part) => part.byteLength <= 16 * 1024));
    assert.equal((await decodeBundlePayload(encoded)).objects.length, 2);
  });

  describe("decode failures", () => {
    let encoded: EncodedPayload;
    before(async () => {
      encoded = await encodeBundlePayload(bigBundle(3), { maxChunkBytes: 32 * 1024 });
    });

    it("rejects a missing chunk and says which", async () => {
      const chunks: (Uint8Array | undefined)[] = [...encoded.chunks];
      chunks[1] = undefined;
      await assert.rejects(decodeBundlePayload({ ...encoded, chunks }), (error: unknown) =>
        isPayloadError("chunk_missing")(error) && (error as PayloadError).chunkIndex === 1,
      );
      const truncated = { ...encoded, chunks: encoded.chunks.slice(0, -1), chunkCount: encoded.chunks.length };
      await assert.rejects(decodeBundlePayload(truncated), isPayloadError("chunk_missing"));
    });

    it("rejects a digest that does not match", async () => {
      await assert.rejects(decodeBundlePayload({ ...encoded, digest: "0".repeat(64) }), isPayloadError("digest_mismatch"));
    });

    it("rejects tampered content even when it still inflates", async () => {
      const bytes = toBinary(BundlePayloadSchema, create(BundlePayloadSchema, { name: "evil", objects: [new Uint8Array(encoded.size - 8)] }));
      const forged = { ...encoded, size: bytes.byteLength, chunks: chunk(gzipSync(bytes), 32 * 1024) };
      await assert.rejects(decodeBundlePayload(forged), isPayloadError("digest_mismatch"));
    });

    it("rejects flipped bytes in a chunk", async () => {
      const first = new Uint8Array(encoded.chunks[0]!);
      first[first.byteLength >> 1]! ^= 0xff;
      const tampered = { ...encoded, chunks: [first, ...encoded.chunks.slice(1)] };
      await assert.rejects(decodeBundlePayload(tampered), (error: unknown) =>
        error instanceof PayloadError && ["corrupt", "digest_mismatch", "size_mismatch"].includes(error.code),
      );
    });

    it("rejects a payload that inflates beyond its declared size", async () => {
      await assert.rejects(decodeBundlePayload({ ...encoded, size: encoded.size - 1 }), isPayloadError("size_mismatch"));
      await assert.rejects(decodeBundlePayload({ ...encoded, size: 10 }), isPayloadError("size_mismatch"));
    });
  });
});
