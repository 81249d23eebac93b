import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { compareWithLive } from "./compare.js";
import { managedFieldsWithout, withIgnoredFromLive } from "./object-edits.js";
import { ownsPath } from "./managed-fields.js";
import type { KubeObject } from "../kube-objects.js";

// A Deployment as the API server answers it: gitfleet applied image and replicas; an HPA owns
// replicas now; someone edited the image under kubectl-edit; the server filled in defaults.
const gitfleetFields = {
  "f:metadata": { "f:labels": { "f:app": {} } },
  "f:spec": {
    "f:replicas": {},
    "f:template": { "f:spec": { "f:containers": { 'k:{"name":"web"}': { ".": {}, "f:image": {}, "f:name": {} } } } },
  },
};
const dryRun: KubeObject = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {
    name: "web",
    namespace: "web",
    labels: { app: "web" },
    resourceVersion: "12",
    managedFields: [{ manager: "gitfleet", operation: "Apply", fieldsV1: gitfleetFields, time: "2026-01-01T00:00:00Z" }],
  },
  spec: {
    replicas: 2,
    progressDeadlineSeconds: 600,
    template: { spec: { containers: [{ name: "sidecar", image: "mesh:1" }, { name: "web", image: "web:1.0", imagePullPolicy: "IfNotPresent" }] } },
  },
};
const live = (image: string, replicas: number, extra: Record<string, unknown>[] = []): KubeObject => ({
  ...structuredClone(dryRun),
  metadata: {
    ...structuredClone(dryRun.metadata),
    resourceVersion: "11",
    managedFields: [
      { manager: "gitfleet", operation: "Apply", fieldsV1: { "f:metadata": { "f:labels": { "f:app": {} } } }, time: "2026-01-01T00:00:00Z" },
      ...extra,
    ],
  },
  spec: {
    replicas,
    progressDeadlineSeconds: 600,
    template: { spec: { containers: [{ name: "sidecar", image: "mesh:1" }, { name: "web", image, imagePullPolicy: "IfNotPresent" }] } },
  },
});

describe("drift comparison", () => {
  it("finds nothing when the live object matches, defaults and other containers included", () => {
    assert.deepEqual(compareWithLive({ dryRun, live: live("web:1.0", 2), fieldManager: "gitfleet" }), []);
  });

  it("names the field by its live index, both values, and the manager owning it now", () => {
    const edited = live("web:2.0-hotfix", 2, [
      {
        manager: "kubectl-edit",
        operation: "Update",
        time: "2026-01-02T00:00:00Z",
        fieldsV1: { "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"web"}': { "f:image": {} } } } } } },
      },
    ]);
    const drifts = compareWithLive({ dryRun, live: edited, fieldManager: "gitfleet" });
    assert.deepEqual(
      drifts.map((d) => ({ path: d.path, desired: d.desired, live: d.live, manager: d.manager })),
      [{ path: "/spec/template/spec/containers/1/image", desired: "web:1.0", live: "web:2.0-hotfix", manager: "kubectl-edit" }],
    );
  });

  it("leaves ignored fields out, by pointer", () => {
    const scaled = live("web:1.0", 7, [{ manager: "hpa", operation: "Update", time: "2026-01-02T00:00:00Z", fieldsV1: { "f:spec": { "f:replicas": {} } } }]);
    assert.equal(compareWithLive({ dryRun, live: scaled, fieldManager: "gitfleet" })[0]?.manager, "hpa");
    assert.deepEqual(compareWithLive({ dryRun, live: scaled, fieldManager: "gitfleet", ignored: (p) => p === "/spec/replicas" }), []);
  });

  it("reports a removed field with no live value and the manager that changed the object last", () => {
    const removed = live("web:1.0", 2, [{ manager: "kubectl-edit", operation: "Update", time: "2026-01-03T00:00:00Z", fieldsV1: {} }]);
    delete removed.metadata.labels;
    const drifts = compareWithLive({ dryRun, live: removed, fieldManager: "gitfleet" });
    assert.deepEqual(drifts.map((d) => [d.path, d.live, d.manager]), [["/metadata/labels", undefined, "kubectl-edit"]]);
  });

  it("escapes keys into JSON pointers", () => {
    const dry: KubeObject = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", annotations: { "example.com/mode": "a" }, managedFields: [{ manager: "gitfleet", operation: "Apply", fieldsV1: { "f:metadata": { "f:annotations": { "f:example.com/mode": {} } } } }] },
    };
    const changed: KubeObject = { ...dry, metadata: { ...dry.metadata, annotations: { "example.com/mode": "b" }, managedFields: [] } };
    assert.deepEqual(compareWithLive({ dryRun: dry, live: changed, fieldManager: "gitfleet" }).map((d) => d.path), ["/metadata/annotations/example.com~1mode"]);
  });
});

describe("correction edits", () => {
  it("keeps ignored fields at their live values", () => {
    const desired: KubeObject = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" }, spec: { replicas: 2, paused: false } };
    const current: KubeObject = { ...desired, spec: { replicas: 9 } };
    const sent = withIgnoredFromLive(desired, current, (p) => p === "/spec/replicas" || p === "/spec/paused");
    assert.deepEqual(sent["spec"], { replicas: 9 });
  });

  it("drops other managers' claims on the fields taken back, and entries left with none", () => {
    const edited = live("web:2.0", 2, [
      {
        manager: "kubectl-edit",
        operation: "Update",
        time: "2026-01-02T00:00:00Z",
        fieldsV1: { "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"web"}': { "f:image": {} } } } } } },
      },
      { manager: "hpa", operation: "Update", time: "2026-01-02T00:00:00Z", fieldsV1: { "f:spec": { "f:replicas": {} } } },
    ]);
    const path = ["spec", "template", "spec", "containers", 1, "image"];
    assert.ok(ownsPath({ "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"web"}': { "f:image": {} } } } } } }, edited, path));
    const fields = managedFieldsWithout(edited, "gitfleet", [path]) as Array<{ manager: string }>;
    assert.deepEqual(fields.map((f) => f.manager), ["gitfleet", "hpa"]);
    assert.equal(managedFieldsWithout(edited, "gitfleet", [["spec", "paused"]]), undefined);
  });
});
