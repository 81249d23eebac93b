import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { ClusterRecord } from "../store/clusters.js";
import { staleTransitions, type StaleMark } from "./stale-sweep.js";

const now = new Date("2026-05-01T12:00:00.000Z");
const ago = (ms: number): string => new Date(now.getTime() - ms).toISOString();
const cluster = (id: string, lastSeen: string | null): ClusterRecord => ({ id, name: `n-${id}`, lastSeen }) as ClusterRecord;
const sweep = (clusters: ClusterRecord[], marks: Record<string, StaleMark> = {}) =>
  staleTransitions({ clusters, marks: new Map(Object.entries(marks)), now, staleAfterMs: 45_000 });

void describe("the stale sweep", () => {
  void it("marks a cluster silent for 3 heartbeat intervals stale, once", () => {
    const silent = cluster("c1", ago(46_000));
    const [event] = sweep([silent, cluster("c2", ago(10_000)), cluster("c3", null)]);
    assert.equal(event?.type, "cluster-stale");
    assert.equal(event?.cluster.name, "n-c1");
    assert.equal(event?.lastSeen, silent.lastSeen);
    assert.equal(event?.time, ago(1_000), "stale from the moment the third interval passed");
    assert.deepEqual(sweep([silent], { c1: { state: "stale", lastSeen: silent.lastSeen ?? "" } }), []);
    assert.equal(sweep([silent])[0]?.id, event?.id, "every replica derives the same id");
  });

  void it("marks a stale cluster that was heard from again back", () => {
    const [event] = sweep([cluster("c1", ago(1_000))], { c1: { state: "stale", lastSeen: ago(120_000) } });
    assert.equal(event?.type, "cluster-back");
    assert.equal(event?.time, ago(1_000));
    assert.equal(event?.message, "cluster n-c1 is back after 1m59s without a word");
  });

  void it("records back and stale again when a cluster came back and fell silent between sweeps", () => {
    const events = sweep([cluster("c1", ago(50_000))], { c1: { state: "stale", lastSeen: ago(300_000) } });
    assert.deepEqual(events.map((e) => e.type), ["cluster-back", "cluster-stale"]);
  });

  void it("leaves a cluster marked back alone while it is heard from", () => {
    assert.deepEqual(sweep([cluster("c1", ago(1_000))], { c1: { state: "back", lastSeen: "" } }), []);
  });
});
