import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HubError } from "../errors.js";
import { sha256Hex } from "../secrets.js";
import { createApiAuthenticator, parseApiToken, parseApiTokenList } from "./auth.js";

void describe("API tokens", () => {
  void it("reads role:sha256 entries and hashes plain secrets", () => {
    const hash = sha256Hex("viewer-secret-0123456789");
    assert.deepEqual(parseApiToken(`viewer:${hash}`, "admin", "X"), { role: "viewer", hash });
    assert.deepEqual(parseApiToken("admin-secret-0123456789", "admin", "X"), {
      role: "admin",
      hash: sha256Hex("admin-secret-0123456789"),
    });
    assert.equal(parseApiTokenList(" a-long-viewer-secret-1 , ,a-long-viewer-secret-2", "viewer", "X").length, 2);
  });

  void it("refuses short secrets and malformed hashes, naming the setting", () => {
    assert.throws(() => parseApiToken("short", "admin", "GITFLEET_ADMIN_TOKEN"), /^HubError: GITFLEET_ADMIN_TOKEN: a token must be at least 16/);
    assert.throws(() => parseApiToken("viewer:abc", "viewer", "GITFLEET_VIEWER_TOKENS"), /GITFLEET_VIEWER_TOKENS: "viewer:..." must be followed by a SHA-256/);
  });

  void it("grants roles: admin includes viewer, viewer cannot write, no token is unauthenticated", () => {
    const auth = createApiAuthenticator([
      { role: "admin", hash: sha256Hex("the-admin-token-0001") },
      { role: "viewer", hash: sha256Hex("the-viewer-token-0001") },
    ]);
    assert.equal(auth.require("Bearer the-admin-token-0001", "admin"), "admin");
    assert.equal(auth.require("bearer the-admin-token-0001", "viewer"), "admin");
    assert.equal(auth.require("Bearer the-viewer-token-0001", "viewer"), "viewer");
    const code = (c: string) => (err: unknown) => err instanceof HubError && err.code === c;
    assert.throws(() => auth.require("Bearer the-viewer-token-0001", "admin"), code("permission-denied"));
    assert.throws(() => auth.require(undefined, "viewer"), code("unauthenticated"));
    assert.throws(() => auth.require("Bearer nope", "viewer"), code("unauthenticated"));
    assert.throws(() => auth.require("Basic dXNlcjpwYXNz", "viewer"), code("unauthenticated"));
  });
});
