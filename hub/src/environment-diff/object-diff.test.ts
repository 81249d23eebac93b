import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { diffObjects, type RenderedItem } from "./object-diff.js";

const configMap = (name: string, data: Record<string, string>, namespace = "web"): Record<string, unknown> => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data,
});
const item = (object: Record<string, unknown>, bundle = "web"): RenderedItem => ({ bundle, object });

void describe("diffObjects", () => {
  void test("matches objects by apiVersion, kind, namespace and name: added, removed, changed and unchanged", () => {
    const from = [item(configMap("same", { a: "1" })), item(configMap("gone", { a: "1" })), item(configMap("config", { region: "us" })), item(configMap("config", { region: "us" }, "other"))];
    const to = [item(configMap("config", { region: "eu" })), item(configMap("new", { a: "1" }), "platform"), item(configMap("same", { a: "1" })), item(configMap("config", { region: "us" }, "other"))];
    const diff = diffObjects(from, to);
    assert.deepEqual(diff.counts, { added: 1, removed: 1, changed: 1, unchanged: 2 });
    assert.deepEqual(diff.objects, [
      { apiVersion: "v1", kind: "ConfigMap", namespace: "web", name: "config", change: "changed", bundle: "web", fields: [{ path: "/data/region", field: "data.region", from: "us", to: "eu" }] },
      { apiVersion: "v1", kind: "ConfigMap", namespace: "web", name: "gone", change: "removed", bundle: "web", fields: [] },
      { apiVersion: "v1", kind: "ConfigMap", namespace: "web", name: "new", change: "added", bundle: "platform", fields: [] },
    ]);
  });

  void test("a new apiVersion of an object is a removal and an addition", () => {
    const old = { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "web", namespace: "web" } };
    const diff = diffObjects([item(old)], [item({ ...old, apiVersion: "autoscaling/v2" })]);
    assert.deepEqual(diff.objects.map((o) => [o.apiVersion, o.change]), [["autoscaling/v1", "removed"], ["autoscaling/v2", "added"]]);
  });

  void test("cluster-scoped objects have an empty namespace", () => {
    const diff = diffObjects([], [item({ apiVersion: "v1", kind: "Namespace", metadata: { name: "web" } })]);
    assert.deepEqual(diff.objects[0], { apiVersion: "v1", kind: "Namespace", namespace: "", name: "web", change: "added", bundle: "web", fields: [] });
  });

  void test("the values of a Secret's fields are withheld; its metadata is shown", () => {
    const secret = (password: string, tier: string): Record<string, unknown> => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: "web", labels: { tier } },
      type: "Opaque",
      data: { password },
      stringData: { user: password },
    });
    const [changed] = diffObjects([item(secret("czNjcmV0", "a"))], [item(secret("b3RoZXI=", "b"))]).objects;
    assert.deepEqual(changed?.fields, [
      { path: "/data/password", field: "data.password", redacted: true },
      { path: "/metadata/labels/tier", field: "metadata.labels.tier", from: "a", to: "b" },
      { path: "/stringData/user", field: "stringData.user", redacted: true },
    ]);
    assert.ok(!JSON.stringify(changed).includes("czNjcmV0"), "no value of the secret is in the answer");
  });

  void test("an identity twice on one side counts once", () => {
    const diff = diffObjects([item(configMap("a", { x: "1" })), item(configMap("a", { x: "2" }), "other")], [item(configMap("a", { x: "1" }))]);
    assert.deepEqual(diff.counts, { added: 0, removed: 0, changed: 0, unchanged: 1 });
  });
});
