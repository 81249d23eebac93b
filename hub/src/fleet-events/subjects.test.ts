import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { eventSubject, filterSubjects, subjectToken } from "./subjects.js";

void describe("event subjects", () => {
  void it("encode every token so that none is empty, a wildcard or split by a dot", () => {
    assert.equal(subjectToken(""), "_");
    assert.equal(subjectToken("web-1"), "web-1");
    assert.equal(subjectToken("api.example.com"), "api~2eexample~2ecom");
    assert.equal(subjectToken("_"), "~5f");
    assert.equal(subjectToken("a*b>c d"), "a~2ab~3ec~20d");
    assert.equal(subjectToken("system:é"), "system~3a~c3~a9");
  });

  void it("name the cluster, type, bundle and object of an event", () => {
    const cluster = { id: "cabc", name: "x" };
    assert.equal(
      eventSubject({ id: "e", type: "drift-detected", time: "", cluster, bundle: "web", message: "", resource: { apiVersion: "v1", kind: "ConfigMap", namespace: "web", name: "a.b" } }),
      "gitfleet.events.cabc.drift-detected.web.ConfigMap.web.a~2eb",
    );
    assert.equal(eventSubject({ id: "e", type: "cluster-stale", time: "", cluster, message: "" }), "gitfleet.events.cabc.cluster-stale._._._._");
  });

  void it("turn a filter into one subject per type", () => {
    assert.deepEqual(filterSubjects({}), ["gitfleet.events.>"]);
    assert.deepEqual(filterSubjects({ clusterId: "cabc" }), ["gitfleet.events.cabc.*.*.*.*.*"]);
    assert.deepEqual(filterSubjects({ types: ["conflict", "drift-detected"], name: "a.b" }), [
      "gitfleet.events.*.conflict.*.*.*.a~2eb",
      "gitfleet.events.*.drift-detected.*.*.*.a~2eb",
    ]);
  });
});
