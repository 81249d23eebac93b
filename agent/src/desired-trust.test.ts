import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DesiredStateSchema,
  TrustedKeySchema,
  create,
  encodeSignedDesiredState,
  fromBinary,
  generateDesiredSigningKey,
  keyEndorsementPayload,
  signWithDesiredKey,
  toBinary,
} from "@gitfleet/proto";
import type { DesiredSigningKey, TrustedKey } from "@gitfleet/proto";
import { checkPointer, parsePinnedKeys, updatePinnedKeys } from "./desired-trust.js";
import type { HeldPointer } from "./desired-trust.js";

const pin = (key: DesiredSigningKey) => ({ id: key.id, publicKey: key.publicKey });
const listed = (key: DesiredSigningKey, endorser?: DesiredSigningKey): TrustedKey =>
  create(TrustedKeySchema, {
    id: key.id,
    publicKey: key.publicKey,
    endorsedBy: endorser?.id ?? "",
    endorsement: endorser ? signWithDesiredKey(endorser, keyEndorsementPayload(key)) : new Uint8Array(0),
  });

describe("pinned desired-state keys", () => {
  it("accepts a new key only with a valid endorsement by a trusted key, through chains", () => {
    const [k1, k2, k3] = [generateDesiredSigningKey(), generateDesiredSigningKey(), generateDesiredSigningKey()];
    const update = updatePinnedKeys([pin(k1)], [listed(k1), listed(k2, k1), listed(k3, k2)]);
    assert.deepEqual(update.keys.map((k) => k.id).sort(), [k1.id, k2.id, k3.id].sort());
    assert.deepEqual(update.added.sort(), [k2.id, k3.id].sort());
    assert.deepEqual(update.refused, []);
  });

  it("refuses a key endorsed by an untrusted key, or with a forged endorsement", () => {
    const [k1, rogue, k2] = [generateDesiredSigningKey(), generateDesiredSigningKey(), generateDesiredSigningKey()];
    const forged = create(TrustedKeySchema, { ...listed(k2, k1), endorsement: signWithDesiredKey(rogue, keyEndorsementPayload(k2)) });
    const update = updatePinnedKeys([pin(k1)], [listed(k1), listed(rogue), forged]);
    assert.deepEqual(update.keys, [pin(k1)]);
    assert.equal(update.refused.length, 2);
    assert.match(update.refused.join("\n"), new RegExp(`${k2.id}: its endorsement by ${k1.id} does not verify`));
  });

  it("drops a retired key, keeps everything when the list offers nothing trusted", () => {
    const [k1, k2] = [generateDesiredSigningKey(), generateDesiredSigningKey()];
    const update = updatePinnedKeys([pin(k1), pin(k2)], [listed(k2, k1)]);
    assert.deepEqual(update.keys, [pin(k2)]);
    assert.deepEqual(update.dropped, [k1.id]);
    const stranger = generateDesiredSigningKey();
    const none = updatePinnedKeys([pin(k1)], [listed(stranger)]);
    assert.deepEqual(none.keys, [pin(k1)]);
  });

  it("pins every well-formed key on first use, and never a key whose id lies", () => {
    const k1 = generateDesiredSigningKey();
    const liar = create(TrustedKeySchema, { id: "sk-0000000000000000", publicKey: k1.publicKey });
    const update = updatePinnedKeys([], [listed(k1), liar]);
    assert.deepEqual(update.keys, [pin(k1)]);
    assert.equal(update.refused.length, 1);
    assert.deepEqual(parsePinnedKeys([pin(k1), { id: "sk-0000000000000000", publicKey: k1.publicKey }, "junk"]), [pin(k1)]);
  });
});

describe("the pointer check", () => {
  const key = generateDesiredSigningKey();
  const state = (generation: bigint, digest = "a".repeat(64)) =>
    create(DesiredStateSchema, { revision: "r".repeat(40), generation, bundles: [{ name: "web", digest, chunks: 1, size: 10n, revision: "r".repeat(40) }] });
  const held: HeldPointer = { generation: 5n, revision: "r".repeat(40), bundles: [{ name: "web", digest: "a".repeat(64), revision: "r".repeat(40), stage: "" }] };
  const check = (encoded: Uint8Array, keys = [pin(key)], clusterId = "c-one") =>
    checkPointer({ encoded, pointer: fromBinary(DesiredStateSchema, encoded), clusterId, keys, held });

  it("accepts a newer, validly signed pointer and a re-read of the held one", () => {
    assert.equal(check(encodeSignedDesiredState(state(6n, "b".repeat(64)), "c-one", key)), undefined);
    assert.equal(check(encodeSignedDesiredState(state(5n), "c-one", key)), undefined);
  });

  it("refuses unsigned, unknown-key, altered, other-cluster and replayed pointers", () => {
    assert.equal(check(toBinary(DesiredStateSchema, state(6n)))?.code, "Unsigned");
    const stranger = generateDesiredSigningKey();
    const unknown = check(encodeSignedDesiredState(state(6n), "c-one", stranger));
    assert.equal(unknown?.code, "UnknownKey");
    assert.equal(unknown?.keyId, stranger.id);
    const signed = fromBinary(DesiredStateSchema, encodeSignedDesiredState(state(6n), "c-one", key));
    signed.bundles[0]!.digest = "c".repeat(64);
    assert.equal(check(toBinary(DesiredStateSchema, signed))?.code, "BadSignature");
    assert.equal(check(encodeSignedDesiredState(state(6n), "c-two", key))?.code, "BadSignature");
    assert.equal(check(encodeSignedDesiredState(state(4n), "c-one", key))?.code, "Replayed");
    const sameGeneration = check(encodeSignedDesiredState(state(5n, "d".repeat(64)), "c-one", key));
    assert.equal(sameGeneration?.code, "Replayed");
    assert.match(sameGeneration?.message ?? "", /already applied with other content/);
  });
});
