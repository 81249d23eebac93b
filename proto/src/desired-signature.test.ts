import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BundleRefSchema, DesiredStateSchema } from "./gen/gitfleet/v1/agent_pb.js";
import {
  desiredSignaturePayload,
  encodeSignedDesiredState,
  generateDesiredSigningKey,
  keyEndorsementPayload,
  publicKeyProblem,
  signWithDesiredKey,
  signingKeyId,
  unsignedPointerBytes,
  verifyWithPublicKey,
} from "./desired-signature.js";

const pointer = () =>
  create(DesiredStateSchema, {
    revision: "a".repeat(40),
    generation: 7n,
    bundles: [{ name: "web", digest: "b".repeat(64), chunks: 2, size: 1234n, revision: "c".repeat(40), stage: "prod" }],
  });

describe("the signed desired-state pointer", () => {
  it("signs the pointer's other fields byte for byte, under a context line and the cluster id", () => {
    const key = generateDesiredSigningKey();
    const encoded = encodeSignedDesiredState(pointer(), "c-one", key);
    const decoded = fromBinary(DesiredStateSchema, encoded);
    assert.equal(decoded.signingKeyId, key.id);
    assert.equal(decoded.signature.byteLength, 64);
    const unsigned = unsignedPointerBytes(encoded);
    assert.deepEqual(unsigned, toBinary(DesiredStateSchema, pointer()));
    const text = new TextDecoder().decode(desiredSignaturePayload("c-one", new Uint8Array(0)));
    assert.equal(text, "gitfleet-desired/v1\nc-one\n");
    assert.ok(verifyWithPublicKey(key.publicKey, desiredSignaturePayload("c-one", unsigned), decoded.signature));
    assert.ok(!verifyWithPublicKey(key.publicKey, desiredSignaturePayload("c-two", unsigned), decoded.signature), "another cluster id");
  });

  it("signs right with each of many keys used in turn (more keys than it keeps imported)", () => {
    const keys = Array.from({ length: 6 }, () => generateDesiredSigningKey());
    const payload = new TextEncoder().encode("pointer bytes");
    for (let round = 0; round < 3; round++) {
      for (const [i, key] of keys.entries()) {
        const signature = signWithDesiredKey(key, payload);
        assert.ok(verifyWithPublicKey(key.publicKey, payload, signature), `key ${i}, round ${round}`);
        const other = keys[(i + 1) % keys.length];
        assert.ok(other && !verifyWithPublicKey(other.publicKey, payload, signature), "not another key's signature");
      }
    }
    // A key whose private half changed under the same public key is imported again, not reused.
    const [first, second] = keys as [(typeof keys)[0], (typeof keys)[0]];
    signWithDesiredKey(first, payload);
    const signature = signWithDesiredKey({ ...first, privateKey: second.privateKey }, payload);
    assert.ok(verifyWithPublicKey(second.publicKey, payload, signature), "signed with the private key given");
    assert.ok(!verifyWithPublicKey(first.publicKey, payload, signature));
  });

  it("fails verification when any acted-on field changes", () => {
    const key = generateDesiredSigningKey();
    const decoded = fromBinary(DesiredStateSchema, encodeSignedDesiredState(pointer(), "c-one", key));
    const edits: Array<(p: ReturnType<typeof pointer>) => void> = [
      (p) => (p.generation = 8n),
      (p) => (p.revision = "d".repeat(40)),
      (p) => (p.bundles[0]!.digest = "e".repeat(64)),
      (p) => (p.bundles[0]!.chunks = 3),
      (p) => (p.bundles[0]!.size = 1n),
      (p) => (p.bundles[0]!.stage = "dev"),
      (p) => (p.bundles[0]!.name = "api"),
      (p) => p.bundles.push(create(BundleRefSchema, { name: "extra", digest: "f".repeat(64), chunks: 1 })),
    ];
    for (const edit of edits) {
      const copy = fromBinary(DesiredStateSchema, toBinary(DesiredStateSchema, decoded));
      edit(copy);
      const unsigned = unsignedPointerBytes(toBinary(DesiredStateSchema, copy));
      assert.ok(!verifyWithPublicKey(key.publicKey, desiredSignaturePayload("c-one", unsigned), copy.signature), String(edit));
    }
  });

  it("keeps unknown fields a newer hub adds inside the signed bytes", () => {
    const key = generateDesiredSigningKey();
    const encoded = encodeSignedDesiredState(pointer(), "c-one", key);
    // Field 6 (string "x") added after the signature fields by some writer: it is signed text too.
    const extra = new Uint8Array([0x32, 0x01, 0x78]);
    const withExtra = new Uint8Array([...encoded, ...extra]);
    const unsigned = unsignedPointerBytes(withExtra);
    assert.equal(unsigned.byteLength, toBinary(DesiredStateSchema, pointer()).byteLength + 3);
  });

  it("refuses malformed public keys and signatures without throwing", () => {
    assert.equal(verifyWithPublicKey("ed25519:short", new Uint8Array(1), new Uint8Array(64)), false);
    assert.equal(verifyWithPublicKey("rsa:xyz", new Uint8Array(1), new Uint8Array(64)), false);
    const key = generateDesiredSigningKey();
    assert.equal(verifyWithPublicKey(key.publicKey, new Uint8Array(1), new Uint8Array(10)), false);
    assert.match(publicKeyProblem("nope") ?? "", /ed25519:/);
    assert.equal(publicKeyProblem(key.publicKey), undefined);
  });

  it("endorses a key over its id and public key", () => {
    const old = generateDesiredSigningKey();
    const next = generateDesiredSigningKey();
    assert.equal(signingKeyId(next.publicKey), next.id);
    assert.match(next.id, /^sk-[0-9a-f]{16}$/);
    const endorsement = signWithDesiredKey(old, keyEndorsementPayload(next));
    assert.ok(verifyWithPublicKey(old.publicKey, keyEndorsementPayload(next), endorsement));
    assert.ok(!verifyWithPublicKey(old.publicKey, keyEndorsementPayload({ id: next.id, publicKey: old.publicKey }), endorsement));
    assert.equal(new TextDecoder().decode(keyEndorsementPayload({ id: "sk-1", publicKey: "ed25519:x" })), "gitfleet-signing-key/v1\nsk-1\ned25519:x");
  });
});
