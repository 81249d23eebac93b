import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { HealthState, SyncState, type BundleStatus } from "@gitfleet/proto";
import { HubError } from "../errors.js";
import type { ClusterRecord } from "../store/clusters.js";
import { bundleCells, clusterPage, decodeClusterCursor, encodeClusterCursor } from "./cluster-list.js";

const records = (n: number): ClusterRecord[] =>
  Array.from({ length: n }, (_, i) => ({ id: `c${i}`, name: `cluster-${String(i).padStart(3, "0")}` }) as ClusterRecord);

void describe("the cluster list's pages", () => {
  void test("every cluster on one page without a limit, and no next page", () => {
    const page = clusterPage(records(5), undefined, undefined);
    assert.equal(page.items.length, 5);
    assert.equal(page.total, 5);
    assert.equal(page.continue, null);
  });

  void test("pages follow each other without gaps or repeats, and each says the total", () => {
    const all = records(25);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = clusterPage(all, 10, cursor);
      assert.equal(page.total, 25);
      seen.push(...page.items.map((c) => c.name));
      cursor = page.continue ?? undefined;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, all.map((c) => c.name));
  });

  void test("a cluster removed between pages does not restart the list", () => {
    const all = records(6);
    const first = clusterPage(all, 3, undefined);
    const next = clusterPage(all.filter((c) => c.name !== "cluster-002"), 3, first.continue ?? undefined);
    assert.deepEqual(next.items.map((c) => c.name), ["cluster-003", "cluster-004", "cluster-005"]);
  });

  void test("a cursor not made by the list is refused, naming the parameter", () => {
    assert.equal(decodeClusterCursor(encodeClusterCursor("prod-eu")), "prod-eu");
    for (const bad of ["", "prod-eu", "c1:", "c1:!!"]) {
      assert.throws(() => decodeClusterCursor(bad), (err: unknown) => err instanceof HubError && err.code === "invalid-argument" && err.message.startsWith("continue:"));
    }
  });

  void test("bundle cells show sync, health and drifted objects, and unknown while the cluster is stale", () => {
    const bundle = { name: "web", sync: SyncState.SYNCED, health: HealthState.HEALTHY, revision: "abc", driftedCount: 2 } as BundleStatus;
    assert.deepEqual(bundleCells([bundle], false), [{ name: "web", sync: "synced", health: "healthy", revision: "abc", drifted: 2 }]);
    assert.deepEqual(bundleCells([bundle], true), [{ name: "web", sync: "unknown", health: "unknown", revision: "abc", drifted: 2 }]);
  });
});
