import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { FleetEvent, SettledMark } from "../fleet-events/index.js";
import { dedupKeyOf, settledObjectOf } from "./dedup.js";

const cluster = { id: "cabc", name: "prod" };
const resource = { apiVersion: "apps/v1", kind: "Deployment", namespace: "web", name: "web" };
const field = (path: string) => ({ path, desired: "1", live: "2", manager: "kubectl" });
const event = (init: Partial<FleetEvent>): FleetEvent => ({ id: "e1", type: "drift-detected", time: "t", cluster, bundle: "web", message: "m", ...init });

void describe("delivery de-duplication keys", () => {
  void it("give the same key to the same state of the same object, whatever the event id and time", () => {
    const a = dedupKeyOf(event({ resource, driftState: "drifted", fields: [field("/a"), field("/b")] }));
    const b = dedupKeyOf(event({ id: "e2", time: "later", resource, driftState: "drifted", fields: [field("/b"), field("/a")] }));
    assert.deepEqual(a, b);
  });

  void it("tell states of one object apart, and objects apart", () => {
    const drifted = dedupKeyOf(event({ resource, driftState: "drifted", fields: [field("/a")] }));
    const other = dedupKeyOf(event({ resource, driftState: "drifted", fields: [field("/b")] }));
    const conflict = dedupKeyOf(event({ type: "conflict", resource, driftState: "conflict", fields: [field("/a")] }));
    const otherObject = dedupKeyOf(event({ resource: { ...resource, name: "api" }, driftState: "drifted", fields: [field("/a")] }));
    assert.equal(drifted.object, conflict.object);
    assert.notEqual(drifted.state, other.state);
    assert.notEqual(drifted.state, conflict.state);
    assert.notEqual(drifted.object, otherObject.object);
  });

  void it("treat each correction as its own state, and a re-sent one as the same", () => {
    const first = dedupKeyOf(event({ type: "drift-corrected", id: "e1", resource }));
    assert.notEqual(first.state, dedupKeyOf(event({ type: "drift-corrected", id: "e2", resource })).state);
    assert.deepEqual(first, dedupKeyOf(event({ type: "drift-corrected", id: "e1", resource })));
  });

  void it("keep health, sync and connection apart, and health per revision", () => {
    const degraded = dedupKeyOf(event({ type: "health-degraded", revision: "r1" }));
    assert.notEqual(degraded.state, dedupKeyOf(event({ type: "health-degraded", revision: "r2" })).state);
    assert.equal(degraded.object, dedupKeyOf(event({ type: "health-recovered", revision: "r2" })).object);
    assert.notEqual(degraded.object, dedupKeyOf(event({ type: "sync-failed" })).object);
    const stale: FleetEvent = { id: "e1", type: "cluster-stale", time: "t", cluster, message: "m" };
    assert.equal(dedupKeyOf(stale).object, "cabc||connection|");
    assert.equal(dedupKeyOf({ ...stale, type: "cluster-back" }).object, dedupKeyOf(stale).object);
    assert.notEqual(dedupKeyOf({ ...stale, type: "cluster-back" }).state, dedupKeyOf(stale).state);
  });

  void it("let a settled mark name the object the events named", () => {
    const mark = (init: Partial<SettledMark>): SettledMark => ({ id: "m", time: "t", cluster, bundle: "web", aspect: "drift", ...init });
    assert.equal(settledObjectOf(mark({ resource: { ...resource, apiVersion: "apps/v2" } })), dedupKeyOf(event({ resource })).object);
    assert.equal(settledObjectOf(mark({ aspect: "sync" })), dedupKeyOf(event({ type: "sync-failed" })).object);
    assert.equal(settledObjectOf(mark({ aspect: "health" })), dedupKeyOf(event({ type: "health-degraded" })).object);
  });
});
