import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { pino } from "pino";
import type { DesiredStateSnapshot } from "./desired-state.js";
import { createSecretStateStore, decodeState, encodeState } from "./state-store.js";
import { createFakeKube } from "./test-support/fake-kube.js";

const snapshot: DesiredStateSnapshot = {
  revision: "c0ffee",
  generation: 12345678901234567890n,
  kvRevision: 17,
  publishedAt: "2026-01-02T03:04:05.000Z",
  bundles: [
    {
      name: "web",
      digest: "a".repeat(64),
      revision: "c0ffee",
      stage: "prod",
      policy: {
        prune: true,
        namespace: "web",
        drift: "report",
        ignore: [
          { path: "/spec/replicas", group: "", kind: "", namespace: "", name: "" },
          { path: "/spec/template/spec/containers/*/image", group: "apps", kind: "Deployment", namespace: "web", name: "web" },
        ],
      },
      objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "web" }, data: { k: "v" } }],
    },
    { name: "broken", digest: "b".repeat(64), revision: "", stage: "", policy: { prune: false, namespace: "", drift: "correct", ignore: [] }, objects: [], error: "unusable" },
  ],
};

describe("stored desired state", () => {
  it("round-trips through gzipped JSON, generation included", () => {
    assert.deepEqual(decodeState(encodeState(snapshot)), snapshot);
  });

  it("reads the bare JSON pointers a state stored before scoped rules holds as rules for every object", () => {
    const older = gzipSync(
      JSON.stringify({
        version: 1,
        revision: "c0ffee",
        generation: "3",
        kvRevision: 2,
        publishedAt: "",
        bundles: [{ name: "web", digest: "a".repeat(64), revision: "c0ffee", stage: "", policy: { prune: true, namespace: "web", drift: "correct", ignore: ["/spec/replicas"] }, objects: [] }],
      }),
    );
    assert.deepEqual(decodeState(older).bundles[0]?.policy.ignore, [{ path: "/spec/replicas", group: "", kind: "", namespace: "", name: "" }]);
  });

  it("is kept in a Secret and read back after a restart", async () => {
    const kube = createFakeKube();
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gitfleet-system" } });
    const logger = pino({ level: "silent" });
    assert.equal(await createSecretStateStore({ kube, namespace: "gitfleet-system", logger }).save(snapshot), true);
    const restarted = createSecretStateStore({ kube, namespace: "gitfleet-system", logger });
    assert.deepEqual(await restarted.load(), snapshot);
  });

  it("skips a state above the size limit and drops the older one, so it is never enforced again", async () => {
    const kube = createFakeKube();
    await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gitfleet-system" } });
    const logger = pino({ level: "silent" });
    const store = createSecretStateStore({ kube, namespace: "gitfleet-system", logger, maxBytes: 2_000 });
    assert.equal(await store.save(snapshot), true);
    const big = { ...snapshot, revision: "big", bundles: [{ ...snapshot.bundles[0]!, objects: Array.from({ length: 200 }, (_, i) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}-${Math.random()}` } })) }] };
    assert.equal(await store.save(big), false);
    assert.equal(await store.load(), undefined);
  });
});
