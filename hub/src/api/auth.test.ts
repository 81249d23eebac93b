import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { HubError } from "../errors.js";
import { sha256Hex } from "../secrets.js";
import { bootstrapAdminToken } from "../admin-bootstrap.js";
import type { HubSecretsStore } from "../store/hub-secrets.js";
import { createApiAuthenticator, parseApiToken, parseApiTokenList } from "./auth.js";

void describe("API tokens", () => {
  void it("reads role:sha256 entries and hashes plain secrets", () => {
    const hash = sha256Hex("viewer-secret-0123456789");
    assert.deepEqual(parseApiToken(`viewer:${hash}`, "admin", "X"), { name: `viewer-${hash.slice(0, 8)}`, role: "viewer", hash });
    const adminHash = sha256Hex("admin-secret-0123456789-abcdefghij");
    assert.deepEqual(parseApiToken("admin-secret-0123456789-abcdefghij", "admin", "X"), {
      name: `admin-${adminHash.slice(0, 8)}`,
      role: "admin",
      hash: adminHash,
    });
    assert.equal(parseApiTokenList(" a-long-viewer-secret-1-0123456789 , ,a-long-viewer-secret-2-0123456789", "viewer", "X").length, 2);
  });

  void it("reads named entries: name=secret and name=role:sha256", () => {
    const hash = sha256Hex("viewer-secret-0123456789");
    assert.deepEqual(parseApiToken("alice=admin-secret-0123456789-abcdefghij", "admin", "X"), {
      name: "alice",
      role: "admin",
      hash: sha256Hex("admin-secret-0123456789-abcdefghij"),
    });
    assert.deepEqual(parseApiToken(` ci.bot-2=viewer:${hash} `, "admin", "X"), { name: "ci.bot-2", role: "viewer", hash });
    assert.deepEqual(
      parseApiTokenList(`alice=a-long-viewer-secret-1-0123456789,bob=viewer:${hash}`, "viewer", "X").map((t) => t.name),
      ["alice", "bob"],
    );
    // Base64 padding is no name: a secret ending in "=" or "==" stays one plain secret.
    const padded = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY==";
    assert.deepEqual(parseApiToken(padded, "viewer", "X"), { name: `viewer-${sha256Hex(padded).slice(0, 8)}`, role: "viewer", hash: sha256Hex(padded) });
    assert.throws(() => parseApiToken("alice=short", "admin", "GITFLEET_ADMIN_TOKEN"), /GITFLEET_ADMIN_TOKEN: a token must be at least 32 characters long \(token alice\) \(has 5\)/);
    assert.throws(() => parseApiToken("bob=admin:abc", "admin", "X"), /"admin:\.\.\." must be followed by a SHA-256/);
  });

  void it("names the generated admin token admin", async () => {
    const secrets = { ensureAdminTokenHash: (hash: string) => Promise.resolve({ hash, created: true }) } as unknown as HubSecretsStore;
    let announced = "";
    const tokens = await bootstrapAdminToken({ configured: [], secrets, announce: (secret) => (announced = secret) });
    assert.deepEqual(tokens, [{ name: "admin", role: "admin", hash: sha256Hex(announced) }]);
  });

  void it("refuses short secrets and malformed hashes, naming the setting", () => {
    assert.throws(() => parseApiToken("short", "admin", "GITFLEET_ADMIN_TOKEN"), /^HubError: GITFLEET_ADMIN_TOKEN: a token must be at least 32/);
    assert.throws(() => parseApiToken("x".repeat(31), "admin", "X"), /at least 32 characters long \(has 31\)/);
    assert.equal(parseApiToken("x".repeat(32), "admin", "X").role, "admin");
    assert.throws(() => parseApiToken("viewer:abc", "viewer", "GITFLEET_VIEWER_TOKENS"), /GITFLEET_VIEWER_TOKENS: "viewer:..." must be followed by a SHA-256/);
  });

  void it("grants roles: admin includes viewer, viewer cannot write, no token is unauthenticated", () => {
    const auth = createApiAuthenticator([
      { name: "alice", role: "admin", hash: sha256Hex("the-admin-token-0001") },
      { name: "viewer-1", role: "viewer", hash: sha256Hex("the-viewer-token-0001") },
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

  void it("identifies the caller by the token's name", () => {
    const auth = createApiAuthenticator([
      { name: "alice", role: "admin", hash: sha256Hex("the-admin-token-0001") },
      { name: "viewer-1", role: "viewer", hash: sha256Hex("the-viewer-token-0001") },
      { name: "bob", role: "viewer", hash: sha256Hex("the-shared-token-0001") },
      { name: "carol", role: "admin", hash: sha256Hex("the-shared-token-0001") },
    ]);
    assert.deepEqual(auth.identify("Bearer the-admin-token-0001"), { name: "alice", role: "admin" });
    assert.deepEqual(auth.identify("Bearer the-viewer-token-0001"), { name: "viewer-1", role: "viewer" });
    assert.deepEqual(auth.identify("Bearer the-shared-token-0001"), { name: "carol", role: "admin" }, "a secret given twice counts with its strongest role");
    assert.equal(auth.identify("Bearer nope"), undefined);
    assert.equal(auth.identify(undefined), undefined);
  });
});
