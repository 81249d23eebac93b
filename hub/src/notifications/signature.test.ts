import { strict as assert } from "node:assert";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { eventSignature, verifyEventSignature } from "./signature.js";

const secret = "s3cret-s3cret-s3cret";
const body = '{"type":"conflict"}';
const now = 1_777_000_000_000;
const timestamp = String(now / 1000);

void describe("webhook delivery signatures", () => {
  void it("are HMAC-SHA256 of the timestamp, a dot and the body, as sha256=<hex>", () => {
    const expected = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
    assert.equal(eventSignature(secret, timestamp, body), `sha256=${expected}`);
  });

  void it("verify for the right secret, body and a recent timestamp only", () => {
    const signature = eventSignature(secret, timestamp, body);
    assert.equal(verifyEventSignature({ secret, body, timestamp, signature, now }), true);
    assert.equal(verifyEventSignature({ secret: `${secret}x`, body, timestamp, signature, now }), false);
    assert.equal(verifyEventSignature({ secret, body: `${body} `, timestamp, signature, now }), false);
    assert.equal(verifyEventSignature({ secret, body, timestamp: String(Number(timestamp) + 1), signature, now }), false);
    assert.equal(verifyEventSignature({ secret, body, timestamp, signature, now: now + 6 * 60_000 }), false, "a replay after 5 minutes");
    assert.equal(verifyEventSignature({ secret, body, timestamp, signature: undefined, now }), false);
    assert.equal(verifyEventSignature({ secret, body, timestamp: "soon", signature, now }), false);
  });
});
