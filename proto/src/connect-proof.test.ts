import assert from "node:assert/strict";
import { test } from "node:test";
import { CONNECT_NONCE_BYTES, connectProofPayload, connectProofText } from "./connect-proof.js";

test("the Connect proof text is the context, the cluster id and the base64 nonce, one per line", () => {
  const nonce = new Uint8Array(CONNECT_NONCE_BYTES).fill(0xfb);
  const text = connectProofText("cabcdefghijklmnopqrst", nonce);
  assert.equal(text, `gitfleet-connect/v1\ncabcdefghijklmnopqrst\n${Buffer.from(nonce).toString("base64")}`);
  assert.ok(!text.endsWith("\n"));
  assert.match(text.split("\n")[2] ?? "", /^[A-Za-z0-9+/]+=*$/);
  assert.deepEqual(connectProofPayload("cabcdefghijklmnopqrst", nonce), new TextEncoder().encode(text));
});

test("a different nonce or cluster gives a different text", () => {
  const a = new Uint8Array(CONNECT_NONCE_BYTES);
  const b = new Uint8Array(CONNECT_NONCE_BYTES).fill(1);
  assert.notEqual(connectProofText("c1", a), connectProofText("c1", b));
  assert.notEqual(connectProofText("c1", a), connectProofText("c2", a));
});
