import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { applyRank, orderForApply, orderForPrune } from "./ordering.js";
import { ref } from "./test-support/fake-kube.js";

const ns = ref("v1", "Namespace", "", "web");
const crd = ref("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.com");
const cm = ref("v1", "ConfigMap", "web", "settings");
const widget = ref("example.com/v1", "Widget", "web", "w1");
const deploy = ref("apps/v1", "Deployment", "web", "api");
const ns2 = ref("v1", "Namespace", "", "db");

describe("apply order", () => {
  it("puts Namespaces first, then CRDs, then everything else", () => {
    const ordered = orderForApply([widget, cm, crd, deploy, ns], (r) => r);
    assert.deepEqual(ordered.map((r) => r.name), ["web", "widgets.example.com", "w1", "settings", "api"]);
  });

  it("keeps the bundle's order among objects of the same rank", () => {
    const ordered = orderForApply([deploy, ns, cm, ns2, widget], (r) => r);
    assert.deepEqual(ordered.map((r) => r.name), ["web", "db", "api", "settings", "w1"]);
  });

  it("does not mistake a kind named Namespace in another group for a Namespace", () => {
    assert.equal(applyRank(ref("example.com/v1", "Namespace", "", "x")), 2);
    assert.equal(applyRank(ref("example.com/v1", "CustomResourceDefinition", "", "x")), 2);
  });
});

describe("prune order", () => {
  it("deletes custom resources and ordinary objects before CRDs, and CRDs before Namespaces", () => {
    const ordered = orderForPrune([ns, crd, cm, widget], (r) => r);
    assert.deepEqual(ordered.map((r) => r.kind), ["ConfigMap", "Widget", "CustomResourceDefinition", "Namespace"]);
  });
});
