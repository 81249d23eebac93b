import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { livenessOf, readinessOf } from "./agent-health.js";
import type { AgentHealthView } from "./agent-health.js";
import { startProbeServer } from "./probe-server.js";

const now = 1_700_000_000_000;
const base: AgentHealthView = {
  now,
  stopping: false,
  leaderElection: false,
  leading: true,
  lostLeadership: false,
  electionAttemptAt: 0,
  electionStallMs: 45_000,
  reconcileTickAt: now - 1_000,
  reconcileStallMs: 300_000,
  identityLoaded: true,
  appliedRevision: undefined,
  hubConnected: false,
};

describe("the agent's probes", () => {
  it("is ready once its identity is loaded and a desired state was applied or the hub answers", () => {
    assert.deepEqual(readinessOf({ ...base, identityLoaded: false }), { ok: false, message: "registering with the hub or loading the identity" });
    assert.equal(readinessOf(base).ok, false);
    assert.match(readinessOf(base).message, /waiting for a first desired state or the hub/);
    assert.equal(readinessOf({ ...base, hubConnected: true }).ok, true);
    assert.deepEqual(readinessOf({ ...base, appliedRevision: "0123456789abcdef" }), { ok: true, message: "ok: desired state 0123456789ab applied" });
    assert.equal(readinessOf({ ...base, stopping: true, hubConnected: true }).ok, false);
  });

  it("counts a follower waiting for the lease as ready, and live while its election loop turns", () => {
    const follower = { ...base, leaderElection: true, leading: false, identityLoaded: false, reconcileTickAt: undefined, electionAttemptAt: now - 2_000 };
    assert.deepEqual(readinessOf(follower), { ok: true, message: "standby: another replica holds the leader lease" });
    assert.equal(livenessOf(follower).ok, true);
    assert.deepEqual(livenessOf({ ...follower, electionAttemptAt: now - 60_000 }), { ok: false, message: "the leader election loop has not turned for 60s" });
  });

  it("fails liveness when the lease was lost or the reconcile loop stopped turning", () => {
    assert.deepEqual(livenessOf(base), { ok: true, message: "ok" });
    assert.equal(livenessOf({ ...base, lostLeadership: true }).ok, false);
    assert.deepEqual(livenessOf({ ...base, reconcileTickAt: now - 400_000 }), { ok: false, message: "the reconcile loop has not turned for 400s" });
  });

  it("serves /healthz and /readyz over HTTP with 200 or 503 and the reason", async () => {
    let ready = false;
    const server = await startProbeServer({
      address: "127.0.0.1:0",
      liveness: () => ({ ok: true, message: "ok" }),
      readiness: () => (ready ? { ok: true, message: "ok: connected to the hub" } : { ok: false, message: "waiting" }),
    });
    try {
      const get = async (path: string) => {
        const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
        return { status: response.status, text: await response.text() };
      };
      assert.deepEqual(await get("/healthz"), { status: 200, text: "ok\n" });
      assert.deepEqual(await get("/readyz"), { status: 503, text: "waiting\n" });
      ready = true;
      assert.deepEqual(await get("/readyz"), { status: 200, text: "ok: connected to the hub\n" });
      assert.equal((await get("/metrics")).status, 404);
      await assert.rejects(
        startProbeServer({ address: `127.0.0.1:${server.port}`, liveness: () => base as never, readiness: () => base as never }),
        /cannot serve the health probes on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
      );
    } finally {
      await server.close();
    }
  });
});
