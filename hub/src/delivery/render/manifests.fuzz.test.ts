// Fuzzes the manifests of a bundle and the variable substitution in them (what a fleet repository
// writer controls, and what a cluster's labels and variables feed into): random bytes, mutations
// of the fixtures' manifests, and objects of Kubernetes-like fields holding `${...}` references.
// Property: parsing, preparing and building a cluster's objects answer or throw RenderError with
// a message; every object built is valid JSON with apiVersion, kind and metadata.name.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { RenderError } from "../errors.js";
import { clusterVariables } from "../fleet/index.js";
import { fixtureFiles, fuzzSync, keyedValue, mutatedText, refusesTyped } from "../../test-support/fuzz.js";
import { bundleObjects, prepareOverlay } from "./bundle-objects.js";
import { parseManifestFile } from "./manifests.js";
import { renderPlainDirectory } from "./plain-directory.js";
import { findTemplates, parseTemplate, substituteObject } from "./substitute.js";

const manifests = ["plain-fleet", "events-fleet", "demo-fleet"].flatMap((name) =>
  [...fixtureFiles(name)].filter(([path]) => /\.ya?ml$/.test(path) && !path.endsWith("fleet.yaml") && !path.endsWith("kustomization.yaml")).map(([path, bytes]) => ({ path, text: new TextDecoder().decode(bytes) })),
);

const FIELDS = ["apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "spec", "data", "replicas", "image", "containers", "gitfleet.dev/substitute", "disabled"];
const references = fc.constantFrom("${cluster_name}", "${cluster_label_env}", "${x}", "${x:=d}", "$${x}", "${", "${}", "${a:=}", "${cluster_label_a_b}", "${ x }", "$$", "${x:=${y}}", "${replicas}", "pre-${x}-post");
const template = fc.array(fc.oneof(references, fc.string({ maxLength: 6 })), { maxLength: 4 }).map((parts) => parts.join(""));
const cluster = fc.record({
  id: fc.constant("c1"),
  name: fc.constantFrom("prod-eu-1", "", "${x}"),
  labels: fc.dictionary(fc.constantFrom("env", "a.b", "a_b", "a-b"), fc.string({ maxLength: 6 })),
  variables: fc.option(fc.dictionary(fc.constantFrom("x", "y", "replicas"), fc.constantFrom("1", "true", "", "web", "${x}", "null")), { nil: undefined }),
});
const options = fc.record({ namespace: fc.option(fc.constantFrom("web", "", "Bad_NS"), { nil: undefined }), substitute: fc.boolean(), allowEmpty: fc.boolean() });

/** Renders one folder holding `files`, then builds one cluster's objects from it. */
function build(files: Map<string, Uint8Array>, c: Parameters<typeof clusterVariables>[0], opts: { namespace: string | undefined; substitute: boolean; allowEmpty: boolean }, variables: Record<string, string>): void {
  const rendered = refusesTyped(() => renderPlainDirectory(files, "app"), [RenderError]);
  if (rendered === undefined) return;
  const overlay = prepareOverlay(rendered);
  const objects = refusesTyped(() => bundleObjects(overlay, { ...opts, lookup: clusterVariables(c, variables) }), [RenderError]);
  for (const object of objects ?? []) {
    const parsed = JSON.parse(new TextDecoder().decode(object.json)) as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
    assert.ok(typeof parsed.apiVersion === "string" && typeof parsed.kind === "string" && typeof parsed.metadata?.name === "string");
  }
}

void test("manifests: random bytes as a manifest file", () =>
  fuzzSync(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => void refusesTyped(() => parseManifestFile("app/x.yaml", bytes), [RenderError]))));

void test("manifests: mutations of the fixtures' manifests, rendered and built for a cluster", () =>
  fuzzSync(
    fc.property(
      fc.constantFrom(...manifests).chain((m) => fc.tuple(fc.constant(m.path), mutatedText(m.text))),
      cluster,
      options,
      ([path, text], c, opts) => build(new Map([[`app/${path.replaceAll("/", "-")}`, new TextEncoder().encode(text)]]), c, opts, { x: "v" }),
    ),
  ));

void test("manifests: objects of Kubernetes fields holding variable references, substituted for a cluster", () =>
  fuzzSync(
    fc.property(
      fc.array(
        fc.record({
          apiVersion: fc.oneof(fc.constantFrom("v1", "apps/v1"), template),
          kind: fc.oneof(fc.constantFrom("ConfigMap", "Deployment", "Namespace"), template),
          metadata: fc.record({ name: fc.oneof(fc.constantFrom("web", "a"), template), namespace: fc.option(fc.oneof(fc.constant("web"), template), { nil: undefined }), annotations: fc.option(fc.dictionary(fc.constantFrom("gitfleet.dev/substitute", "x"), fc.constantFrom("disabled", "enabled", "")), { nil: undefined }) }),
          data: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(template, keyedValue(FIELDS, 2))), { nil: undefined }),
          spec: fc.option(keyedValue(FIELDS, 3), { nil: undefined }),
        }),
        { maxLength: 4 },
      ),
      fc.boolean(),
      cluster,
      options,
      fc.dictionary(fc.constantFrom("x", "y", "replicas", "bad-name"), fc.string({ maxLength: 8 })),
      (objects, unquotedStyle, c, opts, variables) => {
        // Written both as YAML (references may be unquoted: typed substitution) and as JSON.
        let text = objects.map((o) => stringify(o)).join("---\n");
        if (unquotedStyle) text = text.replace(/"(\$\{[a-z_]+\})"/g, "$1");
        build(new Map([["app/objects.yaml", new TextEncoder().encode(text)], ["app/more.json", new TextEncoder().encode(JSON.stringify(objects[0] ?? {}))]]), c, opts, variables);
      },
    ),
  ));

void test("substitution: templates and lookups", () =>
  fuzzSync(
    fc.property(keyedValue(["a", "b", "${x}", "${x:=1}"], 3), template, cluster, (value, text, c) => {
      parseTemplate(text);
      const object = { value, text, list: [text, value] };
      const fields = findTemplates(object);
      const result = substituteObject(object, fields, clusterVariables(c, { x: "1" }));
      if (result.ok) JSON.stringify(result.object);
      else for (const problem of result.problems) assert.ok(problem.message.length > 0);
    }),
  ));
