// Fleet events from a real agent on the lab: a kubectl edit reverted in correct mode shows up as
// a drift-corrected event and at a signed webhook; a Deployment whose pods fail makes its bundle
// degraded at its revision, with an event; a stopped agent makes its cluster stale; and nothing
// else is recorded.
import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import type { Agent } from "@gitfleet/agent";
import { verifyEventSignature, type StoredEvent } from "@gitfleet/hub";
import { startFleet, waitForSynced, type Fleet } from "../fleet/fleet.js";
import { createReceiver } from "../hub/event-fixtures.js";
import { kubeConfigFor, updateAs } from "../kube-client.js";
import { freePort } from "../lab/ports.js";
import { waitFor } from "../lab/process.js";

const eventsFleet = fileURLToPath(new URL("../../fixtures/events-fleet", import.meta.url));
const secret = "drift-events-webhook-secret";

describe("fleet events from a real agent", { timeout: 600_000 }, () => {
  let fleet: Fleet;
  let seed: string;
  let head: string;
  let agent: Agent;
  const receiver = createReceiver();

  const eventsOf = async (query: string, what: string, timeoutMs = 15_000): Promise<StoredEvent[]> =>
    await waitFor(
      async () => {
        const { items } = await fleet.api.get<{ items: StoredEvent[] }>(`/events?cluster=edge&${query}`);
        return items.length > 0 ? items : undefined;
      },
      { what, timeoutMs, intervalMs: 200 },
    );

  before(async () => {
    seed = await mkdtemp(join(tmpdir(), "gitfleet-events-seed-"));
    await cp(eventsFleet, seed, { recursive: true });
    const port = await freePort();
    await receiver.listen(port);
    fleet = await startFleet({
      clusters: ["edge"],
      seed,
      hub: {
        heartbeatIntervalSeconds: 2,
        notificationSinks: [
          { name: "ops", type: "webhook", url: `http://127.0.0.1:${port}/gitfleet`, secret, types: ["drift-corrected"], maxAttempts: 5, maxAgeMs: 600_000, timeoutMs: 2_000, initialBackoffMs: 200, maxBackoffMs: 1_000 },
        ],
      },
    });
    head = await fleet.head();
    const { secret: token } = await fleet.api.post<{ secret: string }>("/registration-tokens", {});
    agent = await fleet.startAgent("edge", { token });
    await waitForSynced(fleet.api, "edge", head);
  });

  after(async () => {
    await fleet?.stop();
    await receiver.close();
    await rm(seed, { recursive: true, force: true });
  });

  test("a kubectl edit reverted in correct mode shows up as an event, and at a signed webhook", async () => {
    const kc = kubeConfigFor(fleet.cluster("edge"));
    await updateAs<{ apiVersion: string; kind: string; metadata: { name: string }; data?: Record<string, string> }>(
      kc,
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "web-config", namespace: "web" } },
      (o) => {
        o.data = { greeting: "edited" };
      },
      "kubectl-edit",
    );
    const [corrected] = await eventsOf("type=drift-corrected&kind=ConfigMap&name=web-config", "a drift-corrected event for web-config");
    assert.equal(corrected?.bundle, "web");
    assert.deepEqual(corrected?.resource, { apiVersion: "v1", kind: "ConfigMap", namespace: "web", name: "web-config" });
    assert.deepEqual(corrected?.fields?.map((f) => [f.path, f.manager]), [["/data/greeting", "kubectl-edit"]]);
    const delivery = await waitFor(() => receiver.received.find((r) => r.headers["x-gitfleet-event-id"] === corrected?.id), {
      what: "the correction at the webhook",
      timeoutMs: 10_000,
    });
    const timestamp = delivery.headers["x-gitfleet-timestamp"] as string;
    assert.ok(verifyEventSignature({ secret, body: delivery.body, timestamp, signature: delivery.headers["x-gitfleet-signature"] as string }));
  });

  test("a Deployment whose pods fail makes its bundle degraded at its revision, and an event is emitted", async () => {
    const [degraded] = await eventsOf("type=health-degraded&bundle=failing", "a health-degraded event for the failing bundle", 150_000);
    assert.equal(degraded?.revision, head);
    assert.match(degraded?.message ?? "", /^bundle failing is degraded at /);
  });

  test("a stopped agent makes its cluster stale", async () => {
    await agent.stop();
    const [stale] = await eventsOf("type=cluster-stale", "a cluster-stale event for edge");
    assert.match(stale?.message ?? "", /^cluster edge has not been heard from since /);
  });

  test("records nothing else: no drift where nothing changed, no failure where nothing failed", async () => {
    const { items } = await fleet.api.get<{ items: StoredEvent[] }>("/events");
    const unexpected = items.filter(
      (e) =>
        !(e.bundle === "web" && e.resource?.name === "web-config" && ["drift-detected", "drift-corrected"].includes(e.type)) &&
        !(e.bundle === "failing" && e.type === "health-degraded") &&
        e.type !== "cluster-stale",
    );
    assert.deepEqual(unexpected.map((e) => [e.type, e.message]), []);
  });
});
