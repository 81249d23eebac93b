import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLoopbackServer, natsTlsFor, natsTlsHint } from "./nats-tls.js";

describe("TLS to NATS", () => {
  it("knows loopback addresses in every form the hub may send", () => {
    for (const server of ["nats://127.0.0.1:4222", "127.0.0.1:4222", "127.5.6.7", "localhost:4222", "nats://LOCALHOST", "[::1]:4222", "::1", "nats://user:pw@127.0.0.1:4222"]) {
      assert.ok(isLoopbackServer(server), server);
    }
    for (const server of ["nats://10.0.0.1:4222", "nats.example.com:4222", "[2001:db8::1]:4222", "128.0.0.1", "localhost.example.com", "nats://127.0.0.1.example.com"]) {
      assert.ok(!isLoopbackServer(server), server);
    }
  });

  it("allows plain TCP only when every server is loopback", () => {
    assert.deepEqual(natsTlsFor(["nats://127.0.0.1:4222", "localhost:4223"], undefined), { tls: undefined, requiredBecause: undefined });
    const mixed = natsTlsFor(["nats://127.0.0.1:4222", "nats://nats.example.com:4222"], undefined);
    assert.deepEqual(mixed.tls, {});
    assert.match(natsTlsHint(mixed), /nats\.example\.com:4222 is not a loopback address.*--nats-ca FILE \/ GITFLEET_NATS_CA/);
    assert.deepEqual(natsTlsFor([], undefined).tls, {});
  });

  it("verifies with the CA of --nats-ca when given, loopback or not", () => {
    const tls = natsTlsFor(["nats://127.0.0.1:4222"], "PEM");
    assert.deepEqual(tls.tls, { ca: "PEM" });
    assert.match(natsTlsHint(tls), /--nats-ca/);
  });
});
