import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { BundlePayloadSchema, DesiredStateSchema, create, type DesiredState } from "@gitfleet/proto";
import { planPointer } from "./desired-plan.js";
import type { BundleFailure, ClusterResolution, ResolvedBundle } from "../resolution.js";

function bundle(name: string, digest: string): ResolvedBundle {
  return { name, target: "default", overlay: name, digest, size: 1, payload: create(BundlePayloadSchema, { name }) };
}

function pointer(refs: Array<[string, string]>): DesiredState {
  return create(DesiredStateSchema, {
    revision: "old",
    generation: 4n,
    bundles: refs.map(([name, digest]) => ({ name, digest, chunks: 1, size: 1n, revision: "old" })),
  });
}

function failed(name: string): BundleFailure {
  return { bundle: name, target: "default", path: name, commit: "new", reason: "object-invalid", message: "broken" };
}

function resolution(bundles: ResolvedBundle[], errors: BundleFailure[] = []): ClusterResolution {
  return { clusterId: "c1", bundles, errors, assignments: [] };
}

const names = (refs: ReadonlyArray<{ name: string }>): string[] => refs.map((r) => r.name);

void describe("planning a pointer", () => {
  void test("a cluster without a pointer gets one, even an empty one", () => {
    const plan = planPointer(undefined, resolution([bundle("a", "d1")]));
    assert.equal(plan.unchanged, false);
    assert.deepEqual(names(plan.write), ["a"]);
    assert.equal(planPointer(undefined, resolution([])).unchanged, false);
  });

  void test("the same bundles and digests change nothing", () => {
    const plan = planPointer(pointer([["a", "d1"], ["b", "d2"]]), resolution([bundle("a", "d1"), bundle("b", "d2")]));
    assert.equal(plan.unchanged, true);
    assert.deepEqual(names(plan.keep), ["a", "b"]);
  });

  void test("a new digest is written and the old one goes stale; unchanged bundles keep their ref", () => {
    const plan = planPointer(pointer([["a", "d1"], ["b", "d2"]]), resolution([bundle("a", "d1"), bundle("b", "d3")]));
    assert.equal(plan.unchanged, false);
    assert.deepEqual(names(plan.keep), ["a"]);
    assert.equal(plan.keep[0]?.revision, "old", "an unchanged bundle keeps the commit it last changed at");
    assert.deepEqual(plan.write.map((b) => b.digest), ["d3"]);
    assert.deepEqual(plan.stale.map((r) => r.digest), ["d2"]);
  });

  void test("a bundle no longer aimed at the cluster is dropped", () => {
    const plan = planPointer(pointer([["a", "d1"], ["b", "d2"]]), resolution([bundle("a", "d1")]));
    assert.equal(plan.unchanged, false);
    assert.deepEqual(names(plan.stale), ["b"]);
  });

  void test("a failed bundle keeps its last good ref; without one it stays absent", () => {
    const kept = planPointer(pointer([["a", "d1"], ["b", "d2"]]), resolution([bundle("a", "d1")], [failed("b")]));
    assert.equal(kept.unchanged, true);
    assert.deepEqual(names(kept.keep), ["a", "b"]);
    assert.deepEqual(kept.stale, []);
    const absent = planPointer(pointer([["a", "d1"]]), resolution([bundle("a", "d1")], [failed("b")]));
    assert.equal(absent.unchanged, true);
    assert.deepEqual(names(absent.keep), ["a"]);
  });
});
