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
        substitute: true
      - name: off
        clusterSelector: { matchLabels: { region: ap } }
        overlay: off
`;

const kustomize: OverlayRenderer = {
  render: ({ dir }) => Promise.resolve({ objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `k-\${cluster_name}` } }], inputs: [`${dir}/`] }),
};

const files = {
  "fleet.yaml": fleet,
  "apps/web/eu/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-${cluster_name}\ndata:\n  image: web:${tag}\n  owner: ${owner}\n  size: ${size:=m}\n  zone: ${cluster_label_zone}\n  script: echo ${HOSTNAME##*-} ${1}\n",
  "apps/web/k/kustomization.yaml": "resources: []\n",
  "apps/web/off/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  cluster: ${cluster_name}\n  tag: v${tag}\n  home: ${HOME}\n  literal: $${x}\n",
  "apps/web/off/kept.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  annotations: { gitfleet.dev/substitute: disabled }\ndata:\n  cluster: ${cluster_name}\n",
};

void describe("checking a fleet without clusters", () => {
  void test("renders every target once, says whether it substitutes, substitutes the target's variables and lists what clusters must set", async () => {
    const check = await checkFleet(snapshot(files), createOverlayRenderer({ kustomize }));
    assert.ok(check.ok);
    assert.deepEqual(
      check.targets.map((t) => ({ target: t.target, renderer: t.renderer, substitution: t.substitution, objects: t.objects, needs: t.needs, error: t.error })),
      [
        { target: "eu", renderer: "plain", substitution: { on: true, by: "variables" }, objects: 1, needs: ["cluster_label_zone", "owner"], error: undefined },
        { target: "k", renderer: "kustomize", substitution: { on: true, by: "target" }, objects: 1, needs: [], error: undefined },
        { target: "off", renderer: "plain", substitution: { on: false, by: "default" }, objects: 2, needs: [], error: undefined },
      ],
    );
  });

  void test("a target without substitution whose objects look written for it gets a warning pointing at the opt-in", async () => {
    const check = await checkFleet(snapshot(files), createOverlayRenderer({ kustomize }));
    assert.ok(check.ok);
    const [eu, k, off] = check.targets;
    assert.deepEqual([eu?.warnings, k?.warnings], [[], []]);
    assert.equal(off?.warnings.length, 1);
    const warning = off?.warnings[0] ?? "";
    assert.match(warning, /^fleet\.yaml:15: substitution is off for this target, so these reach its clusters as written: /);
    assert.match(warning, /ConfigMap settings \(apps\/web\/off\/cm\.yaml:1 \(document 1\)\): data\.cluster: holds \$\{cluster_name\}; /);
    assert.match(warning, /data\.tag: holds \$\{tag\}; .*data\.literal: holds a \$\$\{\.\.\.\} escape\. /, "a variable another target defines, and an escape");
    assert.doesNotMatch(warning, /HOME|kept/, "unknown names and objects that opt out are not mentioned");
    assert.match(warning, /set substitute: true on target off \(or bundle web\) in fleet\.yaml/);
  });

  void test("broken overlays and empty ones fail their targets; allowEmpty lets an empty one pass", async () => {
    const broken = await checkFleet(snapshot({ ...files, "apps/web/eu/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "apps/web/off/cm.yaml": "# later\n", "apps/web/off/kept.yaml": "" }), createOverlayRenderer());
    assert.ok(broken.ok);
    assert.deepEqual(broken.targets.map((t) => t.error?.reason), ["object-invalid", "kustomize-not-configured", "no-objects"]);
    assert.match(broken.targets[2]?.error?.message ?? "", /allowEmpty: true/);
    const allowed = await checkFleet(snapshot({ ...files, "fleet.yaml": fleet.replace("    path: apps/web\n", "    path: apps/web\n    allowEmpty: true\n"), "apps/web/off/cm.yaml": "# later\n", "apps/web/off/kept.yaml": "" }), createOverlayRenderer({ kustomize }));
    assert.ok(allowed.ok);
    assert.deepEqual([allowed.targets[2]?.objects, allowed.targets[2]?.error], [0, undefined]);
  });

  void test("an invalid fleet.yaml is the only answer", async () => {
    const check = await checkFleet(snapshot({ "fleet.yaml": "kind: Fleet\n" }), createOverlayRenderer());
    assert.ok(!check.ok);
    assert.match(check.error.message, /apiVersion: is required/);
  });
});
