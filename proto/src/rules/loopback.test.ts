import assert from "node:assert/strict";
import { test } from "node:test";
import { isLoopbackHost } from "./loopback.js";

test("loopback hosts", () => {
  for (const host of ["localhost", "LOCALHOST", "a.localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
});

test("hosts that are not loopback, including the unspecified addresses", () => {
  for (const host of ["0.0.0.0", "::", "[::]", "10.0.0.1", "128.0.0.1", "hub.example.com", "localhost.example.com", "::ffff:10.0.0.1", "", "fe80::1"]) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});
