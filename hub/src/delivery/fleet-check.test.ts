import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { checkFleet } from "./fleet-check.js";
import { createOverlayRenderer, type OverlayRenderer } from "./render/index.js";
import type { Snapshot } from "./snapshot.js";

function snapshot(entries: Record<string, string>): Snapshot {
  return { commit: "c1", files: new Map(Object.entries(entries).map(([p, c]) => [p, new TextEncoder().encode(c)])) };
}

const fleet = `apiVersion: gitfleet.dev/v1
kind: Fleet
bundles:
  - name: web
    path: apps/web
    targets:
      - name: eu
        clusterSelector: { matchLabels: { region: eu } }
        overlay: eu
        variables: { tag: "1.0" }
      - name: k
        clusterSelector: { matchLabels: { region: us } }
        overlay: k
`;

const kustomize: OverlayRenderer = {
  render: ({ dir }) => Promise.resolve({ objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `k-\${cluster_name}` } }], inputs: [`${dir}/`] }),
};

void describe("checking a fleet without clusters", () => {
  void test("renders every target once, substitutes the target's variables and lists what clusters must set", async () => {
    const check = await checkFleet(
      snapshot({
        "fleet.yaml": fleet,
        "apps/web/eu/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-${cluster_name}\ndata:\n  image: web:${tag}\n  owner: ${owner}\n  size: ${size:=m}\n  zone: ${cluster_label_zone}\n",
        "apps/web/k/kustomization.yaml": "resources: []\n",
      }),
      createOverlayRenderer({ kustomize }),
    );
    assert.ok(check.ok);
    assert.deepEqual(
      check.targets.map((t) => ({ target: t.target, renderer: t.renderer, objects: t.objects, needs: t.needs, error: t.error })),
      [
        { target: "eu", renderer: "plain", objects: 1, needs: ["cluster_label_zone", "owner"], error: undefined },
        { target: "k", renderer: "kustomize", objects: 1, needs: [], error: undefined },
      ],
    );
  });

  void test("malformed references and broken overlays fail their targets", async () => {
    const check = await checkFleet(snapshot({ "fleet.yaml": fleet, "apps/web/eu/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-${oops\n", "apps/web/k/kustomization.yaml": "resources: []\n" }), createOverlayRenderer());
    assert.ok(check.ok);
    assert.deepEqual(check.targets.map((t) => t.error?.reason), ["variable-invalid", "kustomize-not-configured"]);
  });

  void test("an invalid fleet.yaml is the only answer", async () => {
    const check = await checkFleet(snapshot({ "fleet.yaml": "kind: Fleet\n" }), createOverlayRenderer());
    assert.ok(!check.ok);
    assert.match(check.error.message, /apiVersion: is required/);
  });
});
