import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { mergeRefs, selectPrunable } from "./inventory.js";
import { refKey } from "./kube-objects.js";
import { ref } from "./test-support/fake-kube.js";

const ns = ref("v1", "Namespace", "", "web");
const a = ref("v1", "ConfigMap", "web", "a");
const b = ref("v1", "ConfigMap", "web", "b");
const c = ref("v1", "ConfigMap", "web", "c");

describe("prune selection", () => {
  it("selects inventory objects that left the bundle", () => {
    assert.deepEqual(selectPrunable({ inventory: [ns, a, b], desired: [ns, a] }), [b]);
  });

  it("never selects an object that is not in the inventory", () => {
    // c is neither desired nor in the inventory: someone else's object.
    assert.deepEqual(selectPrunable({ inventory: [a], desired: [] }), [a]);
    assert.ok(!selectPrunable({ inventory: [a, b], desired: [] }).some((r) => r.name === "c"));
    assert.deepEqual(selectPrunable({ inventory: [], desired: [c] }), []);
  });

  it("keeps an object that moved to another bundle", () => {
    const selected = selectPrunable({ inventory: [a, b], desired: [], claimedElsewhere: new Set([refKey(b)]) });
    assert.deepEqual(selected, [a]);
  });

  it("matches objects across API versions", () => {
    const old = ref("apps/v1beta1", "Deployment", "web", "api");
    const current = ref("apps/v1", "Deployment", "web", "api");
    assert.deepEqual(selectPrunable({ inventory: [old], desired: [current] }), []);
  });

  it("returns objects in delete order, Namespaces last", () => {
    assert.deepEqual(selectPrunable({ inventory: [ns, a], desired: [] }), [a, ns]);
  });
});

describe("inventory merge", () => {
  it("unites lists without duplicates", () => {
    assert.deepEqual(mergeRefs([a, b], [b, c]), [a, b, c]);
  });
});
