import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keyEndorsementPayload, verifyWithPublicKey } from "@gitfleet/proto";
import { HubError } from "../errors.js";
import { newKeyring, parseKeyring, retiredKeyring, rotatedKeyring, trustedKeysOf } from "./keyring.js";

describe("the desired-state signing keyring", () => {
  const now = new Date("2026-12-01T00:00:00Z");

  it("starts with one active key and rotates to a new key endorsed by it", () => {
    const first = newKeyring(now);
    assert.equal(first.keys.length, 1);
    assert.equal(first.active, first.keys[0]!.id);
    const { keyring, key } = rotatedKeyring(first, now);
    assert.equal(keyring.active, key.id);
    assert.equal(key.endorsedBy, first.active);
    const wire = trustedKeysOf(keyring);
    assert.deepEqual(wire.map((k) => k.id), [first.active, key.id]);
    const old = first.keys[0]!;
    assert.ok(verifyWithPublicKey(old.publicKey, keyEndorsementPayload(key), wire[1]!.endorsement));
    assert.equal(wire[0]!.endorsement.byteLength, 0);
    assert.deepEqual(parseKeyring(JSON.parse(JSON.stringify(keyring))), keyring);
  });

  it("retires only a key that no longer signs", () => {
    const first = newKeyring(now);
    const { keyring } = rotatedKeyring(first, now);
    assert.throws(() => retiredKeyring(keyring, keyring.active), (err: unknown) => err instanceof HubError && err.code === "failed-precondition");
    assert.throws(() => retiredKeyring(keyring, "sk-0000000000000000"), (err: unknown) => err instanceof HubError && err.code === "not-found");
    const retired = retiredKeyring(keyring, first.active);
    assert.deepEqual(retired.keys.map((k) => k.id), [keyring.active]);
  });

  it("refuses a stored keyring that is damaged", () => {
    const keyring = newKeyring(now);
    assert.throws(() => parseKeyring({ ...keyring, active: "sk-1" }), /active key/);
    assert.throws(() => parseKeyring({ ...keyring, keys: [{ ...keyring.keys[0]!, id: "sk-0000000000000000" }] }), /does not match/);
    assert.throws(() => parseKeyring({ version: 2 }), /version 1/);
  });
});
