import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { DeliveryError } from "./errors.js";
import { createOverlayRenderer } from "./render/index.js";
import { createRevisionResolver } from "./revisions.js";
import type { ClusterRef, Snapshot } from "./snapshot.js";

const fleet = "apiVersion: gitfleet.dev/v1\nkind: Fleet\nbundles:\n  - name: web\n    path: web\n";
const snapshot = (commit: string, fleetYaml = fleet): Snapshot => ({
  commit,
  files: new Map(Object.entries({ "fleet.yaml": fleetYaml, "web/cm.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c${commit[0]}\n` }).map(([p, c]) => [p, new TextEncoder().encode(c)])),
});
const commits: Record<string, Snapshot> = { a: snapshot("a".repeat(40)), b: snapshot("b".repeat(40)), c: snapshot("c".repeat(40)), d: snapshot("d".repeat(40), "bundles: [") };

void describe("resolving other commits", () => {
  void test("resolves a commit for the current clusters, keeps the last few, and keeps no failure", async () => {
    const read: string[] = [];
    let clusters: ClusterRef[] = [{ id: "c1", name: "one", labels: {} }];
    const resolver = createRevisionResolver({
      source: {
        snapshotAt: (rev) => {
          read.push(rev);
          const found = commits[rev];
          return found ? Promise.resolve(found) : Promise.reject(new DeliveryError("not-found", "revision-not-found", `no commit ${rev}`));
        },
      },
      renderer: createOverlayRenderer(),
      clusters: () => clusters,
      memo: () => undefined,
      maxEntries: 2,
    });
    const first = await resolver.resolutionAt("a");
    assert.equal(first.commit, "a".repeat(40));
    assert.deepEqual([...first.clusters.keys()], ["c1"]);
    assert.equal(await resolver.resolutionAt("a"), first, "the same commit and clusters: the kept resolution");
    await resolver.resolutionAt("b");
    await resolver.resolutionAt("c");
    assert.notEqual(await resolver.resolutionAt("a"), first, "a fell out of a cache of two");
    clusters = [...clusters, { id: "c2", name: "two", labels: {} }];
    assert.deepEqual([...(await resolver.resolutionAt("a")).clusters.keys()], ["c1", "c2"], "other clusters: resolved again");
    assert.equal(read.length, 6, "the snapshot is asked for every time (the Git source answers from its folder)");

    await assert.rejects(resolver.resolutionAt("d"), (err: unknown) => err instanceof DeliveryError && err.code === "failed-precondition" && /^fleet\.yaml at commit dddddddddddd is invalid: /.test(err.message));
    await assert.rejects(resolver.resolutionAt("e"), (err: unknown) => err instanceof DeliveryError && err.code === "not-found");
  });
});
