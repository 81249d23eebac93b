import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { verifyWebhookSignature, webhookSignature } from "./webhook-signature.js";

const secret = "It's a Secret to Everybody";

void describe("Git webhook signatures", () => {
  void it("matches GitHub's documented example", () => {
    // From GitHub's "Validating webhook deliveries" documentation.
    const body = Buffer.from("Hello, World!");
    const header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert.equal(webhookSignature(secret, body), header);
    assert.equal(verifyWebhookSignature(secret, body, header), true);
    assert.equal(verifyWebhookSignature(secret, body, header.toUpperCase().replace("SHA256", "sha256")), true);
  });

  void it("refuses a wrong secret, a changed body, other algorithms and missing headers", () => {
    const body = Buffer.from('{"ref":"refs/heads/main"}');
    const good = webhookSignature(secret, body);
    assert.equal(verifyWebhookSignature("another secret", body, good), false);
    assert.equal(verifyWebhookSignature(secret, Buffer.from('{"ref":"refs/heads/evil"}'), good), false);
    assert.equal(verifyWebhookSignature(secret, body, good.replace("sha256=", "sha1=")), false);
    assert.equal(verifyWebhookSignature(secret, body, good.slice(0, -2)), false);
    assert.equal(verifyWebhookSignature(secret, body, undefined), false);
    assert.equal(verifyWebhookSignature(secret, body, ""), false);
  });
});
