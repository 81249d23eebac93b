import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { StoredEvent } from "../fleet-events/index.js";
import { sinkRequest, slackMessage } from "./payloads.js";
import { verifyEventSignature } from "./signature.js";
import { sinkDefaults, type SinkConfig } from "./sinks-config.js";

const event: StoredEvent = {
  id: "eaaaaaaaaaaaaaaaaaaaa",
  sequence: 7,
  type: "drift-detected",
  time: "2026-05-01T12:00:00.000Z",
  cluster: { id: "cabc", name: "prod-eu-1" },
  bundle: "web",
  resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "web" },
  driftState: "drifted",
  fields: [{ path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" }],
  revision: "0123456789abcdef",
  message: "Deployment web/web drifted: /spec/replicas changed by kubectl-edit <here>",
};
const base = { ...sinkDefaults, types: [], name: "ops" };
const webhook: SinkConfig = { ...base, type: "webhook", url: "https://example.com/hook", secret: "s3cret-s3cret-s3cret" };
const slack: SinkConfig = { ...base, type: "slack", url: "https://hooks.slack.com/services/x" };
const now = new Date("2026-05-01T12:00:05.000Z");

void describe("sink payloads", () => {
  void it("send a webhook the event as listed by the API, signed, with its id and type", () => {
    const { body, headers } = sinkRequest(webhook, event, 2, now);
    assert.deepEqual(JSON.parse(body), event);
    assert.equal(headers["content-type"], "application/json");
    assert.equal(headers["x-gitfleet-event"], "drift-detected");
    assert.equal(headers["x-gitfleet-event-id"], event.id);
    assert.equal(headers["x-gitfleet-delivery-attempt"], "2");
    assert.equal(headers["x-gitfleet-timestamp"], "1777636805");
    assert.ok(
      verifyEventSignature({ secret: "s3cret-s3cret-s3cret", body, timestamp: headers["x-gitfleet-timestamp"], signature: headers["x-gitfleet-signature"], now: now.getTime() }),
    );
  });

  void it("send Slack text and blocks, escaped, with no signature", () => {
    const { body, headers } = sinkRequest(slack, event, 1, now);
    assert.equal(headers["x-gitfleet-signature"], undefined);
    const message = JSON.parse(body) as ReturnType<typeof slackMessage>;
    assert.equal(message.text, `:warning: Drift detected on prod-eu-1: ${event.message}`);
    const text = JSON.stringify(message.blocks);
    assert.match(text, /&lt;here&gt;/);
    assert.match(text, /\*Object\*\\nDeployment web\/web/);
    assert.match(text, /`\/spec\/replicas`: 3 → 5 by kubectl-edit/);
    assert.match(text, /\*Revision\*\\n0123456789ab"/);
  });

  void it("never show a redacted field's values", () => {
    const secret = { ...event, fields: [{ path: "/data/password", desired: "", live: "", manager: "kubectl", redacted: true }] };
    assert.match(JSON.stringify(slackMessage(secret).blocks), /`\/data\/password` \(values withheld\) by kubectl/);
  });
});
