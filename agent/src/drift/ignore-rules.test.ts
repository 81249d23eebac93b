import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import type { IgnoreRule } from "../desired-state.js";
import type { ObjectRef } from "../kube-objects.js";
import { compileIgnoreRules, pointerSegments } from "./ignore-rules.js";

const rule = (path: string, scope: Partial<Omit<IgnoreRule, "path">> = {}): IgnoreRule => ({ path, group: "", kind: "", namespace: "", name: "", ...scope });
const deployment = (name = "web", namespace = "web"): ObjectRef => ({ group: "apps", version: "v1", kind: "Deployment", namespace, name });
const configMap = (name = "settings", namespace = "web"): ObjectRef => ({ group: "", version: "v1", kind: "ConfigMap", namespace, name });

describe("ignore rules", () => {
  it("ignore a field and everything under it, and nothing else", () => {
    const ignored = compileIgnoreRules([rule("/spec/replicas"), rule("/spec/template/metadata/annotations")])(deployment());
    assert.equal(ignored("/spec/replicas"), true);
    assert.equal(ignored("/spec/template/metadata/annotations"), true);
    assert.equal(ignored("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"), true);
    assert.equal(ignored("/spec"), false, "the parent of an ignored field is not ignored");
    assert.equal(ignored("/spec/replicasMax"), false, "a prefix of a key is not a prefix of the path");
    assert.equal(ignored("/spec/template/metadata/labels/app"), false);
    assert.equal(ignored("/metadata/replicas"), false);
  });

  it("unescape ~1 as / and ~0 as ~ in rules and pointers alike", () => {
    const ignored = compileIgnoreRules([rule("/metadata/annotations/example.com~1rev"), rule("/data/a~0b")])(configMap());
    assert.equal(ignored("/metadata/annotations/example.com~1rev"), true);
    assert.equal(ignored("/metadata/annotations/example.com/rev"), false, "an unescaped / is a separator, not part of the key");
    assert.equal(ignored("/metadata/annotations/example.com~1revision"), false);
    assert.equal(ignored("/data/a~0b"), true);
    assert.equal(ignored("/data/a~1b"), false);
    assert.deepEqual(pointerSegments("/a~01/b~10"), ["a~1", "b/0"], "~1 is unescaped before ~0");
  });

  it("match any key or list index with a * segment", () => {
    const ignored = compileIgnoreRules([rule("/spec/template/spec/containers/*/image"), rule("/metadata/annotations/*")])(deployment());
    assert.equal(ignored("/spec/template/spec/containers/0/image"), true);
    assert.equal(ignored("/spec/template/spec/containers/12/image"), true);
    assert.equal(ignored("/spec/template/spec/containers/0/imagePullPolicy"), false);
    assert.equal(ignored("/spec/template/spec/containers/0"), false, "the container itself is not ignored, only its image");
    assert.equal(ignored("/spec/template/spec/initContainers/0/image"), false);
    assert.equal(ignored("/metadata/annotations/deployment.kubernetes.io~1revision"), true);
    assert.equal(ignored("/metadata/annotations"), false, "* stands for one segment, never for none");
  });

  it("apply a rule only to the objects its scope names, an empty field matching any", () => {
    const matcher = compileIgnoreRules([
      rule("/spec/replicas", { group: "apps", kind: "Deployment", name: "web" }),
      rule("/data/cache", { kind: "ConfigMap", namespace: "web" }),
    ]);
    assert.equal(matcher(deployment("web"))("/spec/replicas"), true);
    assert.equal(matcher(deployment("api"))("/spec/replicas"), false, "another name");
    assert.equal(matcher(deployment("web", "other"))("/spec/replicas"), true, "no namespace in the scope: any namespace");
    assert.equal(matcher({ ...deployment("web"), group: "extensions" })("/spec/replicas"), false, "another group");
    assert.equal(matcher({ ...deployment("web"), kind: "StatefulSet" })("/spec/replicas"), false, "another kind");
    assert.equal(matcher(configMap("any"))("/data/cache"), true);
    assert.equal(matcher(configMap("any", "api"))("/data/cache"), false, "another namespace");
    assert.equal(matcher(configMap())("/spec/replicas"), false, "a rule scoped to Deployments does not reach ConfigMaps");
  });

  it("apply an unscoped rule to every object, core group included", () => {
    const matcher = compileIgnoreRules([rule("/metadata/labels/team")]);
    assert.equal(matcher(deployment())("/metadata/labels/team"), true);
    assert.equal(matcher(configMap())("/metadata/labels/team"), true);
    assert.equal(matcher({ group: "", version: "v1", kind: "Namespace", namespace: "", name: "web" })("/metadata/labels/team"), true);
  });

  it("ignore nothing without rules, for malformed rules, or for text that is not a pointer", () => {
    assert.equal(compileIgnoreRules([])(deployment())("/spec/replicas"), false);
    const matcher = compileIgnoreRules([rule(""), rule("spec/replicas"), rule("/spec/bad~2escape"), rule("/spec/paused")]);
    const ignored = matcher(deployment());
    assert.equal(ignored("/spec/replicas"), false);
    assert.equal(ignored(""), false, "the whole object is never ignored");
    assert.equal(ignored("/spec/bad~2escape"), false);
    assert.equal(ignored("spec/paused"), false);
    assert.equal(ignored("/spec/paused"), true);
  });
});
