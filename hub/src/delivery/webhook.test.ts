import { strict as assert } from "node:assert";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";
import { signGitHubPayload, verifyGitHubSignature } from "./webhook.js";

const secret = "It's a Secret to Everybody";
const body = "Hello, World!";

void describe("GitHub webhook signature", () => {
  void test("accepts GitHub's documented example", () => {
    // From GitHub's "Validating webhook deliveries" page.
    const header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert.equal(verifyGitHubSignature(secret, body, header), true);
    assert.equal(verifyGitHubSignature(secret, Buffer.from(body), header), true);
    assert.equal(signGitHubPayload(secret, body), header);
  });

  void test("accepts upper-case hex and surrounding spaces, and a single-element header array", () => {
    const hex = createHmac("sha256", secret).update(body).digest("hex");
    assert.equal(verifyGitHubSignature(secret, body, ` sha256=${hex.toUpperCase()} `), true);
    assert.equal(verifyGitHubSignature(secret, body, [`sha256=${hex}`]), true);
  });

  void test("refuses another secret, a changed body, and malformed or missing headers", () => {
    const header = signGitHubPayload(secret, body);
    assert.equal(verifyGitHubSignature("another secret", body, header), false);
    assert.equal(verifyGitHubSignature(secret, `${body} `, header), false);
    assert.equal(verifyGitHubSignature(secret, body, header.replace("sha256=", "sha1=")), false);
    assert.equal(verifyGitHubSignature(secret, body, header.slice(0, -2)), false);
    assert.equal(verifyGitHubSignature(secret, body, `${header}00`), false);
    assert.equal(verifyGitHubSignature(secret, body, "sha256=zz"), false);
    assert.equal(verifyGitHubSignature(secret, body, ""), false);
    assert.equal(verifyGitHubSignature(secret, body, undefined), false);
    assert.equal(verifyGitHubSignature(secret, body, [header, header]), false);
  });

  void test("an empty secret verifies nothing", () => {
    assert.equal(verifyGitHubSignature("", body, signGitHubPayload("", body)), false);
  });
});
