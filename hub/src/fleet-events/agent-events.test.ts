import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { AgentEventSchema, AgentEventType, create, timestampFromDate, type MessageInitShape } from "@gitfleet/proto";
import { agentCorrectionEvents, maxAgentEventsPerMessage } from "./agent-events.js";

const cluster = { id: "cabcdefghijklmnopqrst", name: "prod-eu-1" };
const now = new Date("2026-05-01T12:00:00.000Z");

const correction = (init: Extract<MessageInitShape<typeof AgentEventSchema>, { readonly $typeName?: never }> = {}) =>
  create(AgentEventSchema, {
    id: "a1",
    type: AgentEventType.DRIFT_CORRECTED,
    bundle: "web",
    resource: { group: "apps", version: "v1", kind: "Deployment", namespace: "web", name: "web" },
    fields: [{ path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" }],
    at: timestampFromDate(new Date(now.getTime() - 1000)),
    revision: "abc",
    ...init,
  });

void describe("drift corrections sent by agents", () => {
  void it("become drift-corrected events of the stream's cluster, at the agent's time", () => {
    const { events, refused } = agentCorrectionEvents({ cluster, events: [correction()], now });
    assert.deepEqual(refused, []);
    assert.deepEqual(
      { ...events[0], id: undefined },
      {
        id: undefined,
        type: "drift-corrected",
        time: "2026-05-01T11:59:59.000Z",
        cluster,
        bundle: "web",
        resource: { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "web" },
        fields: [{ path: "/spec/replicas", desired: "3", live: "5", manager: "kubectl-edit" }],
        revision: "abc",
        message: "Deployment web/web corrected: /spec/replicas (changed by kubectl-edit)",
      },
    );
  });

  void it("give a re-sent event the same id, and another cluster's event another", () => {
    const id = (c = cluster) => agentCorrectionEvents({ cluster: c, events: [correction()], now }).events[0]?.id;
    assert.equal(id(), id());
    assert.notEqual(id(), id({ id: "czzzzzzzzzzzzzzzzzzzz", name: "other" }));
  });

  void it("refuse what does not check out, and keep the rest", () => {
    const bad = [
      correction({ type: AgentEventType.UNSPECIFIED }),
      correction({ id: "" }),
      correction({ bundle: "Web!" }),
      correction({ resource: undefined }),
      correction({ resource: { group: "apps", version: "v1", kind: "Deployment", namespace: "web", name: "a b" } }),
      correction({ resource: { group: "apps", version: "v1", kind: "De ploy", namespace: "web", name: "x" } }),
    ];
    const { events, refused } = agentCorrectionEvents({ cluster, events: [...bad, correction({ id: "ok" })], now });
    assert.equal(events.length, 1);
    assert.deepEqual(
      refused.map((r) => r.replace(/^event \d+: /, "")),
      [
        "unknown type 0",
        "id must be 1 to 128 printable ASCII characters",
        'bundle "Web!" must consist of lowercase letters, digits and \'-\', and start and end with a letter or digit',
        "resource is required",
        "resource.name is not an object name",
        "resource.kind is not a Kubernetes kind",
      ],
    );
  });

  void it("bound the number of events, fields and the size of values", () => {
    const many = Array.from({ length: maxAgentEventsPerMessage + 5 }, (_, i) => correction({ id: `e${i}` }));
    const result = agentCorrectionEvents({ cluster, events: many, now });
    assert.equal(result.events.length, maxAgentEventsPerMessage);
    assert.deepEqual(result.refused, [`more than ${maxAgentEventsPerMessage} events in one message`]);
    const fields = Array.from({ length: 80 }, (_, i) => ({ path: `/data/${i}`, desired: "x".repeat(5000), live: "", manager: "m" }));
    const [event] = agentCorrectionEvents({ cluster, events: [correction({ fields, message: "y".repeat(5000) })], now }).events;
    assert.equal(event?.fields?.length, 64);
    assert.equal(event?.fieldsOmitted, 16);
    assert.equal(event?.fields?.[0]?.desired.length, 1024);
    assert.equal(event?.fields?.[0]?.truncated, true);
    assert.equal(event?.message.length, 1024);
  });

  void it("put the agent's message after the object it is about", () => {
    const [event] = agentCorrectionEvents({ cluster, events: [correction({ message: "reverted /spec/replicas (changed by kubectl-edit)" })], now }).events;
    assert.equal(event?.message, "Deployment web/web: reverted /spec/replicas (changed by kubectl-edit)");
  });

  void it("take the hub's time when the agent's is missing or ahead", () => {
    const time = (at: Date | undefined) =>
      agentCorrectionEvents({ cluster, events: [correction({ at: at ? timestampFromDate(at) : undefined })], now }).events[0]?.time;
    assert.equal(time(undefined), now.toISOString());
    assert.equal(time(new Date(now.getTime() + 3_600_000)), now.toISOString());
  });
});
