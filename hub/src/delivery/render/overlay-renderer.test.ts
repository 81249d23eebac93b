import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { RenderError } from "../errors.js";
import { createOverlayRenderer } from "./overlay-renderer.js";
import { kustomizationIn, type OverlayRenderer, type OverlayRenderInput } from "./overlay.js";
import { renderOverlay, reuse, sameInputs } from "./render-cache.js";
import type { Snapshot } from "../snapshot.js";

function snapshot(commit: string, entries: Record<string, string>): Snapshot {
  return { commit, files: new Map(Object.entries(entries).map(([p, c]) => [p, new TextEncoder().encode(c)])) };
}

const cm = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

/** A kustomize stand-in that records what it was asked to render. */
function fakeKustomize(): OverlayRenderer & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    render(input: OverlayRenderInput) {
      calls.push(input.dir);
      return Promise.resolve({ objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `from-${input.dir}` } }], inputs: [`${input.dir}/kustomization.yaml`, "base/a.yaml"] });
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<RenderError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RenderError, `expected a RenderError, got ${String(err)}`);
    return err;
  }
  assert.fail("rendered");
}

void describe("overlay renderers", () => {
  const repo = {
    "overlays/eu/kustomization.yaml": "resources: [../../base]\n",
    "overlays/us/Kustomization": "resources: [../../base]\n",
    "plain/a.yaml": cm("a"),
    "base/a.yaml": cm("base"),
  };

  void test("a folder with a kustomization goes to kustomize, any other is read as plain manifests", async () => {
    const kustomize = fakeKustomize();
    const renderer = createOverlayRenderer({ kustomize });
    const snap = snapshot("c1", repo);
    assert.deepEqual((await renderer.render({ snapshot: snap, dir: "overlays/eu" })).inputs, ["overlays/eu/kustomization.yaml", "base/a.yaml"]);
    await renderer.render({ snapshot: snap, dir: "./overlays/us/" });
    assert.deepEqual(kustomize.calls, ["overlays/eu", "overlays/us"], "the folder is normalised before it is handed on");
    const plain = await renderer.render({ snapshot: snap, dir: "plain" });
    assert.deepEqual(plain.objects, [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } }]);
    assert.deepEqual(plain.inputs, ["plain/"]);
  });

  void test("finds kustomization.yaml, kustomization.yml and Kustomization directly in the folder only", () => {
    const files = snapshot("c", { "a/kustomization.yml": "", "b/Kustomization": "", "c/d/kustomization.yaml": "", "kustomization.yaml": "" }).files;
    assert.equal(kustomizationIn(files, "a"), "a/kustomization.yml");
    assert.equal(kustomizationIn(files, "b"), "b/Kustomization");
    assert.equal(kustomizationIn(files, "c"), undefined);
    assert.equal(kustomizationIn(files, ""), "kustomization.yaml");
  });

  void test("without a kustomize renderer, a kustomization fails with a clear error", async () => {
    const err = await rejection(createOverlayRenderer().render({ snapshot: snapshot("c1", repo), dir: "overlays/eu" }));
    assert.equal(err.reason, "kustomize-not-configured");
    assert.match(err.message, /^overlays\/eu\/kustomization\.yaml: kustomize is not configured; set GITFLEET_KUSTOMIZE/);
  });

  void test("a renderer's unexpected failure becomes a RenderError of that overlay", async () => {
    const broken: OverlayRenderer = { render: () => Promise.reject(new TypeError("boom")) };
    const err = await rejection(createOverlayRenderer({ kustomize: broken }).render({ snapshot: snapshot("c1", repo), dir: "overlays/eu" }));
    assert.match(err.message, /^overlays\/eu: internal error while rendering: boom/);
    const outcome = await renderOverlay(broken, snapshot("c1", repo), "x");
    assert.ok(!outcome.outcome.ok);
    assert.equal(outcome.inputs, undefined, "a failure without known inputs is never reused");
  });

  void test("a plain folder that fails is kept until something under it changes", async () => {
    const before = snapshot("c1", { "plain/a.yaml": "kind: [" });
    const failed = await renderOverlay(createOverlayRenderer(), before, "plain");
    assert.ok(!failed.outcome.ok);
    assert.deepEqual(failed.inputs, ["plain/"]);
    assert.ok(reuse(failed, snapshot("c2", { "plain/a.yaml": "kind: [", "other/b.yaml": cm("b") })));
    assert.equal(reuse(failed, snapshot("c3", { "plain/a.yaml": cm("a") })), undefined);
  });
});

void describe("render inputs", () => {
  const files = (entries: Record<string, string>): ReadonlyMap<string, Uint8Array> => snapshot("x", entries).files;

  void test("a file input changes when its bytes change, appear or go; other files do not matter", () => {
    const before = files({ "base/a.yaml": "a", "other/b.yaml": "b" });
    assert.ok(sameInputs(["base/a.yaml", "base/missing.yaml"], before, files({ "base/a.yaml": "a", "other/b.yaml": "changed" })));
    assert.ok(!sameInputs(["base/a.yaml"], before, files({ "base/a.yaml": "A" })));
    assert.ok(!sameInputs(["base/missing.yaml"], before, files({ "base/a.yaml": "a", "base/missing.yaml": "now here" })));
    assert.ok(!sameInputs(["base/a.yaml"], before, files({})));
  });

  void test("a folder input changes when a file under it changes, is added or removed, at any depth", () => {
    const before = files({ "web/a.yaml": "a", "web/sub/b.yaml": "b", "webby/c.yaml": "c" });
    assert.ok(sameInputs(["web/"], before, files({ "web/a.yaml": "a", "web/sub/b.yaml": "b", "webby/c.yaml": "changed" })));
    assert.ok(!sameInputs(["web/"], before, files({ "web/a.yaml": "a", "web/sub/b.yaml": "B", "webby/c.yaml": "c" })));
    assert.ok(!sameInputs(["web/"], before, files({ "web/a.yaml": "a", "web/sub/b.yaml": "b", "web/README.md": "new" })));
    assert.ok(!sameInputs(["web/"], before, files({ "web/a.yaml": "a" })));
    assert.ok(!sameInputs(["/"], before, files({ "web/a.yaml": "a", "web/sub/b.yaml": "b", "webby/c.yaml": "changed" })), '"/" is the whole repository');
  });
});
