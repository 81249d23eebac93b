import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { createAccount, createUser, fromPublic, fromSeed } from "@nats-io/nkeys";
import { nativeKeyPair, verifyWithNkey } from "./native-key.js";

void describe("native nkeys signing", () => {
  void it("signs the same bytes as nkeys, verifiably with the public key", () => {
    const account = createAccount();
    const seed = new TextDecoder().decode(account.getSeed());
    const native = nativeKeyPair(seed);
    const slow = fromSeed(account.getSeed());
    assert.equal(native.getPublicKey(), account.getPublicKey());
    assert.deepEqual(native.getPrivateKey(), slow.getPrivateKey());
    for (const text of ["", "a NATS user JWT header.payload", "x".repeat(5_000)]) {
      const data = new TextEncoder().encode(text);
      const signature = native.sign(data);
      assert.deepEqual(signature, slow.sign(data));
      assert.ok(fromPublic(account.getPublicKey()).verify(data, signature));
      assert.ok(native.verify(data, signature));
      assert.equal(native.verify(new TextEncoder().encode(`${text}!`), signature), false);
    }
  });

  void it("derives the private key once, when first asked for", () => {
    const seed = new TextDecoder().decode(createAccount().getSeed());
    const pair = nativeKeyPair(seed);
    const first = pair.getPrivateKey();
    assert.equal(pair.getPrivateKey(), first, "the same bytes, not derived again");
    assert.deepEqual(first, fromSeed(new TextEncoder().encode(seed)).getPrivateKey());
  });

  void it("builds a key once per seed", () => {
    const seed = new TextDecoder().decode(createAccount().getSeed());
    assert.equal(nativeKeyPair(seed), nativeKeyPair(seed));
  });
});

void describe("native nkeys verification", () => {
  void it("accepts what nkeys signs and refuses a changed payload, another key or a malformed key", () => {
    const user = createUser();
    const other = createUser();
    const data = new TextEncoder().encode("connect proof");
    const signature = user.sign(data);
    assert.equal(verifyWithNkey(user.getPublicKey(), data, signature), true);
    assert.equal(verifyWithNkey(user.getPublicKey(), new TextEncoder().encode("connect proof!"), signature), false);
    assert.equal(verifyWithNkey(other.getPublicKey(), data, signature), false);
    // The last character changed (to one it is not: about one key in 32 already ends in "A").
    const key = user.getPublicKey();
    const damaged = `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`;
    assert.notEqual(damaged, key);
    assert.equal(verifyWithNkey(damaged, data, signature), false);
    assert.equal(verifyWithNkey("not a key", data, signature), false);
    assert.equal(verifyWithNkey(user.getPublicKey(), data, signature.slice(0, 63)), false);
    for (let i = 0; i < 20; i++) {
      const k = createUser();
      assert.equal(verifyWithNkey(k.getPublicKey(), data, k.sign(data)), true);
    }
  });
});
