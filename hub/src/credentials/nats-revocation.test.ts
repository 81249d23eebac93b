import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { KV } from "@nats-io/kv";
import { createAccount, createOperator } from "@nats-io/nkeys";
import { HubError } from "../errors.js";
import { createNatsRevoker } from "./nats-revocation.js";

/** The part of a KV bucket the revoker uses, failing its first `failures` reads as NATS does while a stream elects a leader. */
function flakyBucket(failures: number) {
  let failed = 0;
  let value: string | undefined;
  let revision = 0;
  const writes: string[] = [];
  const entry = () =>
    value === undefined ? null : { operation: "PUT", length: value.length, revision, json: <T>() => JSON.parse(value ?? "null") as T };
  const kv = {
    get: () => {
      if (failed < failures) {
        failed++;
        return Promise.reject(new Error("no responders"));
      }
      return Promise.resolve(entry());
    },
    create: (_key: string, data: string) => {
      if (value !== undefined) return Promise.reject(new Error("wrong last sequence"));
      value = data;
      writes.push(data);
      return Promise.resolve(++revision);
    },
    update: (_key: string, data: string) => {
      value = data;
      writes.push(data);
      return Promise.resolve(++revision);
    },
  };
  return { kv: kv as unknown as KV, writes, reads: () => failed };
}

const options = (kv: KV, retryForMs: number) => ({
  kv,
  // Nothing listens here: every push fails as an unreachable NATS does.
  servers: "nats://127.0.0.1:1",
  agentAccountPublicKey: createAccount().getPublicKey(),
  operatorSigningSeed: new TextDecoder().decode(createOperator().getSeed()),
  systemCreds: "",
  maxUserJwtLifetimeMs: 3_600_000,
  retryForMs,
});

describe("revoking a NATS user", () => {
  it("records the revocation through failed reads, keeps trying to push it, and says why it gave up", async () => {
    const bucket = flakyBucket(2);
    const user = "UABC";
    const startedAt = performance.now();
    const err = await createNatsRevoker(options(bucket.kv, 1_000))
      .revoke(user)
      .then(() => undefined, (e: unknown) => e);
    const tookMs = performance.now() - startedAt;
    assert.ok(err instanceof HubError, String(err));
    assert.equal(err.code, "unavailable");
    assert.match(err.message, /revoking NATS user UABC failed/);
    assert.equal(bucket.reads(), 2, "both failed reads were retried");
    // Recorded despite them, so the periodic re-push hands it to the servers later.
    const recorded = JSON.parse(bucket.writes.at(-1) ?? "{}") as Record<string, number>;
    assert.equal(typeof recorded[user], "number");
    // Waits of 250 and 500 ms fit in the 1 s; the next (1 s) would not, so it gives up then.
    assert.ok(tookMs >= 750 && tookMs < 5_000, `gave up after ${Math.round(tookMs)} ms (retrying for 1 s)`);
  });

});
