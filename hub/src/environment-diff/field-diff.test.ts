import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { diffFields, jsonEqual } from "./field-diff.js";

const deployment = (containers: unknown[], replicas = 3): Record<string, unknown> => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { "app.kubernetes.io/instance": "web-prod-us", app: "web" } },
  spec: { replicas, template: { spec: { containers } } },
});

void describe("diffFields", () => {
  void test("equal values have no differing field, whatever the key order", () => {
    assert.deepEqual(diffFields({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), []);
  });

  void test("names each differing scalar by JSON pointer and a readable path, with both values", () => {
    const from = deployment([{ name: "web", image: "registry.example.com/web:1.4.0" }]);
    const to = deployment([{ name: "web", image: "registry.example.com/web:1.5.0" }], 1);
    (to["metadata"] as { labels: Record<string, string> }).labels["app.kubernetes.io/instance"] = "web-prod-eu";
    assert.deepEqual(diffFields(from, to), [
      { path: "/metadata/labels/app.kubernetes.io~1instance", field: 'metadata.labels["app.kubernetes.io/instance"]', from: "web-prod-us", to: "web-prod-eu" },
      { path: "/spec/replicas", field: "spec.replicas", from: 3, to: 1 },
      { path: "/spec/template/spec/containers/0/image", field: "spec.template.spec.containers[name=web].image", from: "registry.example.com/web:1.4.0", to: "registry.example.com/web:1.5.0" },
    ]);
  });

  void test("a field on one side only is one change with the whole value, and no value on the other side", () => {
    assert.deepEqual(diffFields({ data: { a: "1" } }, { data: { a: "1", b: { c: "2" } } }), [{ path: "/data/b", field: "data.b", to: { c: "2" } }]);
    assert.deepEqual(diffFields({ data: { a: "1" } }, {}), [{ path: "/data", field: "data", from: { a: "1" } }]);
  });

  void test("containers are matched by name: one inserted before the others is one added item, not a shift of all", () => {
    const sidecar = { name: "proxy", image: "envoy:1" };
    const web = { name: "web", image: "web:1", env: [{ name: "A", value: "1" }, { name: "B", value: "2" }] };
    const webAfter = { name: "web", image: "web:1", env: [{ name: "B", value: "3" }, { name: "A", value: "1" }] };
    assert.deepEqual(diffFields(deployment([web]), deployment([sidecar, webAfter])), [
      { path: "/spec/template/spec/containers/0", field: "spec.template.spec.containers[name=proxy]", to: sidecar },
      { path: "/spec/template/spec/containers/1/env/0/value", field: "spec.template.spec.containers[name=web].env[name=B].value", from: "2", to: "3" },
    ]);
  });

  void test("an item only the from side has is removed at its index there", () => {
    const a = { name: "a", image: "a:1" };
    const b = { name: "b", image: "b:1" };
    assert.deepEqual(diffFields(deployment([a, b]), deployment([a])), [{ path: "/spec/template/spec/containers/1", field: "spec.template.spec.containers[name=b]", from: b }]);
  });

  void test("volume mounts are matched by mount path", () => {
    const from = { volumeMounts: [{ name: "data", mountPath: "/a" }, { name: "data", mountPath: "/b", readOnly: true }] };
    const to = { volumeMounts: [{ name: "data", mountPath: "/b", readOnly: false }, { name: "data", mountPath: "/a" }] };
    assert.deepEqual(diffFields(from, to), [{ path: "/volumeMounts/0/readOnly", field: "volumeMounts[mountPath=/b].readOnly", from: true, to: false }]);
  });

  void test("lists without a merge key, or whose items do not all carry a distinct one, are compared by index", () => {
    assert.deepEqual(diffFields({ args: ["--a", "--b"] }, { args: ["--b"] }), [
      { path: "/args/0", field: "args[0]", from: "--a", to: "--b" },
      { path: "/args/1", field: "args[1]", from: "--b" },
    ]);
    const from = { ports: [{ containerPort: 80 }, { containerPort: 443 }] };
    const to = { ports: [{ containerPort: 443 }] };
    assert.deepEqual(diffFields(from, to), [
      { path: "/ports/0/containerPort", field: "ports[0].containerPort", from: 80, to: 443 },
      { path: "/ports/1", field: "ports[1]", from: { containerPort: 443 } },
    ]);
    const twice = { env: [{ name: "A", value: "1" }, { name: "A", value: "2" }] };
    assert.deepEqual(diffFields(twice, { env: [{ name: "A", value: "2" }] }), [
      { path: "/env/0/value", field: "env[0].value", from: "1", to: "2" },
      { path: "/env/1", field: "env[1]", from: { name: "A", value: "2" } },
    ]);
  });

  void test("a change of type is one change at that field", () => {
    assert.deepEqual(diffFields({ a: { b: 1 } }, { a: [1] }), [{ path: "/a", field: "a", from: { b: 1 }, to: [1] }]);
    assert.deepEqual(diffFields({ a: "1" }, { a: 1 }), [{ path: "/a", field: "a", from: "1", to: 1 }]);
    assert.deepEqual(diffFields({ a: null }, { a: 0 }), [{ path: "/a", field: "a", from: null, to: 0 }]);
  });

  void test("keys with ~ and / are escaped in the pointer", () => {
    assert.deepEqual(diffFields({ "a~b/c": 1 }, { "a~b/c": 2 }), [{ path: "/a~0b~1c", field: '["a~b/c"]', from: 1, to: 2 }]);
  });

  void test("jsonEqual ignores key order and tells arrays from objects", () => {
    assert.ok(jsonEqual({ a: [1, { b: 2 }], c: null }, { c: null, a: [1, { b: 2 }] }));
    assert.ok(!jsonEqual({ 0: 1 }, [1]));
    assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: undefined, c: 2 }));
  });
});
